package main

import (
	"fmt"
	"io"
	"math"
	"runtime"

	"vneidgw/gateway/smscsim"
)

func report(w io.Writer, o options, phases []phaseResult, rss int64, split rssSample, selfRSS int64, st smscsim.Stats) {
	fmt.Fprintf(w, "\n== vneidgw end-to-end benchmark (GOMAXPROCS %d; gateway child process with Badger fsync on; simulator and load tool in this process)\n", runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "   binds: %d per operator x 6 operators, window %d\n", o.binds, o.window)
	for _, p := range phases {
		fmt.Fprintf(w, "\n-- %s\n", p.name)
		fmt.Fprintf(w, "   accepted/s                      %10.0f  (%d messages in %v)\n", rate(p.messages, p.acceptDur), p.messages, p.acceptDur.Round(1e6))
		fmt.Fprintf(w, "   parts submitted/s               %10.0f  (%d parts, first accept → last part at SMSC %v)\n", rate(p.parts, p.partsDur), p.parts, p.partsDur.Round(1e6))
		// partsInAccept counts every part at the simulator, the OTP
		// probes' too: when the bulk's parts were all sent while accepting
		// (or the figure is off by the probes), there is no "after".
		switch {
		case p.partsInAccept > 0 && int(p.partsInAccept) < p.parts && p.partsDur > p.acceptDur:
			fmt.Fprintf(w, "     while accepting / after         %6.0f / %.0f parts/s\n",
				rate(int(p.partsInAccept), p.acceptDur), rate(p.parts-int(p.partsInAccept), p.partsDur-p.acceptDur))
		case p.partsInAccept > 0:
			fmt.Fprintf(w, "     while accepting                 %6.0f parts/s (all sent by the last accept's answer)\n",
				rate(int(min(p.partsInAccept, uint64(p.parts))), p.acceptDur))
		}
		fmt.Fprintf(w, "   DLRs settled/s                  %10.0f  (first accept → last DLR on disk and acked %v)\n", rate(p.parts, p.dlrDur), p.dlrDur.Round(1e6))
		fmt.Fprintf(w, "   accept → submit_sm_resp p50/p99 %s / %s\n", ms(p.a2sP50), ms(p.a2sP99))
		if p.cpu > 0 {
			fmt.Fprintf(w, "   gateway CPU per 1000 messages   %10.0f ms  (%v CPU in the phase, %v of it in the kernel; a noise-resistant cost figure)\n",
				float64(p.cpu.Milliseconds())*1000/float64(p.messages), p.cpu.Round(1e7), p.sysCPU.Round(1e7))
			fmt.Fprintf(w, "   simulator+load CPU per 1000     %10.0f ms  (%v CPU in this process; both share the gateway's 2 cores)\n",
				float64(p.selfCPU.Milliseconds())*1000/float64(p.messages), p.selfCPU.Round(1e7))
		}
		if t := p.machine.total(); t > 0 {
			pct := func(v int64) float64 { return 100 * float64(v) / float64(t) }
			fmt.Fprintf(w, "   machine CPU in the phase   busy %4.1f%%, idle %4.1f%%, iowait %4.1f%%, steal %4.1f%%  (/proc/stat; steal is time the hypervisor gave to other guests)\n",
				pct(p.machine.busy), pct(p.machine.idle), pct(p.machine.iowait), pct(p.machine.steal))
		}
		if p.written > 0 {
			fmt.Fprintf(w, "   gateway bytes written per message %8.0f  (%.0f MB to storage in the phase, /proc/<pid>/io write_bytes)\n",
				float64(p.written)/float64(p.messages), float64(p.written)/(1<<20))
		}
		if p.commits > 0 {
			fmt.Fprintf(w, "   store group commits             %10d  (%.0f/s; items per commit p50 %.0f; commit p50/p99 %s / %s)\n",
				p.commits, rate(int(p.commits), p.partsDur), p.batchP50, ms(p.commitP50), ms(p.commitP99))
		}
		if n := p.cacheHits + p.cacheMisses; n > 0 {
			fmt.Fprintf(w, "   store message cache hits         %6.1f%%  (%.0f of %.0f record lookups for events; a miss reads Badger)\n",
				100*p.cacheHits/n, p.cacheHits, n)
		}
		if p.eventP99 > 0 {
			fmt.Fprintf(w, "   store write p50/p99 events %s / %s, accepts %s / %s  (request → on disk, writer queue included)\n",
				ms(p.eventP50), ms(p.eventP99), ms(p.bulkP50), ms(p.bulkP99))
		}
		if ph := p.eventPhaseP50; ph[2] > 0 {
			fmt.Fprintf(w, "     events by phase, p50: queue %s, apply %s, commit %s, finish %s\n", ms(ph[0]), ms(ph[1]), ms(ph[2]), ms(ph[3]))
		}
		if p.holdP50 > 0 {
			fmt.Fprintf(w, "   gateway slot hold p50/p99   %s / %s  (submit_sm sent → outcome on disk; of which submit_sm → resp %s / %s)\n",
				ms(p.holdP50), ms(p.holdP99), ms(p.rttP50), ms(p.rttP99))
		}
		if p.journalWrites > 0 {
			fmt.Fprintf(w, "   store journal writes            %10d  (express batches; sync p50/p99 %s / %s)\n",
				p.journalWrites, ms(p.journalP50), ms(p.journalP99))
		}
		if p.expressP99 > 0 {
			fmt.Fprintf(w, "   store write p50/p99 OTP accepts %s / %s  (express class)\n", ms(p.expressP50), ms(p.expressP99))
			if ph := p.expressPhaseP99; ph[2] > 0 {
				fmt.Fprintf(w, "     by phase, p99: queue %s, apply %s, commit %s, finish %s\n", ms(ph[0]), ms(ph[1]), ms(ph[2]), ms(ph[3]))
			}
		}
		if p.httpP99 > 0 {
			fmt.Fprintf(w, "   HTTP accept latency p50/p99     %s / %s\n", ms(p.httpP50), ms(p.httpP99))
		}
		if p.probes > 0 {
			fmt.Fprintf(w, "   %s request → SMSC during bulk p50/p99 %s / %s  (%d probes, timed from the HTTP request to arrival at the simulator)\n", p.probeKind, ms(p.probeP50), ms(p.probeP99), p.probes)
			fmt.Fprintf(w, "   %s HTTP answer p99               %s  (includes the OTP service's deliberate 150 ms floor)\n", p.probeKind, ms(p.probeAnswerP99))
			fmt.Fprintf(w, "   %s created → submit_sm_resp p99  %s  (accept commit, queue and gateway, from vneidgw_gateway_accept_to_submit_seconds{kind=\"otp\"})\n", p.probeKind, ms(p.otpQueueP99))
		}
	}
	fmt.Fprintf(w, "\n   gateway peak RSS (VmHWM)        %10.1f MB  (sampled peaks: anonymous %.1f MB, file-backed mmap %.1f MB)\n",
		float64(rss)/1e6, float64(split.anon)/1e6, float64(split.file)/1e6)
	fmt.Fprintf(w, "   simulator+load tool peak RSS    %10.1f MB\n", float64(selfRSS)/1e6)
	fmt.Fprintf(w, "   simulator: %d parts, %d duplicates, %d DLRs sent, %d acked\n", st.Parts, st.Duplicates, st.DLRsSent, st.DLRsAcked)
}

func rate(n int, d interface{ Seconds() float64 }) float64 {
	if d.Seconds() == 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func ms(s float64) string {
	if math.IsNaN(s) || s == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f ms", s*1000)
}
