package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"vneidgw/core"
	"vneidgw/gateway/smscsim"
)

// buildBinary compiles this command once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "vneidgw")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type proc struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
}

func startServe(t *testing.T, bin, cfgFile, logFile string) *proc {
	t.Helper()
	logf, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfgFile)
	cmd.Stderr = logf
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "vneidgw listening on http://"); ok {
				addr <- strings.TrimSuffix(rest, "/")
			}
		}
	}()
	go func() { cmd.Wait(); logf.Close(); close(p.done) }()
	select {
	case p.addr = <-addr:
	case <-p.done:
		log, _ := os.ReadFile(logFile)
		t.Fatalf("serve exited early: %s", log)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("serve did not listen within 30s")
	}
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// TestCrashMidBatch kills the gateway with SIGKILL while 50,000 approvals
// are being accepted and sent, restarts it, resubmits what was not
// acknowledged, and checks that every accepted approval reaches its phone,
// with duplicates at the simulator bounded by the in-flight windows.
func TestCrashMidBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds the binary and sends 50,000 approvals")
	}
	const n, chunk = 50000, 2500
	const binds, window = 6, 64 + core.MaxParts // the window plus the OTP lane's own slots
	dir := t.TempDir()
	bin := buildBinary(t)
	sim := startSim(t, smscsim.Config{})
	cfgFile := writeConfig(t, dir, sim.Addr(), "")
	logFile := filepath.Join(dir, "serve.log")

	out, err := exec.Command(bin, "apikey", "create", "--name", "crash", "--data-dir", filepath.Join(dir, "data")).CombinedOutput()
	if err != nil {
		t.Fatalf("apikey create: %v %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	token := lines[len(lines)-1]

	bodies := make([]string, 0, n/chunk)
	phones := make([]string, n)
	for start := 0; start < n; start += chunk {
		var b strings.Builder
		for i := start; i < start+chunk; i++ {
			line, phone, _ := approval("crash", i)
			phones[i] = phone
			b.WriteString(line + "\n")
		}
		bodies = append(bodies, b.String())
	}

	p := startServe(t, bin, cfgFile, logFile)
	a := api{base: "http://" + p.addr, token: token, c: &http.Client{Timeout: time.Minute}}
	acked := make([]bool, len(bodies))
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i, body := range bodies {
			req, _ := http.NewRequestWithContext(context.Background(), "POST", a.base+"/api/v1/approvals", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/x-ndjson")
			resp, err := a.c.Do(req)
			if err != nil {
				return // the gateway died under us
			}
			resp.Body.Close()
			if resp.StatusCode == 202 {
				mu.Lock()
				acked[i] = true
				mu.Unlock()
			}
		}
	}()
	// Kill once sending is well under way and acceptance is still going on.
	waitFor(t, 2*time.Minute, "the simulator to receive 8,000 parts", func() (bool, string) {
		return sim.Stats().Parts >= 8000, fmt.Sprintf("%+v", sim.Stats())
	})
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	wg.Wait()
	mu.Lock()
	nAcked := 0
	for _, ok := range acked {
		if ok {
			nAcked++
		}
	}
	mu.Unlock()
	before := sim.Stats()
	t.Logf("killed with %d/%d chunks acknowledged; simulator had %d parts", nAcked, len(bodies), before.Parts)
	if nAcked == len(bodies) {
		t.Log("warning: every chunk was acknowledged before the kill; the crash hit the sending side only")
	}

	// Restart and resubmit whatever was not acknowledged (idempotent).
	p2 := startServe(t, bin, cfgFile, logFile)
	a.base = "http://" + p2.addr
	for i, body := range bodies {
		if acked[i] {
			continue
		}
		code, resp := a.do(t, "POST", "/api/v1/approvals", "application/x-ndjson", []byte(body), nil)
		if code != 202 {
			t.Fatalf("resubmit chunk %d: %d %.300s", i, code, resp)
		}
	}
	missing := 0
	waitFor(t, 5*time.Minute, "every approval at its phone", func() (bool, string) {
		missing = 0
		for _, ph := range phones {
			if len(sim.Inbox(ph)) == 0 {
				missing++
			}
		}
		return missing == 0, fmt.Sprintf("%d phones without their approval; %+v", missing, sim.Stats())
	})
	st := sim.Stats()
	t.Logf("after restart: %+v", st)
	if st.Duplicates > binds*window {
		t.Fatalf("%d duplicate parts at the simulator; at most the in-flight windows (%d) may be resent", st.Duplicates, binds*window)
	}
	p2.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p2.done:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on SIGINT")
	}
}
