package main

import "testing"

func TestParseMachineTimes(t *testing.T) {
	stat := "cpu  100 5 40 800 30 2 3 20 0 0\ncpu0 50 2 20 400 15 1 1 10 0 0\nintr 1\n"
	got := parseMachineTimes(stat)
	want := machineTimes{busy: 100 + 5 + 40 + 2 + 3, idle: 800, iowait: 30, steal: 20}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got.total() != 1000 {
		t.Fatalf("total %d", got.total())
	}
	if d := got.sub(machineTimes{busy: 50, idle: 400, iowait: 10, steal: 20}); d != (machineTimes{busy: 100, idle: 400, iowait: 20}) {
		t.Fatalf("sub %+v", d)
	}
	for _, bad := range []string{"", "intr 1\n", "cpu 1 2 3\n", "cpu 1 2 3 x 5 6 7 8\n"} {
		if m := parseMachineTimes(bad); m != (machineTimes{}) {
			t.Errorf("%q: %+v, want zero", bad, m)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	ok := options{approvals: 100000, notices: 20000, concurrency: 64, chunk: 10000, bulkConns: 2, binds: 1, window: 64}
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*options){
		"negative approvals": func(o *options) { o.approvals = -1 },
		"zero window":        func(o *options) { o.window = 0 },
		"zero chunk":         func(o *options) { o.chunk = 0 },
		"nothing to send":    func(o *options) { o.approvals, o.notices = 0, 0 },
	} {
		o := ok
		mod(&o)
		if o.validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	only := ok
	only.approvals = 0
	if err := only.validate(); err != nil {
		t.Errorf("singles only: %v", err)
	}
}
