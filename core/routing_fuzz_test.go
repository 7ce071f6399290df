package core

import (
	"strings"
	"testing"
)

// FuzzParsePortedCSV: never panics; every accepted entry is a normalised
// MSISDN mapped to a lower-case operator name, and a Router takes it.
func FuzzParsePortedCSV(f *testing.F) {
	for _, s := range []string{
		"msisdn,operator\n0912345678,mobifone\n",
		"# c\n\n+84 98 765 4321 , Viettel\r\n",
		"0912345678\n",
		"0912345678,a,b\n",
		"\xef\xbb\xbfphone,op\n84701234567,gmobile",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parsePortedCSV(strings.NewReader(string(data)), 1000)
		if err != nil {
			if c := ErrorCode(err); c != EINVALID && c != ETOOLARGE {
				t.Fatalf("code %q: %v", c, err)
			}
			return
		}
		r, err := NewRouter(DefaultPrefixes(), "viettel")
		if err != nil {
			t.Fatal(err)
		}
		r.SetPorted(m)
		if r.PortedCount() != len(m) {
			t.Fatalf("router took %d of %d entries", r.PortedCount(), len(m))
		}
		for k, v := range m {
			if !isNormalMSISDN(k) {
				t.Fatalf("key %q not normalised", k)
			}
			if v == "" || v != strings.ToLower(v) {
				t.Fatalf("operator %q", v)
			}
			if got := r.Route(k); got != v {
				t.Fatalf("Route(%s) = %q, want %q", k, got, v)
			}
		}
	})
}
