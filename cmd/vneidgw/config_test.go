package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// env serves m, with a valid secret key unless m sets one.
func env(m map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := m[k]; ok {
			return v
		}
		if k == "VNEIDGW_SECRET_KEY" {
			return "0123456789abcdef0123456789abcdef"
		}
		return ""
	}
}

func TestLoadConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	yaml := `
http_addr: 127.0.0.1:9000
data_dir: /tmp/from-file
log_level: warn
default_route: mobifone
webhook:
  url: http://127.0.0.1:1/hook
  secret: s3cret
smsc_sim:
  dlr_delay: 2s
operators:
  - name: mobifone
    binds:
      - addr: 127.0.0.1:2775
        system_id: m
        password: p
        window: 32
        tps: 100
`
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := LoadConfig([]string{"--config", file, "--log-level", "debug"},
		env(map[string]string{"VNEIDGW_DATA_DIR": "/tmp/from-env", "VNEIDGW_LOG_LEVEL": "error", "VNEIDGW_SMSC_SIM_DLR_DELAY": "3s"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != "127.0.0.1:9000" {
		t.Errorf("file value lost: http_addr %q", cfg.HTTPAddr)
	}
	if cfg.DataDir != "/tmp/from-env" {
		t.Errorf("env must override file: data_dir %q", cfg.DataDir)
	}
	if cfg.LogLevel != "debug" {
		t.Errorf("flag must override env: log_level %q", cfg.LogLevel)
	}
	if cfg.SMSCSim.DLRDelay != 3*time.Second {
		t.Errorf("nested env override: dlr_delay %v", cfg.SMSCSim.DLRDelay)
	}
	if len(cfg.Operators) != 1 || cfg.Operators[0].Binds[0].Window != 32 || cfg.Operators[0].Binds[0].TPS != 100 {
		t.Errorf("operators not loaded: %+v", cfg.Operators)
	}
	if !cfg.SyncWrites {
		t.Error("sync_writes must default to true")
	}
}

func TestLoadConfigErrorsNameTheSetting(t *testing.T) {
	dir := t.TempDir()
	files := 0
	write := func(s string) string {
		files++
		f := filepath.Join(dir, fmt.Sprintf("c%d.yaml", files))
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad addr env", []string{"--demo"}, map[string]string{"VNEIDGW_HTTP_ADDR": "nonsense"}, "http_addr"},
		{"bad level flag", []string{"--demo", "--log-level", "loud"}, nil, "log_level"},
		{"bad bool env", []string{"--demo"}, map[string]string{"VNEIDGW_SYNC_WRITES": "perhaps"}, "VNEIDGW_SYNC_WRITES"},
		{"bad duration", []string{"--demo", "--smsc-sim-dlr-delay", "soon"}, nil, "--smsc-sim-dlr-delay"},
		{"no operators", nil, nil, "operators"},
		{"api key outside demo", []string{"--config", write("operators: [{name: viettel, binds: [{addr: '127.0.0.1:1'}]}]")}, map[string]string{"VNEIDGW_API_KEY": "vgw_0123456789abcdef_abcdefabcdefabcdef"}, "api_key"},
		{"unknown yaml key", []string{"--config", write("htp_addr: x\n")}, nil, "htp_addr"},
		{"bad mode", []string{"--config", write("operators: [{name: viettel, binds: [{addr: '127.0.0.1:1', mode: sideways}]}]")}, nil, "mode"},
		{"default route not configured", []string{"--config", write("default_route: gmobile\noperators: [{name: viettel, binds: [{addr: '127.0.0.1:1'}]}]")}, nil, "default_route"},
		{"webhook without secret", []string{"--demo", "--webhook-url", "http://127.0.0.1:1/"}, nil, "webhook.secret"},
		{"unknown flag", []string{"--frobnicate"}, nil, "frobnicate"},
		{"no secret key", []string{"--config", write("operators: [{name: viettel, binds: [{addr: '127.0.0.1:1'}]}]")}, map[string]string{"VNEIDGW_SECRET_KEY": ""}, "secret_key"},
		{"short secret key", []string{"--demo"}, map[string]string{"VNEIDGW_SECRET_KEY": "short"}, "secret_key"},
		{"bad memory limit", []string{"--demo", "--memory-limit", "lots"}, nil, "memory_limit"},
		{"bad key filter limit", []string{"--demo"}, map[string]string{"VNEIDGW_KEY_FILTER_LIMIT": "huge"}, "key_filter_limit"},
		{"negative procs", []string{"--demo", "--procs", "-1"}, nil, "procs"},
		{"otp lifetime over 10m", []string{"--demo", "--otp-lifetime", "11m"}, nil, "otp.lifetime"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := LoadConfig(c.args, env(c.env))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error naming %q, got %v", c.want, err)
			}
		})
	}
}

func TestLoadConfigDemoDefaults(t *testing.T) {
	cfg, _, err := LoadConfig([]string{"--demo"}, env(map[string]string{"VNEIDGW_API_KEY": "vgw_0123456789abcdef_abcdefabcdefabcdef"}))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Demo || cfg.HTTPAddr != "127.0.0.1:8080" || cfg.DataDir != "./data" || cfg.APIKey == "" {
		t.Fatalf("unexpected demo config %+v", cfg)
	}
}

func TestServeHelpListsEverySetting(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--help"}, &out, &errOut, env(nil)); code != 0 {
		t.Fatalf("serve --help exited %d: %s", code, errOut.String())
	}
	for _, want := range []string{"http_addr", "VNEIDGW_HTTP_ADDR", "--http-addr", "VNEIDGW_DATA_DIR", "VNEIDGW_API_KEY",
		"webhook.secret", "VNEIDGW_WEBHOOK_SECRET", "--otp-lifetime", "VNEIDGW_SECRET_KEY", "memory_limit"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
}

func TestCommands(t *testing.T) {
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"version"}, &out, &errOut, env(nil)); code != 0 || !strings.HasPrefix(out.String(), "vneidgw ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	if code := run(ctx, nil, &out, &errOut, env(nil)); code != 2 {
		t.Fatalf("no command: exit %d, want 2", code)
	}
	errOut.Reset()
	if code := run(ctx, []string{"frobnicate"}, &out, &errOut, env(nil)); code != 2 || !strings.Contains(errOut.String(), "frobnicate") {
		t.Fatalf("unknown command: %d %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run(ctx, []string{"apikey"}, &out, &errOut, env(nil)); code != 1 || !strings.Contains(errOut.String(), "apikey create") {
		t.Fatalf("apikey without create: %d %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run(ctx, []string{"apikey", "create", "--data-dir", t.TempDir()}, &out, &errOut, env(nil)); code != 1 || !strings.Contains(errOut.String(), "name") {
		t.Fatalf("apikey create without a name: %d %q", code, errOut.String())
	}
}

// TestSMSCSimCommand: `vneidgw smsc-sim` serves SMPP until cancelled.
func TestSMSCSimCommand(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errOut syncBuffer
	go func() {
		done <- run(ctx, []string{"smsc-sim", "--addr", addr, "--log-level", "warn"}, &out, &errOut, env(nil))
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("smsc-sim not listening on %s: %v %s", addr, err, errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("smsc-sim exited %d: %s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("smsc-sim did not stop")
	}
}

func TestProcs(t *testing.T) {
	for _, tc := range []struct {
		configured  int
		env         string
		found, want int
	}{
		{0, "", 2, 4},  // automatic: twice the CPUs
		{0, "3", 2, 0}, // GOMAXPROCS chose: leave it
		{6, "3", 2, 6}, // the setting wins
		{1, "", 8, 1},
	} {
		if got := procs(tc.configured, tc.env, tc.found); got != tc.want {
			t.Errorf("procs(%d, %q, %d) = %d, want %d", tc.configured, tc.env, tc.found, got, tc.want)
		}
	}
}
