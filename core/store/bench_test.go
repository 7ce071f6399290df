package store

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"vneidgw/core"
)

// Benchmarks run with SyncWrites on, on a temp dir (real fsyncs). Besides
// msgs/s (wall clock, sensitive to other load on the machine) they report
// the process CPU time per message (cpu-us/msg), which is steadier.

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportRates(b *testing.B, msgs int, cpu0 time.Duration) {
	b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(msgs), "cpu-us/msg")
}

func BenchmarkAcceptBatch(b *testing.B) {
	s := openStore(b, testConfig(b))
	const batch = 1000
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		reqs := approvals("b"+strconv.Itoa(i), "viettel", batch)
		b.StartTimer()
		if _, err := s.Accept(ctx, reqs); err != nil {
			b.Fatal(err)
		}
	}
	reportRates(b, b.N*batch, cpu0)
}

// BenchmarkAcceptBatchParallel: 4 callers of 1000 approvals each (several
// bulk uploads at once): their commits overlap in the writer's pipeline.
func BenchmarkAcceptBatchParallel(b *testing.B) {
	s := openStore(b, testConfig(b))
	const batch = 1000
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(2) // × GOMAXPROCS(2)
	b.ResetTimer()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			reqs := approvals("bp"+strconv.FormatInt(n.Add(1), 10), "viettel", batch)
			if _, err := s.Accept(ctx, reqs); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRates(b, b.N*batch, cpu0)
}

func BenchmarkAcceptConcurrentSingle(b *testing.B) {
	s := openStore(b, testConfig(b))
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32) // × GOMAXPROCS(2) = 64 goroutines
	b.ResetTimer()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := "cs" + strconv.FormatInt(n.Add(1), 10)
			m := newMessage(id, "viettel", core.KindOTP, 1)
			if _, err := s.Accept(ctx, []core.AcceptRequest{{Message: m}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRates(b, b.N, cpu0)
}

// BenchmarkLifecycle: accept + next + submitted + delivered per message,
// with a producer and a sender running concurrently as in the gateway.
func BenchmarkLifecycle(b *testing.B) { benchLifecycle(b, 1, false) }

// BenchmarkLifecycle2Parts: the same for 2-part messages (an approval).
func BenchmarkLifecycle2Parts(b *testing.B) { benchLifecycle(b, 2, false) }

// BenchmarkLifecycle2PartsEarlyDLR: 2-part messages whose receipts overtake
// their submit_sm_resp (recorded first, pending until the response).
func BenchmarkLifecycle2PartsEarlyDLR(b *testing.B) { benchLifecycle(b, 2, true) }

func benchLifecycle(b *testing.B, parts int, early bool) {
	s := openStore(b, testConfig(b))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const batch = 200
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // producer
		defer wg.Done()
		for i := 0; i < b.N; i += batch {
			n := min(batch, b.N-i)
			reqs := make([]core.AcceptRequest, n)
			for j := range reqs {
				reqs[j] = core.AcceptRequest{Message: newMessage(fmt.Sprintf("l%09d", i+j), "viettel", core.KindApproval, parts)}
			}
			if _, err := s.Accept(ctx, reqs); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	done := 0
	var seq int
	for done < b.N {
		ms, err := s.Next(ctx, []string{"viettel"}, batch)
		if err != nil {
			b.Fatal(err)
		}
		sub := make([]core.Event, 0, len(ms)*parts)
		dl := make([]core.Event, 0, len(ms)*parts)
		for _, m := range ms {
			for p := 1; p <= parts; p++ {
				seq++
				id := strconv.FormatInt(int64(seq), 16)
				sub = append(sub, core.Event{Kind: core.EventSubmitted, MessageID: m.ID, Part: p, Operator: "viettel", SMSCID: id})
				dl = append(dl, core.Event{Kind: core.EventDLR, Operator: "viettel", SMSCID: id, Status: core.StatusDelivered})
			}
		}
		first, second := sub, dl
		if early {
			first, second = dl, sub
		}
		if err := s.Record(ctx, first); err != nil {
			b.Fatal(err)
		}
		if err := s.Record(ctx, second); err != nil {
			b.Fatal(err)
		}
		done += len(ms)
	}
	wg.Wait()
	reportRates(b, b.N, cpu0)
}
