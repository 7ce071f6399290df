package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/schollz/progressbar/v3"
	"github.com/valyala/fasthttp"

	"vneidgw/gateway/smscsim"
)

type options struct {
	binary                          string
	approvals, notices, concurrency int
	chunk, bulkConns, binds, window int
	keep                            bool
	profile                         string
	trace                           string
	backlog                         int
}

// measure starts the phase's cost figures (gateway and own CPU, bytes
// written, group commits); the returned func fills them in at the end.
func (r *phaseResult) measure(hc *fasthttp.HostClient, pid int) func() {
	commits := scrapeCommits(hc)
	user0, sys0, _ := cpuTimes(pid)
	self0, _ := cpuTime(os.Getpid())
	w0 := writeBytes(pid)
	m0 := readMachineTimes()
	return func() {
		r.machine = readMachineTimes().sub(m0)
		r.written = writeBytes(pid) - w0
		user1, sys1, _ := cpuTimes(pid)
		self1, _ := cpuTime(os.Getpid())
		r.sysCPU = sys1 - sys0
		r.cpu, r.selfCPU = user1-user0+r.sysCPU, self1-self0
		r.commitStats(commits, scrapeCommits(hc))
	}
}

const acceptToSubmit = "vneidgw_gateway_accept_to_submit_seconds"

// phaseResult is what one phase measured.
type phaseResult struct {
	name                   string
	messages, parts        int
	acceptDur, partsDur    time.Duration
	dlrDur                 time.Duration
	partsInAccept          uint64 // parts at the SMSC when the last accept was answered
	written                int64  // gateway bytes written to storage during the phase
	httpP50, httpP99       float64
	a2sP50, a2sP99         float64
	probeP99, probeP50     float64
	probes                 int
	probeKind              string
	probeAnswerP99         float64
	cpu                    time.Duration // gateway process CPU time during the phase
	sysCPU                 time.Duration // of which in the kernel (system time)
	selfCPU                time.Duration // this process's CPU time (simulator + load tool) during the phase
	machine                machineTimes  // the whole machine's CPU time by state during the phase
	otpQueueP99            float64       // OTP accepted (on disk) → submit_sm_resp, from the gateway's histogram
	commits                uint64        // the store's group commits during the phase
	commitP50, commitP99   float64
	batchP50               float64 // items per group commit
	cacheHits, cacheMisses float64 // the writer's message-record lookups for events
	eventP50, eventP99     float64 // store write request → answer, message events
	bulkP50, bulkP99       float64 // the same, accepts
	expressP50             float64 // the same, OTP accepts (express class)
	expressP99             float64
	expressPhaseP99        [len(writePhases)]float64 // the same, by phase (queue, apply, commit, finish)
	eventPhaseP50          [len(writePhases)]float64 // the same for events, by phase (p50)
	journalWrites          uint64                    // the express journal's synchronous writes
	journalP50, journalP99 float64
	holdP50, holdP99       float64 // the gateway's unsettled-slot hold: submit_sm sent → outcome on disk
	rttP50, rttP99         float64 // submit_sm → submit_sm_resp
}

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "vneidgw-bench-")
	if err != nil {
		return err
	}
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return err
		}
	}
	if o.keep {
		fmt.Println("temp dir:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	sim, err := smscsim.New(smscsim.Config{Addr: "127.0.0.1:0", Log: zerolog.Nop()}, nil)
	if err != nil {
		return err
	}
	if err := sim.Start(); err != nil {
		return err
	}
	defer sim.Close()

	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(benchConfig(dir, sim.Addr(), o)), 0o600); err != nil {
		return err
	}
	token, err := createKey(ctx, o.binary, filepath.Join(dir, "data"))
	if err != nil {
		return err
	}
	gw, err := startChild(ctx, o.binary, cfgPath, filepath.Join(dir, "vneidgw.log"))
	if err != nil {
		return err
	}
	defer gw.stop()
	hc := &fasthttp.HostClient{Addr: gw.addr, MaxConns: o.concurrency + 16, ReadBufferSize: 16 << 10, MaxResponseBodySize: 256 << 20}
	if err := waitReady(ctx, hc); err != nil {
		return err
	}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	rssCtx, stopRSS := context.WithCancel(ctx)
	defer stopRSS()
	peaks := rssPeaks(rssCtx, gw.cmd.Process.Pid)

	if o.backlog > 0 {
		return backlogPhase(ctx, hc, sim, gw.cmd.Process.Pid, token, run, o, peaks, stopRSS)
	}
	// A phase with nothing to send is skipped (--approvals 0 or
	// --notices 0): its rates would be meaningless.
	var phases []phaseResult
	if o.approvals > 0 {
		bulk, err := bulkPhase(ctx, hc, sim, gw.cmd.Process.Pid, token, run, o)
		if err != nil {
			return fmt.Errorf("bulk phase: %w", err)
		}
		phases = append(phases, bulk)
	}
	if o.notices > 0 {
		single, err := singlePhase(ctx, hc, sim, gw.cmd.Process.Pid, token, run, o)
		if err != nil {
			return fmt.Errorf("single phase: %w", err)
		}
		phases = append(phases, single)
	}
	rss, _ := peakRSS(gw.cmd.Process.Pid)
	stopRSS()
	split := <-peaks
	selfRSS, _ := peakRSS(os.Getpid())
	st := sim.Stats()
	report(os.Stdout, o, phases, rss, split, selfRSS, st)
	return nil
}

func benchConfig(dir, simAddr string, o options) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "http_addr: 127.0.0.1:0\ndata_dir: %s\nlog_level: warn\ndebug_pprof: true\nsync_writes: true\ndefault_route: viettel\nsecret_key: bench-secret-bench-secret-bench-secret\notp:\n  daily_per_phone: 1000\n  daily_per_client: 1000000\n  cooldown: 1s\noperators:\n", filepath.Join(dir, "data"))
	for _, op := range []string{"viettel", "vinaphone", "mobifone", "vietnamobile", "gmobile", "itelecom"} {
		fmt.Fprintf(&b, "  - name: %s\n    binds:\n      - addr: %s\n        system_id: %s\n        password: bench\n        window: %d\n        count: %d\n", op, simAddr, op, o.window, o.binds)
	}
	return b.String()
}

func waitReady(ctx context.Context, hc *fasthttp.HostClient) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		code, _, err := hc.Get(nil, "http://"+hc.Addr+"/readyz")
		if err == nil && code == 200 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("gateway not ready after 30s")
}

// waitCounts blocks until the simulator has seen parts and acked dlrs, and
// returns when each target was reached.
func waitCounts(ctx context.Context, sim *smscsim.Server, parts, dlrs uint64, limit time.Duration) (partsAt, dlrsAt time.Time, err error) {
	deadline := time.Now().Add(limit)
	for {
		st := sim.Stats()
		now := time.Now()
		if partsAt.IsZero() && st.Parts >= parts {
			partsAt = now
		}
		if dlrsAt.IsZero() && st.DLRsAcked >= dlrs {
			dlrsAt = now
		}
		if !partsAt.IsZero() && !dlrsAt.IsZero() {
			return partsAt, dlrsAt, nil
		}
		if now.After(deadline) {
			return partsAt, dlrsAt, fmt.Errorf("timed out: simulator has %d/%d parts, %d/%d DLRs acknowledged", st.Parts, parts, st.DLRsAcked, dlrs)
		}
		select {
		case <-ctx.Done():
			return partsAt, dlrsAt, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func bulkPhase(ctx context.Context, hc *fasthttp.HostClient, sim *smscsim.Server, pid int, token, run string, o options) (res phaseResult, err error) {
	res = phaseResult{name: fmt.Sprintf("bulk: %d approvals, NDJSON %d/request", o.approvals, o.chunk), messages: o.approvals}
	// Build the bodies first so the load tool's own work is not timed.
	var bodies [][]byte
	for start := 0; start < o.approvals; start += o.chunk {
		var buf bytes.Buffer
		for i := start; i < min(start+o.chunk, o.approvals); i++ {
			approvalLine(&buf, run, i)
		}
		bodies = append(bodies, buf.Bytes())
	}
	before, _ := scrapeHistogram(hc, acceptToSubmit, "approval")
	otpBefore, _ := scrapeHistogram(hc, acceptToSubmit, "otp")
	defer res.measure(hc, pid)()
	st0 := sim.Stats()
	bar := progressbar.NewOptions(o.approvals, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription("bulk accepted"), progressbar.OptionThrottle(200*time.Millisecond))
	t0 := time.Now()

	profDone := make(chan struct{})
	if o.profile != "" {
		stopSelf := profileSelf(filepath.Join(o.profile, "bulk-sim-cpu.pprof"), 15*time.Second)
		go func() {
			defer close(profDone)
			defer stopSelf()
			fetchProfile(hc, "/debug/pprof/profile?seconds=15", filepath.Join(o.profile, "bulk-cpu.pprof"))
		}()
	} else {
		close(profDone)
	}
	traceDone := make(chan struct{})
	if o.trace != "" {
		go func() {
			defer close(traceDone)
			select {
			case <-time.After(time.Second): // the bulk under way
			case <-ctx.Done():
				return
			}
			fetchProfile(hc, "/debug/pprof/trace?seconds=2", o.trace)
		}()
	} else {
		close(traceDone)
	}
	probeCtx, stopProbes := context.WithCancel(ctx)
	probeDone := make(chan probeResult, 1)
	go func() { probeDone <- probe(probeCtx, hc, sim, token, run) }()

	var accepted atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(bodies))
	next := make(chan []byte)
	for w := 0; w < o.bulkConns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range next {
				n, err := postNDJSON(hc, token, body)
				if err != nil {
					errs <- err
				}
				accepted.Add(int64(n))
				bar.Add(n)
			}
		}()
	}
	for _, b := range bodies {
		next <- b
	}
	close(next)
	wg.Wait()
	res.acceptDur = time.Since(t0)
	res.partsInAccept = sim.Stats().Parts - st0.Parts
	bar.Finish()
	fmt.Fprintln(os.Stderr)
	close(errs)
	for err := range errs {
		stopProbes()
		return res, err
	}
	res.parts = 2 * o.approvals
	partsAt, dlrsAt, err := waitCounts(ctx, sim, st0.Parts+uint64(res.parts), st0.DLRsAcked+uint64(res.parts), 10*time.Minute)
	stopProbes()
	pr := <-probeDone
	if err != nil {
		return res, err
	}
	res.partsDur, res.dlrDur = partsAt.Sub(t0), dlrsAt.Sub(t0)
	<-profDone
	<-traceDone
	if o.profile != "" {
		fetchProfile(hc, "/debug/pprof/heap", filepath.Join(o.profile, "after-bulk-heap.pprof"))
	}
	after, err := scrapeHistogram(hc, acceptToSubmit, "approval")
	if err == nil {
		h := after.sub(before)
		res.a2sP50, res.a2sP99 = h.quantile(0.5), h.quantile(0.99)
	}
	if otpAfter, err := scrapeHistogram(hc, acceptToSubmit, "otp"); err == nil {
		h := otpAfter.sub(otpBefore)
		res.otpQueueP99 = h.quantile(0.99)
	}
	res.probeKind, res.probes = pr.kind, len(pr.lat)
	if pr.fails > 0 || len(pr.lat) == 0 {
		fmt.Fprintf(os.Stderr, "probes: %d sent, %d failed (last: %s), %d arrived\n", pr.sent, pr.fails, pr.lastErr, len(pr.lat))
	}
	sort.Float64s(pr.lat)
	res.probeP50, res.probeP99 = percentile(pr.lat, 0.5), percentile(pr.lat, 0.99)
	sort.Float64s(pr.answer)
	res.probeAnswerP99 = percentile(pr.answer, 0.99)
	return res, nil
}

func singlePhase(ctx context.Context, hc *fasthttp.HostClient, sim *smscsim.Server, pid int, token, run string, o options) (res phaseResult, err error) {
	res = phaseResult{name: fmt.Sprintf("single: %d notices, 1 request each, %d concurrent", o.notices, o.concurrency), messages: o.notices, parts: o.notices}
	before, _ := scrapeHistogram(hc, acceptToSubmit, "notice")
	defer res.measure(hc, pid)()
	st0 := sim.Stats()
	profDone := make(chan struct{})
	if o.profile != "" {
		go func() {
			defer close(profDone)
			fetchProfile(hc, "/debug/pprof/profile?seconds=4", filepath.Join(o.profile, "single-cpu.pprof"))
		}()
	} else {
		close(profDone)
	}
	defer func() { <-profDone }()
	bar := progressbar.NewOptions(o.notices, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription("notices accepted"), progressbar.OptionThrottle(200*time.Millisecond))
	t0 := time.Now()
	lat, err := singles(hc, token, run, o.notices, o.concurrency, func() { bar.Add(1) })
	res.acceptDur = time.Since(t0)
	bar.Finish()
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return res, err
	}
	partsAt, dlrsAt, err := waitCounts(ctx, sim, st0.Parts+uint64(res.parts), st0.DLRsAcked+uint64(res.parts), 5*time.Minute)
	if err != nil {
		return res, err
	}
	res.partsDur, res.dlrDur = partsAt.Sub(t0), dlrsAt.Sub(t0)
	sort.Float64s(lat)
	res.httpP50, res.httpP99 = percentile(lat, 0.5), percentile(lat, 0.99)
	if after, err := scrapeHistogram(hc, acceptToSubmit, "notice"); err == nil {
		h := after.sub(before)
		res.a2sP50, res.a2sP99 = h.quantile(0.5), h.quantile(0.99)
	}
	return res, nil
}

type probeResult struct {
	kind        string
	lat         []float64
	sent, fails int
	lastErr     string
	answer      []float64 // HTTP answer times (code issued and SMS on disk)
}

// probe sends an OTP (or, before the OTP API exists, a notice) every 20 ms
// to its own phone, each from its own goroutine (the OTP API answers no
// sooner than its 150 ms floor; sent one after another, a bulk phase gave
// only ~100 samples and its p99 was the second-worst probe), and times
// request start → arrival at the simulator.
func probe(ctx context.Context, hc *fasthttp.HostClient, sim *smscsim.Server, token, run string) probeResult {
	res := probeResult{kind: "otp"}
	type sent struct {
		phone string
		at    time.Time
	}
	var (
		mu      sync.Mutex
		pending []sent
		wg      sync.WaitGroup
	)
	// The OTP API is tried first, alone: a 404 means it does not exist yet.
	var notice atomic.Bool
	send := func(i int) {
		phone := benchPhone(900000 + i)
		t0 := time.Now()
		var code int
		var err error
		if !notice.Load() {
			code, _, err = postJSON(hc, token, "/api/v1/otp", []byte(`{"phone":"`+phone+`","purpose":"api"}`), "")
			if err == nil && code == 404 {
				notice.Store(true)
			}
		}
		if notice.Load() {
			code, _, err = postJSON(hc, token, "/api/v1/messages", []byte(`{"to":"`+phone+`","text":"Probe `+strconv.Itoa(i)+`"}`), run+"-p-"+strconv.Itoa(i))
		}
		mu.Lock()
		defer mu.Unlock()
		res.sent++
		res.answer = append(res.answer, time.Since(t0).Seconds())
		if err == nil && code/100 == 2 {
			pending = append(pending, sent{phone, t0})
		} else {
			res.fails++
			res.lastErr = fmt.Sprintf("status %d err %v", code, err)
		}
	}
	send(0)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	// Arrivals are collected as they come (the simulator's inbox keeps a
	// bounded number of phones, and the bulk pushes old ones out); the
	// latency uses the simulator's own arrival time.
	collect := func() {
		mu.Lock()
		defer mu.Unlock()
		kept := pending[:0]
		for _, p := range pending {
			if in := sim.Inbox(p.phone); len(in) > 0 {
				res.lat = append(res.lat, in[0].At.Sub(p.at).Seconds())
			} else {
				kept = append(kept, p)
			}
		}
		pending = kept
	}
	for i := 1; ; i++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			deadline := time.Now().Add(5 * time.Second)
			for {
				collect()
				mu.Lock()
				left := len(pending)
				mu.Unlock()
				if left == 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			if notice.Load() {
				res.kind = "notice"
			}
			res.fails += len(pending)
			return res
		case <-tick.C:
		}
		collect()
		wg.Add(1)
		go func() {
			defer wg.Done()
			send(i)
		}()
	}
}

// fetchProfile saves one of the gateway's pprof profiles (debug_pprof is on
// in the bench configuration).
func fetchProfile(hc *fasthttp.HostClient, path, file string) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + hc.Addr + path)
	if err := hc.DoTimeout(req, resp, 2*time.Minute); err != nil || resp.StatusCode() != 200 {
		fmt.Fprintf(os.Stderr, "profile %s: %v (status %d)\n", path, err, resp.StatusCode())
		return
	}
	if err := os.WriteFile(file, resp.Body(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
	}
}

// backlogPhase closes the simulator (every bind goes down), queues
// o.backlog approvals and reports the gateway's memory: a backlog must stay
// on disk, not in memory.
func backlogPhase(ctx context.Context, hc *fasthttp.HostClient, sim *smscsim.Server, pid int, token, run string, o options, peaks <-chan rssSample, stopRSS func()) error {
	sim.Close()
	bar := progressbar.NewOptions(o.backlog, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription("queued"), progressbar.OptionThrottle(500*time.Millisecond))
	t0 := time.Now()
	for start := 0; start < o.backlog; start += o.chunk {
		var buf bytes.Buffer
		for i := start; i < min(start+o.chunk, o.backlog); i++ {
			approvalLine(&buf, run, i)
		}
		n, err := postNDJSON(hc, token, buf.Bytes())
		if err != nil {
			return err
		}
		bar.Add(n)
	}
	bar.Finish()
	took := time.Since(t0)
	rss, _ := peakRSS(pid)
	now, _ := readRSS(pid)
	stopRSS()
	split := <-peaks
	fmt.Printf("\n== backlog: %d approvals queued with every bind down in %v (%.0f/s)\n", o.backlog, took.Round(time.Millisecond), float64(o.backlog)/took.Seconds())
	fmt.Printf("   gateway peak RSS (VmHWM) %.1f MB (sampled peaks: anonymous %.1f MB, file-backed %.1f MB); now anonymous %.1f MB, file-backed %.1f MB\n",
		float64(rss)/1e6, float64(split.anon)/1e6, float64(split.file)/1e6, float64(now.anon)/1e6, float64(now.file)/1e6)
	return nil
}

// profileSelf writes this process's CPU profile (the simulator and the load
// tool) to path for at most d; the returned func stops it early.
func profileSelf(path string, d time.Duration) func() {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		f.Close()
		return func() {}
	}
	var once sync.Once
	stop := func() { once.Do(func() { pprof.StopCPUProfile(); f.Close() }) }
	time.AfterFunc(d, stop)
	return stop
}
