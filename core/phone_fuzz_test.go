package core

import "testing"

// FuzzNormalizeMSISDN: never panics; a result is always 84 + 9 digits with
// a mobile prefix and normalises to itself; an error is always EINVALID.
func FuzzNormalizeMSISDN(f *testing.F) {
	for _, s := range []string{"0912345678", "+84 912 345 678", "0084912345678", "(028) 3812 3456", "84", "+", "٣", "01689123456"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeMSISDN(s)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("NormalizeMSISDN(%q): code %q", s, ErrorCode(err))
			}
			return
		}
		if !isNormalMSISDN(got) {
			t.Fatalf("NormalizeMSISDN(%q) = %q, not 84 + 9 digits with a mobile prefix", s, got)
		}
		again, err := NormalizeMSISDN(got)
		if err != nil || again != got {
			t.Fatalf("NormalizeMSISDN(%q) = %q, %v; want itself", got, again, err)
		}
	})
}
