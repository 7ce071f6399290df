package monitoring

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

func TestNewLoggerJSON(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, "info", false)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug().Msg("hidden")
	log.Info().Str("k", "v").Msg("shown")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want 1 line (debug filtered), got %d: %q", len(lines), buf.String())
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if ev["k"] != "v" || ev["service"] != "vneidgw" || ev["message"] != "shown" {
		t.Fatalf("unexpected event %v", ev)
	}
}

func TestNewLoggerBadLevel(t *testing.T) {
	if _, err := NewLogger(&bytes.Buffer{}, "loud", false); err == nil || !strings.Contains(err.Error(), "loud") {
		t.Fatalf("want an error naming the level, got %v", err)
	}
}

func TestRegistryLints(t *testing.T) {
	reg := NewRegistry("test")
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, mf := range mfs {
		if mf.GetName() == "vneidgw_build_info" {
			found = true
		}
	}
	if !found {
		t.Fatal("vneidgw_build_info missing")
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "vneidgw_") {
			t.Errorf("lint %s: %s", p.Metric, p.Text)
		}
	}
}
