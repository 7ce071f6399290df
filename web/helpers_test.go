package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"vneidgw/core"
)

// backend is what a test environment needs of a store.
type backend interface {
	core.MessageStore
	core.KeyStore
	core.PortedStore
}

// env is a Server on an in-memory listener with a client and an API key.
type env struct {
	t       testing.TB
	srv     *Server
	msgs    *core.MessageService
	store   backend
	queued  func() int // messages written so far
	reg     *prometheus.Registry
	token   string
	client  *fasthttp.Client
	logBuf  *syncBuffer
	ln      *fasthttputil.InmemoryListener
	stopped chan error
}

// newEnv starts a Server over store (a fresh store when nil: the real
// Badger store on a temp dir) and returns the environment; everything stops
// at the end of the test.
func newEnv(t testing.TB, cfg Config, mutate func(*Deps)) *env {
	t.Helper()
	st, queued := openStore(t)
	return newEnvWith(t, cfg, st, queued, mutate)
}

func newEnvWith(t testing.TB, cfg Config, st backend, queued func() int, mutate func(*Deps)) *env {
	t.Helper()
	router, err := core.NewRouter(core.DefaultPrefixes(), core.OperatorViettel)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := core.NewMessageService(core.MessageServiceConfig{Store: st, Ported: st, Router: router})
	if err != nil {
		t.Fatal(err)
	}
	token, key, err := core.NewAPIKey("test client", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutAPIKey(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	logBuf := &syncBuffer{}
	reg := prometheus.NewRegistry()
	deps := Deps{Messages: msgs, Keys: st, Registerer: reg, Gatherer: reg, Log: zerolog.New(logBuf)}
	if mutate != nil {
		mutate(&deps)
	}
	srv, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ln := fasthttputil.NewInmemoryListener()
	e := &env{t: t, srv: srv, msgs: msgs, store: st, queued: queued, reg: reg, token: token, logBuf: logBuf, ln: ln,
		stopped: make(chan error, 1)}
	e.client = &fasthttp.Client{
		Dial:                func(string) (net.Conn, error) { return ln.Dial() },
		MaxResponseBodySize: 256 << 20,
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { e.stopped <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-e.stopped:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(40 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return e
}

// resp is a decoded answer.
type resp struct {
	status int
	header map[string]string
	body   []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer %d is not JSON: %v: %q", r.status, err, r.body)
	}
}

// errCode returns the error code of an error answer.
func (r resp) errCode(t testing.TB) string {
	t.Helper()
	var eb errorBody
	r.json(t, &eb)
	return eb.Error.Code
}

type reqOpt func(*fasthttp.Request)

func withHeader(k, v string) reqOpt { return func(r *fasthttp.Request) { r.Header.Set(k, v) } }
func noAuth() reqOpt                { return func(r *fasthttp.Request) { r.Header.Del("Authorization") } }

// do sends one request with the env's API key and returns the answer.
func (e *env) do(method, path, contentType string, body []byte, opts ...reqOpt) resp {
	e.t.Helper()
	req := fasthttp.AcquireRequest()
	res := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(res)
	req.SetRequestURI("http://vneidgw.test" + path)
	req.Header.SetMethod(method)
	req.Header.Set("Authorization", "Bearer "+e.token)
	if contentType != "" {
		req.Header.SetContentType(contentType)
	}
	if body != nil {
		req.SetBody(body)
	}
	for _, o := range opts {
		o(req)
	}
	if err := e.client.DoTimeout(req, res, 30*time.Second); err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	h := map[string]string{}
	for k, v := range res.Header.All() {
		h[string(k)] = string(v)
	}
	return resp{status: res.StatusCode(), header: h, body: append([]byte(nil), res.Body()...)}
}

// app returns a valid approval line for application n (phone varies with n).
func app(n int) map[string]any {
	return map[string]any{
		"application_id": fmt.Sprintf("APP-%07d", n),
		"id_number":      fmt.Sprintf("001090%06d", n%1_000_000),
		"full_name":      "Nguyễn Văn An",
		"date_of_birth":  "1990-05-17",
		"sex":            "male",
		"phone":          fmt.Sprintf("0912%06d", n%1_000_000),
		"level":          2,
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ndjson joins lines (already encoded) with "\n".
func ndjson(lines ...[]byte) []byte {
	return append(bytes.Join(lines, []byte("\n")), '\n')
}

// validBody returns n valid NDJSON lines for applications from..from+n-1.
func validBody(t testing.TB, from, n int) []byte {
	var b bytes.Buffer
	for i := from; i < from+n; i++ {
		b.Write(mustJSON(t, app(i)))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newInmemory(t testing.TB) *fasthttputil.InmemoryListener {
	ln := fasthttputil.NewInmemoryListener()
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

func dialer(ln *fasthttputil.InmemoryListener) fasthttp.DialFunc {
	return func(string) (net.Conn, error) { return ln.Dial() }
}
