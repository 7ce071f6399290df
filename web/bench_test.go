package web

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"vneidgw/core"
	"vneidgw/core/store"
)

const benchLines = 10_000

// benchBody returns benchLines valid approval lines with ids from
// from*benchLines, so every iteration submits new applications.
func benchBody(from int) []byte {
	var b bytes.Buffer
	b.Grow(benchLines * 200)
	for i := from * benchLines; i < (from+1)*benchLines; i++ {
		fmt.Fprintf(&b, `{"application_id":"B-%08d","id_number":"001090%06d","full_name":"Nguyễn Văn An","date_of_birth":"1990-05-17","sex":"male","phone":"0912%06d","level":2}`+"\n",
			i, i%1_000_000, i%1_000_000)
	}
	return b.Bytes()
}

// serveDirect runs one request through h without a network.
func serveDirect(h fasthttp.RequestHandler, req *fasthttp.Request) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Init(req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, nil)
	h(&ctx)
	return &ctx
}

// BenchmarkNDJSONApprovals: a 10,000-line upload through Handler() with
// the store of openStore (the real Badger store on a temp dir).
func BenchmarkNDJSONApprovals(b *testing.B) {
	e := newEnv(b, Config{}, nil)
	h := e.srv.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cpu.pause()
		body := benchBody(i)
		var req fasthttp.Request
		req.Header.SetMethod("POST")
		req.SetRequestURI("/api/v1/approvals")
		req.Header.SetContentType(ndjsonType)
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.SetBody(body)
		b.SetBytes(int64(len(body)))
		b.StartTimer()
		cpu.resume()
		ctx := serveDirect(h, &req)
		if ctx.Response.StatusCode() != 202 || !bytes.Contains(ctx.Response.Body(), []byte(`"accepted":10000,`)) {
			b.Fatalf("%d %.300s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	b.ReportMetric(float64(benchLines*b.N)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(benchLines*b.N)/cpu.seconds(), "lines/cpu-s")
}

// BenchmarkNDJSONApprovalsAccounts: BenchmarkNDJSONApprovals with the
// wiring of serve: every approval also becomes an account (and an audit
// event) through the ActivationService, as in production.
func BenchmarkNDJSONApprovalsAccounts(b *testing.B) {
	h, token := accountsHandler(b)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cpu.pause()
		body := benchBody(i)
		var req fasthttp.Request
		req.Header.SetMethod("POST")
		req.SetRequestURI("/api/v1/approvals")
		req.Header.SetContentType(ndjsonType)
		req.Header.Set("Authorization", "Bearer "+token)
		req.SetBody(body)
		b.SetBytes(int64(len(body)))
		b.StartTimer()
		cpu.resume()
		ctx := serveDirect(h, &req)
		if ctx.Response.StatusCode() != 202 || !bytes.Contains(ctx.Response.Body(), []byte(`"accepted":10000,`)) {
			b.Fatalf("%d %.300s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	b.ReportMetric(float64(benchLines*b.N)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(benchLines*b.N)/cpu.seconds(), "lines/cpu-s")
}

// accountsHandler builds a Server wired like serve's: the real Badger store
// with fsync, the account store and audit log on its DB, the activation
// service creating accounts from approvals. It returns the handler and an
// API token.
func accountsHandler(b *testing.B) (fasthttp.RequestHandler, string) {
	b.Helper()
	st, err := store.Open(store.DefaultConfig(b.TempDir()), zerolog.Nop(), prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	router, err := core.NewRouter(core.DefaultPrefixes(), core.OperatorViettel)
	if err != nil {
		b.Fatal(err)
	}
	sms, err := core.NewMessageService(core.MessageServiceConfig{Store: st, Router: router})
	if err != nil {
		b.Fatal(err)
	}
	audit := store.NewAuditLog(st.DB())
	accounts := st.AccountStore()
	ocfg := core.DefaultOTPConfig()
	ocfg.Key = []byte("0123456789abcdef0123456789abcdef")
	otp, err := core.NewOTPService(ocfg, store.NewOTPStore(st.DB()), sms, audit)
	if err != nil {
		b.Fatal(err)
	}
	act, err := core.NewActivationService(core.ActivationConfig{Accounts: accounts, Throttles: accounts, Audit: audit,
		OTP: otp, SMS: sms, Hasher: core.NewHasher(core.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}, []byte("pepper"), 2),
		Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	msgs, err := core.NewMessageService(core.MessageServiceConfig{Store: st, Router: router, Accounts: act})
	if err != nil {
		b.Fatal(err)
	}
	token, key, err := core.NewAPIKey("bench", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	if err := st.PutAPIKey(context.Background(), key); err != nil {
		b.Fatal(err)
	}
	srv, err := New(Config{}, Deps{Messages: msgs, Keys: st, Registerer: prometheus.NewRegistry(), Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	return srv.Handler(), token
}

// BenchmarkNDJSONParseValidate: the bulk hot path without storage: line
// splitting, JSON decoding and core validation of 10,000 lines.
func BenchmarkNDJSONParseValidate(b *testing.B) {
	body := benchBody(0)
	submit := validatingSubmit()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for i := 0; i < b.N; i++ {
		sum, err := processNDJSON(context.Background(), body, DefaultMaxNDJSONLines, "c", submitStages(submit))
		if err != nil || sum.Rejected != 0 {
			b.Fatal(err, sum.Errors)
		}
	}
	b.ReportMetric(float64(benchLines*b.N)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(benchLines*b.N)/cpu.seconds(), "lines/cpu-s")
}

// BenchmarkNoticeSingle: one POST /api/v1/messages per message through
// Handler(), from parallel callers (their writes are grouped by the store).
func BenchmarkNoticeSingle(b *testing.B) {
	e := newEnv(b, Config{}, nil)
	h := e.srv.Handler()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	cpu := startCPU()
	b.RunParallel(func(pb *testing.PB) {
		var req fasthttp.Request
		req.Header.SetMethod("POST")
		req.SetRequestURI("/api/v1/messages")
		req.Header.SetContentType("application/json")
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.SetBodyString(`{"to":"0912345678","text":"Ma xac thuc cua ban da duoc gui lai.","reference":"bench"}`)
		for pb.Next() {
			req.Header.Set("Idempotency-Key", "bench-"+strconv.FormatInt(n.Add(1), 10))
			ctx := serveDirect(h, &req)
			if ctx.Response.StatusCode() != 202 {
				b.Errorf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(cpu.seconds()*1e6/float64(b.N), "cpu-us/req")
}

// cpuMeter measures the process's CPU time (user+system, all threads), so
// a benchmark can report a rate per CPU-second that holds on a busy
// machine where wall time does not.
type cpuMeter struct {
	total   time.Duration
	started time.Duration
	running bool
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() *cpuMeter { return &cpuMeter{started: processCPU(), running: true} }

func (c *cpuMeter) pause() {
	if c.running {
		c.total += processCPU() - c.started
		c.running = false
	}
}

func (c *cpuMeter) resume() {
	if !c.running {
		c.started = processCPU()
		c.running = true
	}
}

func (c *cpuMeter) seconds() float64 {
	c.pause()
	return max(c.total.Seconds(), 1e-9)
}

// discardStore is a core.MessageStore that only answers Accept, accepting
// everything: what is left of a bulk upload without storage.
type discardStore struct{ core.MessageStore }

func (discardStore) Accept(ctx context.Context, reqs []core.AcceptRequest) ([]core.AcceptResult, error) {
	out := make([]core.AcceptResult, len(reqs))
	for i, r := range reqs {
		out[i].MessageID = r.Message.ID
	}
	return out, nil
}

// benchNamesBody returns benchLines valid approval lines whose names vary
// (Vietnamese, with diacritics).
func benchNamesBody() []byte {
	family := []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ"}
	middle := []string{"Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh"}
	given := []string{"An", "Bình", "Cường", "Dũng", "Giang", "Hương", "Linh", "Nguyệt", "Phương", "Quỳnh", "Thảo"}
	var b bytes.Buffer
	b.Grow(benchLines * 200)
	for i := 0; i < benchLines; i++ {
		name := family[i%len(family)] + " " + middle[i%len(middle)] + " " + given[i%len(given)]
		fmt.Fprintf(&b, `{"application_id":"B-%08d","id_number":"001090%06d","full_name":%q,"date_of_birth":"1990-05-17","sex":"male","phone":"0912%06d","level":2}`+"\n",
			i, i, name, i)
	}
	return b.Bytes()
}

// BenchmarkProcessNDJSON: the bulk hot path the gateway owns above
// storage: line splitting, JSON decoding and the real PrepareApprovals
// (validation, approval text, part count, message building) of 10,000
// lines, with a store that accepts without storing.
func BenchmarkProcessNDJSON(b *testing.B) {
	router, err := core.NewRouter(core.DefaultPrefixes(), core.OperatorViettel)
	if err != nil {
		b.Fatal(err)
	}
	msgs, err := core.NewMessageService(core.MessageServiceConfig{Store: discardStore{}, Router: router})
	if err != nil {
		b.Fatal(err)
	}
	srv := &Server{msgs: msgs}
	body := benchNamesBody()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		sum, err := processNDJSON(context.Background(), body, DefaultMaxNDJSONLines, "c", srv.prepareApprovals())
		if err != nil || sum.Accepted != benchLines {
			b.Fatal(err, sum.Errors)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchLines), "ns/line")
}

// BenchmarkDecodeApplication: one approval line through the fast decoder.
func BenchmarkDecodeApplication(b *testing.B) {
	line := []byte(`{"application_id":"B-00000042","id_number":"001090000042","full_name":"Nguyễn Thị Minh Khai","date_of_birth":"1990-05-17","sex":"female","phone":"0912000042","level":2}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeApplication(line); err != nil {
			b.Fatal(err)
		}
	}
}
