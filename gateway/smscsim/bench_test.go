package smscsim

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSubmitThroughput drives the server with a raw client that keeps
// 64 submit_sm in flight on one transceiver bind and acknowledges every
// DLR. It reports submits/s and the process CPU (client and server
// together) per submit.
func BenchmarkSubmitThroughput(b *testing.B) {
	for _, bc := range []struct {
		name string
		rd   uint8
	}{{"no_dlr", 0}, {"with_dlr", 1}} {
		b.Run(bc.name, func(b *testing.B) { benchSubmit(b, bc.rd) })
	}
}

func benchSubmit(b *testing.B, rd uint8) {
	const window = 64
	s := startServer(b, Config{})
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	br := bufio.NewReaderSize(nc, 64<<10)
	bw := bufio.NewWriterSize(nc, 64<<10)
	var wmu sync.Mutex

	bind, at := beginPDU(nil, idBindTransceiver, 0, 1)
	bind = appendCString(bind, "bench")
	bind = appendCString(bind, "pw")
	bind = appendCString(bind, "")
	bind = append(bind, 0x34, 0, 0, 0)
	bind = endPDU(bind, at)
	if _, err := nc.Write(bind); err != nil {
		b.Fatal(err)
	}
	if h := readHdr(b, br); h.ID != idBindTransceiverResp() || h.Status != 0 {
		b.Fatalf("bind: 0x%x 0x%x", h.ID, h.Status)
	}

	text := []byte("Cuc Canh sat QLHC ve TTXH thong bao: Ho so dang ky tai khoan dinh danh dien tu cua cong dan NGUYEN VAN AN da duoc phe duyet.")
	tmpl, at := beginPDU(nil, idSubmitSM, 0, 0)
	tmpl = appendCString(tmpl, "")
	tmpl = append(tmpl, 5, 0)
	tmpl = appendCString(tmpl, "VneID")
	tmpl = append(tmpl, 1, 1)
	tmpl = appendCString(tmpl, "84912345678")
	tmpl = append(tmpl, 0, 0, 0, 0, 0, rd, 0, 0, 0, uint8(len(text)))
	tmpl = append(tmpl, text...)
	tmpl = endPDU(tmpl, at)
	// Vary the destination so the inbox and duplicate map do real work.
	dstAt := 16 + 1 + 2 + len("VneID\x00") + 2 // first digit of destination_addr

	sem := make(chan struct{}, window)
	wantDLRs := 0
	if rd != 0 {
		wantDLRs = b.N
	}
	readErr := make(chan error, 1)
	go func() {
		resps, dlrs := 0, 0
		var ack [16]byte
		for resps < b.N || dlrs < wantDLRs {
			var hb [16]byte
			if _, err := io.ReadFull(br, hb[:]); err != nil {
				readErr <- err
				return
			}
			h := parseHeader(hb[:])
			if _, err := br.Discard(int(h.Len) - 16); err != nil {
				readErr <- err
				return
			}
			switch h.ID {
			case idSubmitSMResp:
				resps++
				<-sem
			case idDeliverSM:
				dlrs++
				wmu.Lock()
				_, _ = bw.Write(appendHeaderOnly(ack[:0], idDeliverSMResp, 0, h.Seq))
				if br.Buffered() == 0 {
					_ = bw.Flush()
				}
				wmu.Unlock()
			}
		}
		readErr <- nil
	}()

	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		select {
		case sem <- struct{}{}:
		default:
			wmu.Lock()
			_ = bw.Flush()
			wmu.Unlock()
			sem <- struct{}{}
		}
		binary.BigEndian.PutUint32(tmpl[12:], uint32(i+2))
		n := i % 1000000
		for k := 0; k < 6; k++ {
			tmpl[dstAt+10-k] = byte('0' + n%10)
			n /= 10
		}
		wmu.Lock()
		_, _ = bw.Write(tmpl)
		wmu.Unlock()
	}
	wmu.Lock()
	_ = bw.Flush()
	wmu.Unlock()
	select {
	case err := <-readErr:
		if err != nil {
			b.Fatal(err)
		}
	case <-time.After(time.Minute):
		b.Fatal("responses did not all arrive")
	}
	el := time.Since(start)
	b.StopTimer()
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
	b.ReportMetric(float64(b.N)/el.Seconds(), "submits/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/submit")
	b.ReportMetric(cpu.Seconds()/el.Seconds(), "cores")
	if st := s.Stats(); st.Parts != uint64(b.N) {
		b.Fatalf("accepted %d of %d", st.Parts, b.N)
	}
	// What the simulator keeps (inbox, duplicate hashes) after b.N parts.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MiB")
}

func idBindTransceiverResp() uint32 { return idBindTransceiver | respBit }

func readHdr(b *testing.B, r *bufio.Reader) header {
	var hb [16]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		b.Fatal(err)
	}
	h := parseHeader(hb[:])
	if _, err := r.Discard(int(h.Len) - 16); err != nil {
		b.Fatal(err)
	}
	return h
}
