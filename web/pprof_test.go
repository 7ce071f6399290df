package web

import "testing"

func TestPprofOnlyWhenEnabled(t *testing.T) {
	off := newEnv(t, Config{}, nil)
	if r := off.do("GET", "/debug/pprof/", "", nil); r.status != 404 {
		t.Fatalf("pprof served without being enabled: %d", r.status)
	}
	on := newEnv(t, Config{Pprof: true}, nil)
	r := on.do("GET", "/debug/pprof/goroutine?debug=1", "", nil)
	if r.status != 200 || len(r.body) == 0 {
		t.Fatalf("pprof enabled but %d", r.status)
	}
}
