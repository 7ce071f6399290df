package core

import (
	"fmt"
	"strings"
	"testing"
)

func TestNormalizeMSISDN(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string // substring of the error message
	}{
		{in: "0912345678", want: "84912345678"},
		{in: "84912345678", want: "84912345678"},
		{in: "+84912345678", want: "84912345678"},
		{in: "0084912345678", want: "84912345678"},
		{in: "0912 345 678", want: "84912345678"},
		{in: "091.234.5678", want: "84912345678"},
		{in: "091-234-5678", want: "84912345678"},
		{in: "(+84) 912 345 678", want: "84912345678"},
		{in: "(028) 912-345", wantErr: "landline"},
		{in: "+84 (91) 234-5678", want: "84912345678"},
		{in: "  0987654321\t", want: "84987654321"},
		{in: "0321234567", want: "84321234567"},
		{in: "0871234567", want: "84871234567"},
		{in: "00 84 87 123 4567", want: "84871234567"},
		{in: "", wantErr: "phone: empty"},
		{in: " - ", wantErr: "phone: empty"},
		{in: "abc", wantErr: "invalid character 'a'"},
		{in: "0912345678x", wantErr: "invalid character 'x'"},
		{in: "0912٣45678", wantErr: "invalid character '٣'"},
		{in: "09123456789", wantErr: "10 digits after the prefix"},
		{in: "091234567", wantErr: "8 digits after the prefix"},
		{in: "84+912345678", wantErr: "'+' allowed only"},
		{in: "++84912345678", wantErr: "'+' allowed only"},
		{in: "+1 415 555 0100", wantErr: "country code is not +84"},
		{in: "+8491234567", wantErr: "8 digits after the prefix"},
		{in: "02838123456", wantErr: "landline"}, // Ho Chi Minh City landline
		{in: "+842438123456", wantErr: "landline"},
		{in: "0241234567", wantErr: "landline prefix 024"},
		{in: "01689123456", wantErr: "renumbered in 2018"},
		{in: "0951234567", wantErr: "prefix 095 is not a Vietnamese mobile prefix"},
		{in: "84112345678", wantErr: "prefix 011 is not"},
		{in: "0012345678", wantErr: "prefix 001 is not"},
		{in: "1234567890", wantErr: "not a Vietnamese mobile number"},
		{in: strings.Repeat("0", 41), wantErr: "too long"},
		{in: "0000000000000000000", wantErr: "too many digits"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizeMSISDN(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("NormalizeMSISDN(%q) = %q, want error %q", tt.in, got, tt.wantErr)
				}
				if ErrorCode(err) != EINVALID {
					t.Errorf("code = %q, want %q", ErrorCode(err), EINVALID)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q does not contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormalizeMSISDN(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("NormalizeMSISDN(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// Every operator prefix is accepted in every form; every other 0xx prefix
// is refused.
func TestNormalizeMSISDNEveryPrefix(t *testing.T) {
	prefixes := DefaultPrefixes()
	for i := 0; i < 100; i++ {
		p := fmt.Sprintf("0%02d", i)
		sub := p[1:] + "1234567"
		want := "84" + sub
		_, mobile := prefixes[p]
		for _, in := range []string{"0" + sub, "84" + sub, "+84" + sub, "0084" + sub, "0" + sub[:2] + " " + sub[2:5] + " " + sub[5:]} {
			got, err := NormalizeMSISDN(in)
			if mobile && (err != nil || got != want) {
				t.Errorf("NormalizeMSISDN(%q) = %q, %v; want %q", in, got, err, want)
			}
			if !mobile && err == nil {
				t.Errorf("NormalizeMSISDN(%q) = %q, want an error (prefix %s is not mobile)", in, got, p)
			}
		}
	}
}

func TestMobilePrefixesMatchDefaultPrefixes(t *testing.T) {
	prefixes := DefaultPrefixes()
	for i := 0; i < 100; i++ {
		p := fmt.Sprintf("0%02d", i)
		_, inDefault := prefixes[p]
		if got := isMobilePrefix(p[1], p[2]); got != inDefault {
			t.Errorf("isMobilePrefix(%s) = %v, DefaultPrefixes has it: %v", p, got, inDefault)
		}
	}
	if isMobilePrefix('x', '1') || isMobilePrefix('1', '/') {
		t.Error("isMobilePrefix accepts a non-digit")
	}
}

func TestNormalizeMSISDNAllocs(t *testing.T) {
	tests := []struct {
		in        string
		maxAllocs float64
	}{
		{"84912345678", 0},
		{"0912 345 678", 1},
		{"+84912345678", 1},
	}
	for _, tt := range tests {
		got := testing.AllocsPerRun(100, func() {
			if _, err := NormalizeMSISDN(tt.in); err != nil {
				t.Fatal(err)
			}
		})
		if got > tt.maxAllocs {
			t.Errorf("NormalizeMSISDN(%q): %v allocations, want at most %v", tt.in, got, tt.maxAllocs)
		}
	}
}

func TestMaskMSISDN(t *testing.T) {
	tests := []struct{ in, want string }{
		{"84912345678", "84912***678"},
		{"0912345678", "**********"},
		{"84912", "*****"},
		{"", ""},
		{"8491234567890", "84912*****890"},
		{"849123456é8", "***********"},
	}
	for _, tt := range tests {
		if got := MaskMSISDN(tt.in); got != tt.want {
			t.Errorf("MaskMSISDN(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskIDNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"001085012323", "001*******23"},
		{"079203000001", "079*******01"},
		{"12345", "*****"},
		{"12345678", "123***78"},
		{"", ""},
		{"00108501232\n", "************"},
	}
	for _, tt := range tests {
		got := MaskIDNumber(tt.in)
		if got != tt.want {
			t.Errorf("MaskIDNumber(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if len(tt.in) >= 8 && strings.Contains(got, tt.in[3:len(tt.in)-2]) {
			t.Errorf("MaskIDNumber(%q) = %q shows the middle", tt.in, got)
		}
	}
}

func BenchmarkNormalizeMSISDN(b *testing.B) {
	for _, in := range []string{"84912345678", "0912 345 678", "+84912345678", "0084912345678"} {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NormalizeMSISDN(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("invalid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := NormalizeMSISDN("0951234567"); err == nil {
				b.Fatal("no error")
			}
		}
	})
}
