package core

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDefaultPrefixes(t *testing.T) {
	want := map[string][]string{
		OperatorViettel:      {"032", "033", "034", "035", "036", "037", "038", "039", "086", "096", "097", "098"},
		OperatorVinaphone:    {"081", "082", "083", "084", "085", "088", "091", "094"},
		OperatorMobifone:     {"070", "076", "077", "078", "079", "089", "090", "093"},
		OperatorVietnamobile: {"052", "056", "058", "092"},
		OperatorGmobile:      {"059", "099"},
		OperatorItelecom:     {"087"},
	}
	got := DefaultPrefixes()
	n := 0
	for op, ps := range want {
		for _, p := range ps {
			n++
			if got[p] != op {
				t.Errorf("DefaultPrefixes()[%s] = %q, want %q", p, got[p], op)
			}
		}
	}
	if len(got) != n {
		t.Errorf("DefaultPrefixes() has %d entries, want %d", len(got), n)
	}
	got["032"] = "changed"
	if DefaultPrefixes()["032"] != OperatorViettel {
		t.Error("DefaultPrefixes shares its map between calls")
	}
}

func newDefaultRouter(t *testing.T) *Router {
	t.Helper()
	r, err := NewRouter(DefaultPrefixes(), "fallback")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Every operator prefix routes to its operator.
func TestRouterEveryPrefix(t *testing.T) {
	r := newDefaultRouter(t)
	for p, op := range DefaultPrefixes() {
		msisdn := "84" + p[1:] + "1234567"
		if got := r.Route(msisdn); got != op {
			t.Errorf("Route(%s) = %q, want %q", msisdn, got, op)
		}
	}
}

func TestRouterRoute(t *testing.T) {
	prefixes := map[string]string{"091": "vinaphone", "098": "viettel"}
	r, err := NewRouter(prefixes, "viettel")
	if err != nil {
		t.Fatal(err)
	}
	r.SetPorted(map[string]string{
		"84912000001":  "mobifone",   // ported away from VinaPhone
		"0987000002":   "vinaphone",  // non-normalised key is normalised
		"84701234567":  "gmobile",    // prefix not in this table: ported still wins
		"not a number": "mobifone",   // skipped
		"84912000003":  "  ",         // skipped: empty operator
		"84912000004":  " itelecom ", // trimmed
	})
	tests := []struct {
		msisdn, want string
	}{
		{"84912000001", "mobifone"},
		{"84912000002", "vinaphone"},
		{"84987000002", "vinaphone"},
		{"84987000003", "viettel"},
		{"84701234567", "gmobile"},
		{"84701234568", "viettel"}, // unknown prefix → default
		{"84912000003", "vinaphone"},
		{"84912000004", "itelecom"},
		{"0912000001", "viettel"}, // not normalised → default
		{"", "viettel"},
		{"84x12000001", "viettel"},
	}
	for _, tt := range tests {
		if got := r.Route(tt.msisdn); got != tt.want {
			t.Errorf("Route(%q) = %q, want %q", tt.msisdn, got, tt.want)
		}
	}
	if got := r.PortedCount(); got != 4 {
		t.Errorf("PortedCount() = %d, want 4", got)
	}

	// Merge: a later SetPorted overrides and adds.
	r.SetPorted(map[string]string{"84912000001": "viettel", "84912000009": "mobifone"})
	if got := r.Route("84912000001"); got != "viettel" {
		t.Errorf("after re-port Route = %q, want viettel", got)
	}
	if got := r.PortedCount(); got != 5 {
		t.Errorf("PortedCount() = %d, want 5", got)
	}

	r.DeletePorted([]string{"84912000001", "+84 912 000 009", "garbage", "84999999999"})
	if got := r.Route("84912000001"); got != "vinaphone" {
		t.Errorf("after delete Route = %q, want the prefix's vinaphone", got)
	}
	if got := r.Route("84912000009"); got != "vinaphone" {
		t.Errorf("after delete Route = %q, want the prefix's vinaphone", got)
	}
	if got := r.PortedCount(); got != 3 {
		t.Errorf("PortedCount() = %d, want 3", got)
	}
	if got := r.DefaultRoute(); got != "viettel" {
		t.Errorf("DefaultRoute() = %q", got)
	}
}

func TestNewRouterValidation(t *testing.T) {
	tests := []struct {
		name     string
		prefixes map[string]string
		def      string
		wantErr  string
	}{
		{"ok", DefaultPrefixes(), "viettel", ""},
		{"no prefixes", nil, "viettel", ""},
		{"empty default", DefaultPrefixes(), " ", "default route is empty"},
		{"two digits", map[string]string{"09": "x"}, "d", `prefix "09"`},
		{"four digits", map[string]string{"0912": "x"}, "d", `prefix "0912"`},
		{"no leading zero", map[string]string{"912": "x"}, "d", `prefix "912"`},
		{"letters", map[string]string{"09a": "x"}, "d", `prefix "09a"`},
		{"empty operator", map[string]string{"091": ""}, "d", "prefix 091 has no operator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRouter(tt.prefixes, tt.def)
			if tt.wantErr == "" {
				if err != nil || r == nil {
					t.Fatalf("NewRouter: %v", err)
				}
				return
			}
			if err == nil || ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewRouter error = %v, want EINVALID containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRouterOperators(t *testing.T) {
	r := newDefaultRouter(t)
	want := []string{"fallback", "gmobile", "itelecom", "mobifone", "vietnamobile", "viettel", "vinaphone"}
	got := r.Operators()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Operators() = %v, want %v", got, want)
	}
	got[0] = "changed"
	if r.Operators()[0] != "fallback" {
		t.Error("Operators returns its internal slice")
	}
	r2, _ := NewRouter(map[string]string{"091": "vinaphone"}, "vinaphone")
	if got := r2.Operators(); !reflect.DeepEqual(got, []string{"vinaphone"}) {
		t.Errorf("Operators() = %v, want [vinaphone]", got)
	}
}

// Route runs concurrently with SetPorted / DeletePorted (run with -race).
func TestRouterConcurrent(t *testing.T) {
	r := newDefaultRouter(t)
	deadline := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000 && time.Now().Before(deadline); i++ {
				msisdn := fmt.Sprintf("84912%06d", i%1000)
				if got := r.Route(msisdn); got != "vinaphone" && got != "mobifone" {
					t.Errorf("Route(%s) = %q", msisdn, got)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 200 && time.Now().Before(deadline); i++ {
			msisdn := fmt.Sprintf("84912%06d", i%1000)
			r.SetPorted(map[string]string{msisdn: "mobifone"})
			_ = r.PortedCount()
			if i%3 == 0 {
				r.DeletePorted([]string{msisdn})
			}
		}
	}()
	wg.Wait()
}

func TestParsePortedCSV(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{
			name: "header comments blanks forms",
			in: "\xef\xbb\xbfmsisdn,operator\r\n" +
				"# ported in 2024\r\n" +
				"\r\n" +
				"0912345678,Mobifone\r\n" +
				" +84 98 765 4321 , viettel \r\n" +
				"0084701234567,vinaphone\n" +
				"84321234567,itelecom\n" +
				"84912345678,viettel\n", // a later line wins
			want: map[string]string{
				"84912345678": "viettel",
				"84987654321": "viettel",
				"84701234567": "vinaphone",
				"84321234567": "itelecom",
			},
		},
		{name: "empty", in: "", want: map[string]string{}},
		{name: "only header", in: "phone,op\n", want: map[string]string{}},
		{name: "no trailing newline", in: "0912345678,mobifone", want: map[string]string{"84912345678": "mobifone"}},
		{name: "bad number", in: "msisdn,operator\n0912345678,mobifone\n0241234567,viettel\n", wantErr: "line 3: phone: landline"},
		{name: "missing operator field", in: "0912345678\n", wantErr: "line 1: want msisdn,operator"},
		{name: "empty operator", in: "0912345678,\n", wantErr: "line 1: operator"},
		{name: "bad operator", in: "\n\n0912345678,mobi fone\n", wantErr: "line 3: operator"},
		{name: "three fields", in: "0912345678,mobifone,x\n", wantErr: "line 1: more than 2 fields"},
		{name: "second header", in: "msisdn,operator\nmsisdn,operator\n", wantErr: "line 2: phone: invalid character 'm'"},
		{name: "long line", in: "0912345678," + strings.Repeat("a", 5000) + "\n", wantErr: "line 1: longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePortedCSV(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePortedCSV error = %v, want EINVALID containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParsePortedCSV = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParsePortedCSVRowLimit(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 11; i++ {
		fmt.Fprintf(&b, "84912%06d,mobifone\n", i)
	}
	if _, err := parsePortedCSV(strings.NewReader(b.String()), 11); err != nil {
		t.Fatalf("11 rows with limit 11: %v", err)
	}
	_, err := parsePortedCSV(strings.NewReader(b.String()+"84912999999,viettel\n"), 11)
	if ErrorCode(err) != ETOOLARGE {
		t.Fatalf("12 rows with limit 11: err = %v, want ETOOLARGE", err)
	}
	if MaxPortedRows != 5_000_000 {
		t.Errorf("MaxPortedRows = %d", MaxPortedRows)
	}
}

type failingReader struct{ after io.Reader }

func (f *failingReader) Read(p []byte) (int, error) {
	if n, err := f.after.Read(p); err == nil || n > 0 {
		return n, nil
	}
	return 0, errors.New("connection reset")
}

func TestParsePortedCSVReadError(t *testing.T) {
	_, err := ParsePortedCSV(&failingReader{after: strings.NewReader("0912345678,mobifone\n")})
	if err == nil || !strings.Contains(err.Error(), "connection reset") || !strings.Contains(err.Error(), "after line 1") {
		t.Fatalf("err = %v, want the reader's error after line 1", err)
	}
	tooBig := Errorf(ETOOLARGE, "body too large")
	_, err = ParsePortedCSV(io.MultiReader(strings.NewReader("0912345678,mobifone\n"), &errReader{tooBig}))
	if ErrorCode(err) != ETOOLARGE {
		t.Fatalf("code = %q, want the reader's ETOOLARGE", ErrorCode(err))
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

func BenchmarkRoute(b *testing.B) {
	r, err := NewRouter(DefaultPrefixes(), "viettel")
	if err != nil {
		b.Fatal(err)
	}
	ported := make(map[string]string, 100_000)
	for i := 0; i < 100_000; i++ {
		ported[fmt.Sprintf("84912%06d", i)] = "mobifone"
	}
	r.SetPorted(ported)
	b.ReportAllocs()
	for b.Loop() {
		if r.Route("84912345678") == "" {
			b.Fatal("no route")
		}
	}
}
