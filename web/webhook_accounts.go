package web

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"vneidgw/core"
)

// AccountEventSender delivers account events (activated, locked, unlocked,
// password_changed) from their durable outbox to the identity system's
// webhook, signed like the delivery reports, as {"events":[…]}. An event is
// acknowledged only when the receiver answered 2xx; otherwise it is retried
// with exponential back-off, forever.
type AccountEventSender struct {
	cfg     WebhookConfig
	outbox  core.AccountEventOutbox
	log     zerolog.Logger
	client  *fasthttp.Client
	sent    prometheus.Counter
	failed  prometheus.Counter
	pending prometheus.GaugeFunc
	poll    time.Duration
}

// NewAccountEventSender returns a sender to cfg.URL; with no URL, Run only
// waits (events stay in the outbox until a URL is configured).
func NewAccountEventSender(cfg WebhookConfig, outbox core.AccountEventOutbox, log zerolog.Logger, reg prometheus.Registerer) (*AccountEventSender, error) {
	if outbox == nil {
		return nil, core.Errorf(core.EINVALID, "account events: outbox is required")
	}
	if cfg.URL != "" && !validTargetURL(cfg.URL) {
		return nil, core.Errorf(core.EINVALID, "account events: url must be an absolute http or https URL")
	}
	if cfg.URL != "" && cfg.Secret == "" {
		return nil, core.Errorf(core.EINVALID, "account events: secret is required")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &AccountEventSender{
		cfg:    cfg,
		outbox: outbox,
		log:    log.With().Str("component", "account-webhook").Logger(),
		client: &fasthttp.Client{Name: "vneidgw-webhook", ReadTimeout: cfg.Timeout, WriteTimeout: cfg.Timeout, MaxResponseBodySize: 64 << 10},
		poll:   time.Second,
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vneidgw_webhook_account_events_sent_total", Help: "Account events accepted by the identity system's webhook.",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vneidgw_webhook_account_events_failed_total", Help: "Account-event deliveries that failed and will be retried.",
		}),
	}
	s.pending = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vneidgw_webhook_account_events_pending", Help: "Account events waiting in the durable outbox.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, _ := outbox.Len(ctx)
		return float64(n)
	})
	if reg != nil {
		if err := register(reg, s.sent, s.failed, s.pending); err != nil {
			return nil, core.Errorf(core.EINTERNAL, "account events: metrics: %w", err)
		}
	}
	return s, nil
}

// Run delivers events until ctx ends.
func (s *AccountEventSender) Run(ctx context.Context) error {
	defer s.client.CloseIdleConnections()
	if s.cfg.URL == "" {
		<-ctx.Done()
		return nil
	}
	for {
		evs, err := s.outbox.Pending(ctx, time.Now(), s.cfg.BatchMax)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			s.log.Error().Err(err).Msg("reading the account-event outbox")
		}
		if len(evs) == 0 || err != nil {
			if !sleep(ctx, s.poll) {
				return nil
			}
			continue
		}
		if s.post(evs) {
			for _, ev := range evs {
				if err := s.outbox.Ack(ctx, ev.ID); err != nil {
					s.log.Error().Err(err).Msg("acknowledging an account event")
				}
			}
			continue
		}
		for _, ev := range evs {
			if err := s.outbox.Retry(ctx, ev.ID, time.Now().Add(retryDelay(s.cfg.RetryMin, s.cfg.RetryMax, ev.Attempts))); err != nil {
				s.log.Error().Err(err).Msg("rescheduling an account event")
			}
		}
	}
}

func (s *AccountEventSender) post(evs []core.AccountEvent) bool {
	body, err := json.Marshal(struct {
		Events []core.AccountEvent `json:"events"`
	}{evs})
	if err != nil {
		s.log.Error().Err(err).Msg("encoding account events")
		return false
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(s.cfg.URL)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(s.cfg.Secret, ts, body))
	req.SetBodyRaw(body)
	err = s.client.DoTimeout(req, resp, s.cfg.Timeout)
	if err == nil && resp.StatusCode()/100 == 2 {
		s.sent.Add(float64(len(evs)))
		return true
	}
	s.failed.Add(float64(len(evs)))
	ev := s.log.Warn().Int("events", len(evs)).Str("host", hostOf(s.cfg.URL))
	if err != nil {
		ev = ev.Err(err)
	} else {
		ev = ev.Int("status", resp.StatusCode())
	}
	ev.Msg("account-event webhook failed; will retry")
	return false
}
