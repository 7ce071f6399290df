package gateway

import (
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"vneidgw/core"
	"vneidgw/gateway/smscsim"
)

// BenchmarkGatewayThroughput: b.N pre-built messages (half 1-part, half
// 2-part) from the fake queue to the simulator over TCP, with DLRs, until
// every part is recorded submitted and every DLR recorded. Run with a
// fixed count, e.g. -benchtime=40000x.
func BenchmarkGatewayThroughput(b *testing.B) {
	for _, tc := range []struct{ binds, window int }{{1, 64}, {2, 64}, {1, 256}} {
		binds := tc.binds
		b.Run(fmt.Sprintf("binds=%d/window=%d", tc.binds, tc.window), func(b *testing.B) {
			sim, err := smscsim.New(smscsim.Config{Log: zerolog.Nop()}, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := sim.Start(); err != nil {
				b.Fatal(err)
			}
			defer sim.Close()
			q := newMemQueue()
			q.events = make([]core.Event, 0, 4*b.N)
			parts := 0
			for i := range b.N {
				m := newMsg(fmt.Sprintf("b%08d", i), "viettel", core.KindApproval, shortText(i))
				m.To = fmt.Sprintf("849%08d", i)
				m.ConcatRef = uint8(i)
				_, p := core.CountParts(m.Text)
				parts += p
				q.put(m)
			}
			addrs := make([]string, binds)
			for i := range addrs {
				addrs[i] = sim.Addr()
			}
			cfg := testConfig(map[string][]string{"viettel": addrs}, func(bc *BindConfig) { bc.Window = tc.window })
			g, err := New(cfg, q, zerolog.Nop(), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			stop := startGateway(b, g)
			q.waitDone(b, b.N, 5*time.Minute)
			submitted := time.Since(start)
			waitDLRs(b, q, parts, 5*time.Minute)
			all := time.Since(start)
			b.StopTimer()
			stop()
			b.ReportMetric(float64(parts)/submitted.Seconds(), "parts/s")
			b.ReportMetric(float64(parts)/all.Seconds(), "dlrs/s")
			if st := sim.Stats(); st.Duplicates != 0 || st.Parts != uint64(parts) {
				b.Fatalf("sim stats %+v parts %d", st, parts)
			}
		})
	}
}
