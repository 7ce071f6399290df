package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond every 20 ms until it holds or limit passes.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last string
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s (last: %s)", limit, what, last)
}

// listenAddr extracts the web address from serve's stdout.
func listenAddr(out *syncBuffer) string {
	for _, line := range strings.Split(out.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "vneidgw listening on http://"); ok {
			return strings.TrimSuffix(strings.TrimSpace(rest), "/")
		}
	}
	return ""
}

// api is a tiny client for the JSON API.
type api struct {
	base, token string
	c           *http.Client
}

func (a api) do(t testing.TB, method, path, contentType string, body []byte, hdr map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, a.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := a.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func (a api) getJSON(t testing.TB, path string, v any) int {
	t.Helper()
	code, data := a.do(t, "GET", path, "", nil, nil)
	if code == 200 {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, data)
		}
	}
	return code
}

// approval builds line i of a test batch: a valid person with a distinct
// phone (spread over operators) and ID number.
func approval(run string, i int) (line string, phone, name string) {
	fam := []string{"Nguyễn", "Trần", "Lê", "Phạm", "Đặng"}[i%5]
	mid := []string{"Văn", "Thị", "Đức", "Ngọc"}[(i/5)%4]
	giv := []string{"An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hương", "Long", "Mai", "Sơn", "Tâm", "Yến"}[(i/20)%12]
	name = fam + " " + mid + " " + giv
	prefixes := []string{"91", "32", "90", "52", "59", "87", "86", "70"}
	phone = "84" + prefixes[i%len(prefixes)] + fmt.Sprintf("%07d", i)
	year := 1960 + i%40
	sex, digit := "male", 0
	if i%2 == 1 {
		sex, digit = "female", 1
	}
	id := fmt.Sprintf("079%d%02d%06d", digit, year%100, i)
	line = fmt.Sprintf(`{"application_id":"%s-%d","id_number":"%s","full_name":"%s","date_of_birth":"%d-05-17","sex":"%s","phone":"%s","level":2}`,
		run, i, id, name, year, sex, phone)
	return line, phone, name
}

// inProcess is `vneidgw serve` running in this test process against sim,
// with its webhook pointing at a signature-checking report sink.
type inProcess struct {
	api  api
	sink *reportSink
	out  *syncBuffer
	errs *syncBuffer
	done chan int
	stop context.CancelFunc
}

// serveInProcess creates an API key with `apikey create`, starts `serve`
// and waits until it listens.
func serveInProcess(t *testing.T, simAddr, secret string) *inProcess {
	t.Helper()
	dir := t.TempDir()
	p := &inProcess{sink: &reportSink{secret: secret, final: map[string]string{}}, out: &syncBuffer{}, errs: &syncBuffer{}, done: make(chan int, 1)}
	hook := httptest.NewServer(p.sink)
	t.Cleanup(hook.Close)
	cfgFile := writeConfig(t, dir, simAddr, fmt.Sprintf("webhook:\n  url: %s\n  secret: %s\n", hook.URL, secret))
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	t.Cleanup(cancel)
	var keyOut syncBuffer
	if code := run(ctx, []string{"apikey", "create", "--name", "test", "--data-dir", filepath.Join(dir, "data")}, &keyOut, io.Discard, os.Getenv); code != 0 {
		t.Fatalf("apikey create exited %d: %s", code, keyOut.String())
	}
	lines := strings.Split(strings.TrimSpace(keyOut.String()), "\n")
	go func() {
		p.done <- run(ctx, []string{"serve", "--config", cfgFile}, p.out, p.errs, func(string) string { return "" })
	}()
	waitFor(t, 30*time.Second, "serve to listen", func() (bool, string) { return listenAddr(p.out) != "", p.errs.String() })
	p.api = api{base: "http://" + listenAddr(p.out), token: lines[len(lines)-1], c: &http.Client{Timeout: 2 * time.Minute}}
	return p
}

// shutdown stops serve and checks it exits cleanly.
func (p *inProcess) shutdown(t *testing.T) {
	t.Helper()
	p.stop()
	select {
	case code := <-p.done:
		if code != 0 {
			t.Fatalf("serve exited %d: %s", code, p.errs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s of cancel")
	}
}
