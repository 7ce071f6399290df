package gateway

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"vneidgw/core"
)

// Gateway is the SMPP engine: every configured bind, its senders and the
// routing of queue lanes onto binds.
type Gateway struct {
	cfg      Config
	q        core.Queue
	log      zerolog.Logger
	m        *metrics
	ops      []*operator
	opByName map[string]*operator
	binds    []*bind
	ussd     atomic.Pointer[ussdBox]
	running  atomic.Bool
	nextWait time.Duration // Next's timeout, so lanes are recomputed
	seqStart uint32        // sequence number before a session's first (tests start near the wrap)

	laneMu    sync.Mutex
	laneAt    time.Time
	laneExtra []string // unconfigured operators with a backlog
}

type ussdBox struct{ h USSDHandler }

// New validates cfg and builds a gateway reading from q. Metrics are
// registered on reg (nil: not registered).
func New(cfg Config, q core.Queue, log zerolog.Logger, reg prometheus.Registerer) (*Gateway, error) {
	if q == nil {
		return nil, core.Errorf(core.EINVALID, "gateway: nil queue")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		cfg:      cfg,
		q:        q,
		log:      log.With().Str("component", "gateway").Logger(),
		m:        m,
		opByName: map[string]*operator{},
		nextWait: 250 * time.Millisecond,
	}
	for _, oc := range cfg.Operators {
		op := &operator{name: oc.Name}
		for _, bc := range oc.Binds {
			b := newBind(g, op, bc)
			op.binds = append(op.binds, b)
			g.binds = append(g.binds, b)
		}
		g.ops = append(g.ops, op)
		g.opByName[op.name] = op
	}
	return g, nil
}

// SetUSSDHandler sets (or, with nil, removes) the handler of USSD requests.
// Without one, USSD deliver_sm are acknowledged and dropped.
func (g *Gateway) SetUSSDHandler(h USSDHandler) {
	if h == nil {
		g.ussd.Store(nil)
		return
	}
	g.ussd.Store(&ussdBox{h})
}

func (g *Gateway) ussdHandler() USSDHandler {
	if b := g.ussd.Load(); b != nil {
		return b.h
	}
	return nil
}

// Run starts every bind and blocks until ctx ends; then it stops sending,
// waits (up to min(ResponseTimeout, 5s)) for outstanding responses,
// unbinds, records every outcome and returns once all its goroutines
// have stopped. It returns nil after a shutdown by ctx.
func (g *Gateway) Run(ctx context.Context) error {
	if !g.running.CompareAndSwap(false, true) {
		return errors.New("gateway: Run called twice")
	}
	var wg sync.WaitGroup
	for _, b := range g.binds {
		wg.Go(func() { b.run(ctx) })
	}
	wg.Wait()
	return nil
}

// BindsUp returns the number of binds bound now.
func (g *Gateway) BindsUp() int {
	n := 0
	for _, op := range g.ops {
		n += int(op.up.Load())
	}
	return n
}

// Binds describes every bind.
func (g *Gateway) Binds() []BindStatus {
	out := make([]BindStatus, 0, len(g.binds))
	for _, b := range g.binds {
		out = append(out, b.status())
	}
	return out
}

// lanesFor returns the operators whose lanes b's sender serves: its own,
// and, on the default route, every configured operator with no
// transmitting bind up plus every operator name with no configuration
// that has a backlog.
func (g *Gateway) lanesFor(b *bind) []string {
	lanes := []string{b.op.name}
	if b.op.name != g.cfg.DefaultRoute {
		return lanes
	}
	for _, op := range g.ops {
		if op != b.op && !op.canSend() {
			lanes = append(lanes, op.name)
		}
	}
	return append(lanes, g.unconfigured()...)
}

// canSend reports whether one of the operator's transmitting binds is up.
func (op *operator) canSend() bool {
	for _, b := range op.binds {
		if b.cfg.canTransmit() && b.current() != nil {
			return true
		}
	}
	return false
}

// unconfigured lists operator names in the queue's backlog that have no
// configuration (refreshed at most once a second).
func (g *Gateway) unconfigured() []string {
	g.laneMu.Lock()
	defer g.laneMu.Unlock()
	if now := time.Now(); now.Sub(g.laneAt) >= time.Second {
		g.laneAt = now
		g.laneExtra = g.laneExtra[:0]
		for name := range g.q.Backlog() {
			if _, ok := g.opByName[name]; !ok {
				g.laneExtra = append(g.laneExtra, name)
			}
		}
	}
	return append([]string(nil), g.laneExtra...)
}
