package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"vneidgw/core"
)

// Defaults of Config.
const (
	DefaultMaxBodyBytes   = 64 << 20 // NDJSON bulk and ported-number uploads
	DefaultMaxNDJSONLines = 100_000
	DefaultReadTimeout    = 60 * time.Second
	DefaultWriteTimeout   = 60 * time.Second
	DefaultIdleTimeout    = 120 * time.Second

	// smallBodyBytes caps the body of every route that is not a bulk upload.
	smallBodyBytes = 64 << 10
	// shutdownGrace bounds how long Serve waits for in-flight requests.
	shutdownGrace = 30 * time.Second
	// requestTimeout bounds the service calls of one request; bulkTimeout
	// those of one NDJSON upload.
	requestTimeout = 30 * time.Second
	bulkTimeout    = 5 * time.Minute
)

// Config tunes the Server. Zero values take the defaults above.
type Config struct {
	Addr string // listen address, used by the caller (cmd); Serve takes a listener
	// MaxBodyBytes caps the bulk routes (NDJSON approvals, ported uploads);
	// every other route is capped at 64 KiB.
	MaxBodyBytes   int
	MaxNDJSONLines int  // lines per NDJSON approvals request
	Demo           bool // serve /demo/api/* (no authentication: demo only)
	// Pprof serves Go's profiles under /debug/pprof/ (no authentication:
	// enable only on a loopback or otherwise protected address).
	Pprof        bool
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
}

// Deps are the Server's collaborators.
type Deps struct {
	Messages *core.MessageService
	// Keys authenticates API clients. The Server keeps authenticated keys
	// for up to core.DefaultKeyCacheTTL; pass a *core.KeyCache and change
	// keys through it to make a disabled key refused at once.
	Keys       core.KeyStore
	Ready      func() error        // nil: always ready
	Gatherer   prometheus.Gatherer // served at /metrics; nil: Registerer if it gathers
	Registerer prometheus.Registerer
	Log        zerolog.Logger
	Inbox      func(phone string) any // demo only: the simulated handset's SMS inbox
	// OTP and Accounts serve /api/v1/otp, /api/v1/otp/verify and
	// /api/v1/accounts/{id_number}; those routes exist only when set.
	OTP      OTPService
	Accounts AccountService
}

// OTPService is what the OTP routes need of core.OTPService.
type OTPService interface {
	Issue(ctx context.Context, phone string, purpose core.OTPPurpose, clientAddr string) error
	Verify(ctx context.Context, phone string, purpose core.OTPPurpose, code, clientAddr string) error
}

// AccountService is what the account route needs of core.ActivationService.
type AccountService interface {
	AccountState(ctx context.Context, idNumber string) (core.AccountState, error)
}

// messageService is what the handlers need of core.MessageService.
type messageService interface {
	SubmitApprovals(ctx context.Context, clientID string, apps []*core.Application) ([]core.ApprovalResult, error)
	SubmitNotice(ctx context.Context, clientID string, n core.Notice) (core.AcceptResult, error)
	Message(ctx context.Context, id string) (*core.Message, error)
	MessagesByPhone(ctx context.Context, phone, cursor string, limit int) ([]*core.Message, string, error)
	SetPorted(ctx context.Context, entries map[string]string) (int, error)
}

// Server answers the HTTP routes of vneidgw. Create it with New; it is safe
// for concurrent use.
type Server struct {
	cfg          Config
	msgs         messageService
	keys         *core.KeyCache // Deps.Keys behind a short-lived cache of authenticated keys
	ready        func() error
	inbox        func(phone string) any
	otp          OTPService
	accounts     AccountService
	log          zerolog.Logger
	metrics      *httpMetrics
	promH        fasthttp.RequestHandler
	routes       []*route
	exact        map[string]*route
	idRoute      *route
	accountRoute *route
	pprofRoute   *route
	handler      fasthttp.RequestHandler
	bulkSem      chan struct{} // bounds concurrent bulk uploads (each may buffer MaxBodyBytes)
	maxBody      int           // largest body any route takes
	baseCtx      context.Context
	stopBase     context.CancelFunc
}

// maxConcurrentBulk is how many NDJSON/ported uploads are processed at once;
// more wait (up to bulkWait) and then get 429.
const (
	maxConcurrentBulk = 4
	bulkWait          = 30 * time.Second
)

// New checks cfg and deps and returns a Server with its routes and metrics
// registered on deps.Registerer.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Messages == nil {
		return nil, core.Errorf(core.EINVALID, "web: Deps.Messages is required")
	}
	return newServer(cfg, deps, deps.Messages)
}

func newServer(cfg Config, deps Deps, msgs messageService) (*Server, error) {
	if deps.Keys == nil {
		return nil, core.Errorf(core.EINVALID, "web: Deps.Keys is required")
	}
	if cfg.MaxBodyBytes < 0 || cfg.MaxNDJSONLines < 0 {
		return nil, core.Errorf(core.EINVALID, "web: MaxBodyBytes and MaxNDJSONLines must not be negative")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxNDJSONLines == 0 {
		cfg.MaxNDJSONLines = DefaultMaxNDJSONLines
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	m, err := newHTTPMetrics(deps.Registerer)
	if err != nil {
		return nil, core.Errorf(core.EINTERNAL, "web: metrics: %w", err)
	}
	gatherer := deps.Gatherer
	if gatherer == nil {
		if g, ok := deps.Registerer.(prometheus.Gatherer); ok {
			gatherer = g
		} else {
			gatherer = prometheus.NewRegistry()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:      cfg,
		msgs:     msgs,
		keys:     keyCache(deps.Keys),
		ready:    deps.Ready,
		inbox:    deps.Inbox,
		otp:      deps.OTP,
		accounts: deps.Accounts,
		log:      deps.Log.With().Str("component", "web").Logger(),
		metrics:  m,
		promH:    fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})),
		bulkSem:  make(chan struct{}, maxConcurrentBulk),
		maxBody:  max(cfg.MaxBodyBytes, smallBodyBytes),
		baseCtx:  ctx,
		stopBase: cancel,
	}
	s.buildRoutes()
	s.handler = s.serveHTTP
	return s, nil
}

// keyCache returns keys behind a core.KeyCache (keys itself if it is one,
// so that the caller can disable keys through it with immediate effect).
// Keys changed in the store behind the cache take effect within
// core.DefaultKeyCacheTTL.
func keyCache(keys core.KeyStore) *core.KeyCache {
	if c, ok := keys.(*core.KeyCache); ok {
		return c
	}
	return core.NewKeyCache(keys, core.DefaultKeyCacheTTL, core.DefaultKeyCacheSize, nil)
}

// Handler returns the request handler with every route and middleware
// (request log, metrics, security headers, body limits).
//
// A fasthttp.Server serving it should set StreamRequestBody so that bodies
// over a route's limit are refused before they are read; Serve does.
func (s *Server) Handler() fasthttp.RequestHandler { return s.handler }

// Serve answers requests on ln until ctx ends, then shuts down gracefully:
// it stops accepting, lets in-flight requests finish (up to 30 s), ends
// the contexts of any still running and returns nil. Any other end of
// serving is returned as an error. Call Serve once per Server.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &fasthttp.Server{
		Handler:               s.handler,
		Name:                  "vneidgw",
		NoDefaultServerHeader: true,
		ReadTimeout:           s.cfg.ReadTimeout,
		WriteTimeout:          s.cfg.WriteTimeout,
		IdleTimeout:           s.cfg.IdleTimeout,
		MaxRequestBodySize:    s.maxBody,
		StreamRequestBody:     true,
		CloseOnShutdown:       true,
		Logger:                fasthttpLogger{s.log},
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		s.stopBase()
		if err != nil {
			return core.Errorf(core.EUNAVAILABLE, "web: serve: %w", err)
		}
		return nil
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := srv.ShutdownWithContext(sctx)
	s.stopBase() // requests still running past the grace period see their context end
	// If ctx ended before srv.Serve registered ln, Shutdown did not see it:
	// closing it ends Serve's accept loop either way.
	_ = ln.Close()
	<-errc
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return core.Errorf(core.EINTERNAL, "web: shutdown: %w", err)
	}
	return nil
}

// fasthttpLogger routes fasthttp's own messages (malformed requests and the
// like) to zerolog at debug level.
type fasthttpLogger struct{ log zerolog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) { l.log.Debug().Msgf(format, args...) }

// request is the per-request state the middleware and handlers share.
type request struct {
	ctx      *fasthttp.RequestCtx
	route    string       // route pattern, for logs and metrics
	param    string       // the {id} of /api/v1/messages/{id}
	key      *core.APIKey // set on authenticated routes
	err      error        // the cause of a 5xx, logged with the request event
	bodyRead bool
}

// serveHTTP is the outermost handler: routing, auth, then log and metrics.
func (s *Server) serveHTTP(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	r := &request{ctx: ctx}
	s.dispatch(r)
	s.finishBody(r)
	setSecurityHeaders(ctx)

	status := ctx.Response.StatusCode()
	elapsed := time.Since(start)
	s.metrics.requests.WithLabelValues(r.route, strconv.Itoa(status)).Inc()
	s.metrics.duration.WithLabelValues(r.route).Observe(elapsed.Seconds())

	lvl := zerolog.InfoLevel
	switch {
	case status >= 500:
		lvl = zerolog.ErrorLevel
	case r.route == "/healthz" || r.route == "/readyz" || r.route == "/metrics":
		lvl = zerolog.DebugLevel
	}
	ev := s.log.WithLevel(lvl)
	if ev == nil {
		return
	}
	ev = ev.Bytes("method", ctx.Method()).Str("route", r.route).Int("status", status).
		Dur("duration", elapsed).Str("ip", ctx.RemoteIP().String())
	if r.key != nil {
		ev = ev.Str("client", r.key.ID)
	}
	if r.err != nil {
		ev = ev.Err(r.err)
	}
	ev.Msg("http request")
}

// finishBody makes sure an unread request body does not poison the
// keep-alive connection: a small rest is drained, a large one closes the
// connection.
func (s *Server) finishBody(r *request) {
	if r.bodyRead {
		return
	}
	stream := r.ctx.RequestBodyStream()
	if stream == nil {
		return
	}
	cl := r.ctx.Request.Header.ContentLength()
	if cl == 0 {
		return
	}
	if cl < 0 || cl > smallBodyBytes {
		r.ctx.SetConnectionClose()
		return
	}
	var buf [4096]byte
	for {
		_, err := stream.Read(buf[:])
		if err != nil {
			if !errors.Is(err, io.EOF) {
				r.ctx.SetConnectionClose()
			}
			return
		}
	}
}

func setSecurityHeaders(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	// Canonical names: SetCanonical skips the normalisation Set does.
	h.SetCanonical([]byte("X-Content-Type-Options"), []byte("nosniff"))
	h.SetCanonical([]byte("X-Frame-Options"), []byte("DENY"))
	h.SetCanonical([]byte("Referrer-Policy"), []byte("no-referrer"))
	h.SetCanonical([]byte("Cross-Origin-Resource-Policy"), []byte("same-origin"))
	h.SetCanonical([]byte("Content-Security-Policy"), []byte("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"))
	if len(h.Peek("Cache-Control")) == 0 {
		h.SetCanonical([]byte("Cache-Control"), []byte("no-store"))
	}
}

// writeJSON answers status with v as JSON.
func (s *Server) writeJSON(r *request, status int, v any) {
	if a, ok := v.(acceptAnswer); ok { // the answer of every accepted message: no reflection
		r.ctx.SetStatusCode(status)
		r.ctx.SetContentType("application/json")
		// Written into the response's own (pooled) body buffer.
		resp := &r.ctx.Response
		resp.SwapBody(a.appendJSON(resp.SwapBody(nil)[:0]))
		return
	}
	body, err := json.Marshal(v)
	if err != nil {
		r.err = err
		status = fasthttp.StatusInternalServerError
		body = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	r.ctx.SetStatusCode(status)
	r.ctx.SetContentType("application/json")
	r.ctx.SetBody(body)
}

// requestContext returns a context for the service calls of one request,
// ended by timeout or by the server's final stop.
func (s *Server) requestContext(timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.baseCtx, timeout)
}
