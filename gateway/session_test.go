package gateway

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"

	"vneidgw/core"
)

func oneBind(p *peer, mut func(*BindConfig)) Config {
	return testConfig(map[string][]string{"viettel": {p.addr()}}, mut)
}

// Defect 1: a deliver_sm reusing an in-flight submit's sequence number is a
// deliver_sm, not that submit's response.
func TestSeqCollidingDeliverSMIsNotAResponse(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	g := newTestGateway(t, oneBind(p, nil), q)
	q.put(newMsg("m1", "viettel", core.KindNotice, "hello"))
	startGateway(t, g)
	c := p.accept(t)
	seq, _ := c.submit()
	// SMSC's own deliver_sm with the same sequence number, before the resp
	c.write(deliverSM(seq, "84912345678", "VneID", 0x04, 0, dlrText("0A1B", "DELIVRD")))
	h, _ := c.next()
	if h.ID != cmdDeliverSMResp || h.Seq != seq {
		t.Fatalf("got %#x seq %d, want deliver_sm_resp seq %d", h.ID, h.Seq, seq)
	}
	// a response of another type with that sequence number is no match either
	c.write(appendEmpty(nil, cmdEnquireLinkResp, 0, seq))
	c.nothing(50 * time.Millisecond)
	if st := g.Binds()[0]; st.InFlight != 1 {
		t.Fatalf("in flight %d after a mismatched response", st.InFlight)
	}
	c.respond(seq, StatusOK, "0A1B")
	q.waitDone(t, 1, 5*time.Second)
	sub := q.eventsOf(core.EventSubmitted)
	if len(sub) != 1 || sub[0].SMSCID != "0A1B" || sub[0].Part != 1 || sub[0].Operator != "viettel" {
		t.Fatalf("submitted events %+v", sub)
	}
	dlr := q.eventsOf(core.EventDLR)
	if len(dlr) != 1 || dlr[0].SMSCID != "0A1B" || dlr[0].Status != core.StatusDelivered || dlr[0].Phone != "84912345678" {
		t.Fatalf("dlr events %+v", dlr)
	}
}

// Defect 2: submits are pipelined up to the window and wait (not fail)
// when it is full.
func TestWindowPipelinesAndWaits(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	g := newTestGateway(t, oneBind(p, func(b *BindConfig) { b.Window = 4 }), q)
	for i := range 10 {
		q.put(newMsg(fmt.Sprintf("m%02d", i), "viettel", core.KindNotice, "hi"))
	}
	startGateway(t, g)
	c := p.accept(t)
	var seqs []uint32
	for range 4 {
		s, _ := c.submit()
		seqs = append(seqs, s)
	}
	c.nothing(200 * time.Millisecond) // window full: the fifth waits
	if st := g.Binds()[0]; st.InFlight != 4 || st.State != StateBound {
		t.Fatalf("bind status %+v", st)
	}
	c.respond(seqs[0], StatusOK, "id0")
	s5, _ := c.submit()
	seqs = append(seqs[1:], s5)
	c.nothing(100 * time.Millisecond)
	for n := 1; len(seqs) > 0; n++ {
		c.respond(seqs[0], StatusOK, fmt.Sprint("id", n))
		seqs = seqs[1:]
		if n <= 5 {
			s, _ := c.submit()
			seqs = append(seqs, s)
		}
	}
	q.waitDone(t, 10, 5*time.Second)
	if q.leases != 10 || q.retries != 0 {
		t.Fatalf("leases %d retries %d", q.leases, q.retries)
	}
}

// Defect 3: no response within ResponseTimeout → unknown, never resent; a
// late response still settles the part.
func TestResponseTimeoutUnknownThenLateResp(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	g := newTestGateway(t, oneBind(p, func(b *BindConfig) { b.ResponseTimeout = 150 * time.Millisecond }), q)
	q.put(newMsg("m1", "viettel", core.KindNotice, "hello"))
	startGateway(t, g)
	c := p.accept(t)
	seq, _ := c.submit()
	q.waitDone(t, 1, 3*time.Second)
	unk := q.eventsOf(core.EventUnknown)
	if len(unk) != 1 || unk[0].MessageID != "m1" || unk[0].ErrorCode != "no_response" {
		t.Fatalf("unknown events %+v", unk)
	}
	c.nothing(400 * time.Millisecond) // never resent
	c.respond(seq, StatusOK, "LATE1")
	q.waitFor(t, 3*time.Second, "late submitted", func(q *memQueue) bool { return q.countEvents(core.EventSubmitted) == 1 })
	if ev := q.eventsOf(core.EventSubmitted)[0]; ev.SMSCID != "LATE1" || ev.Part != 1 {
		t.Fatalf("late event %+v", ev)
	}
	if q.leases != 1 {
		t.Fatalf("leased %d times", q.leases)
	}
}

// Defect 4: the reader never waits for the store; deliver_sm_resp for a
// DLR goes out only after Record returned.
func TestDLRRespAfterRecordAndReaderNotBlocked(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	q.recordGate = make(chan struct{})
	g := newTestGateway(t, oneBind(p, nil), q)
	startGateway(t, g)
	c := p.accept(t)
	c.write(deliverSM(100, "84912345678", "VneID", 0x04, 0, dlrText("77", "UNDELIV")))
	c.write(appendEmpty(nil, cmdEnquireLink, 0, 101))
	h, _ := c.read()
	if h.ID != cmdEnquireLinkResp || h.Seq != 101 {
		t.Fatalf("got %#x seq %d, want enquire_link_resp 101 while Record waits", h.ID, h.Seq)
	}
	c.nothing(200 * time.Millisecond) // no deliver_sm_resp before Record
	close(q.recordGate)
	h, _ = c.next()
	if h.ID != cmdDeliverSMResp || h.Seq != 100 || h.Status != 0 {
		t.Fatalf("got %#x seq %d status %d", h.ID, h.Seq, h.Status)
	}
	if ev := q.eventsOf(core.EventDLR); len(ev) != 1 || ev[0].Status != core.StatusUndeliverable || ev[0].SMSCID != "77" {
		t.Fatalf("dlr events %+v", ev)
	}
}

// A DLR that could not be recorded is answered with a system error so the
// SMSC sends it again.
func TestDLRRecordFailureAsksForRedelivery(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	q.recordErr = core.Errorf(core.EUNAVAILABLE, "disk full")
	g := newTestGateway(t, oneBind(p, nil), q)
	startGateway(t, g)
	c := p.accept(t)
	c.write(deliverSM(9, "84912345678", "VneID", 0x04, 0, dlrText("77", "DELIVRD")))
	h, _ := c.next()
	if h.ID != cmdDeliverSMResp || h.Seq != 9 || CommandStatus(h.Status) != StatusSystemError {
		t.Fatalf("got %#x seq %d status %#x", h.ID, h.Seq, h.Status)
	}
}

// Defect 5: unknown or undecodable PDUs get generic_nack and the bind
// keeps working.
func TestUnknownPDUsGetGenericNack(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	g := newTestGateway(t, oneBind(p, nil), q)
	startGateway(t, g)
	c := p.accept(t)
	broken := deliverSM(53, "849", "x", 0, 0, []byte("abc"))
	broken = finish(broken[:len(broken)-2], 0) // short_message cut short
	for _, f := range [][]byte{
		appendEmpty(nil, cmdDataSM, 0, 50),
		appendEmpty(nil, cmdAlertNotification, 0, 51),
		appendEmpty(nil, 0x0000FFFF, 0, 52),
		broken,
	} {
		c.write(f)
		h, _ := c.next()
		if h.ID != cmdGenericNack || h.Seq != parseHeader(f).Seq || h.Status == 0 {
			t.Fatalf("for %#x got %#x seq %d status %#x", parseHeader(f).ID, h.ID, h.Seq, h.Status)
		}
	}
	// an unsolicited response is ignored
	c.write(submitResp(999, StatusOK, "x"))
	q.put(newMsg("m1", "viettel", core.KindNotice, "still bound"))
	seq, _ := c.submit()
	c.respond(seq, StatusOK, "1")
	q.waitDone(t, 1, 5*time.Second)
	if g.BindsUp() != 1 {
		t.Fatalf("binds up %d", g.BindsUp())
	}
}

// A frame length outside 16..64 KiB cannot be resynchronised: the session
// ends and the bind reconnects.
func TestBadFrameLengthReconnects(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	g := newTestGateway(t, oneBind(p, nil), q)
	startGateway(t, g)
	c := p.accept(t)
	c.write([]byte{0, 0x10, 0, 0, 0, 0, 0, 4}) // 1 MiB
	p.accept(t)
}

// Defect 6: sequence numbers wrap from 0x7FFFFFFF to 1.
func TestSequenceWraps(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	g := newTestGateway(t, oneBind(p, nil), q)
	g.seqStart = 0x7FFFFFFD // bind uses ...FE
	for i := range 3 {
		q.put(newMsg(fmt.Sprint("m", i), "viettel", core.KindNotice, "hi"))
	}
	startGateway(t, g)
	c := p.accept(t)
	var got []uint32
	for range 3 {
		s, _ := c.submit()
		got = append(got, s)
		c.respond(s, StatusOK, fmt.Sprint(s))
	}
	if got[0] != 0x7FFFFFFF || got[1] != 1 || got[2] != 2 {
		t.Fatalf("sequence numbers %#x", got)
	}
	q.waitDone(t, 3, 5*time.Second)
}

func TestNextSeqSkipsOutstanding(t *testing.T) {
	s := &session{seq: maxSeq, inflight: map[uint32]*pendingReq{1: {}, 2: {}}}
	if got := s.nextSeqLocked(); got != 3 {
		t.Fatalf("got %d", got)
	}
}

// Defect 7 and the submit_sm fields: text goes through core.EncodeText
// (GSM-7 unpacked or UCS-2), never UTF-8.
func TestSubmitFieldsAndEncoding(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	g := newTestGateway(t, oneBind(p, nil), q)
	otp := otpMsg("otp", "viettel")
	otp.Text = "Ma OTP: 123456 @ €"
	viet := newMsg("uc", "viettel", core.KindNotice, "Nguyễn Văn An")
	long := newMsg("long", "viettel", core.KindApproval, approvalText)
	// The OTP goes first, alone: the express sender sends it, concurrently
	// with the main sender's lanes.
	q.put(otp)
	startGateway(t, g)
	c := p.accept(t)

	s, b := c.submit()
	f := b.Fields()
	check := func(name pdufield.Name, want string) {
		t.Helper()
		if got := f[name].String(); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	check(pdufield.SourceAddr, "VneID")
	check(pdufield.SourceAddrTON, "5")
	check(pdufield.SourceAddrNPI, "0")
	check(pdufield.DestinationAddr, "84912345678")
	check(pdufield.DestAddrTON, "1")
	check(pdufield.DestAddrNPI, "1")
	check(pdufield.RegisteredDelivery, "1")
	check(pdufield.PriorityFlag, "1")
	check(pdufield.ESMClass, "0")
	check(pdufield.DataCoding, "0")
	check(pdufield.ValidityPeriod, "000000000500000R")
	wantSM := append([]byte("Ma OTP: 123456 "), 0x00, ' ', 0x1B, 0x65)
	if got := f[pdufield.ShortMessage].Bytes(); string(got) != string(wantSM) {
		t.Errorf("short_message % x, want % x", got, wantSM)
	}
	c.respond(s, StatusOK, "1")
	q.put(viet)
	q.put(long)

	s, b = c.submit()
	f = b.Fields()
	check(pdufield.DataCoding, "8")
	check(pdufield.PriorityFlag, "0")
	check(pdufield.ValidityPeriod, "")
	enc, _ := core.EncodeText("Nguyễn Văn An", 7)
	if got := f[pdufield.ShortMessage].Bytes(); string(got) != string(enc.Parts[0]) || got[0] != 0 || got[1] != 'N' {
		t.Errorf("ucs2 short_message % x", got)
	}
	c.respond(s, StatusOK, "2")

	for part := 1; part <= 2; part++ {
		s, b = c.submit()
		f = b.Fields()
		check(pdufield.ESMClass, "64")
		sm := f[pdufield.ShortMessage].Bytes()
		if len(sm) < 6 || sm[0] != 5 || sm[3] != 7 || sm[4] != 2 || int(sm[5]) != part {
			t.Errorf("part %d udh % x", part, sm[:min(6, len(sm))])
		}
		c.respond(s, StatusOK, fmt.Sprint("L", part))
	}
	q.waitDone(t, 3, 5*time.Second)
}

// Defect 8: a retry sends only the parts not yet accepted.
func TestRetrySendsOnlyQueuedParts(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	g := newTestGateway(t, oneBind(p, nil), q)
	q.put(newMsg("long", "viettel", core.KindApproval, approvalText))
	startGateway(t, g)
	c := p.accept(t)
	s1, _ := c.submit()
	s2, b2 := c.submit()
	c.respond(s1, StatusOK, "P1")
	c.respond(s2, StatusThrottled, "")
	s3, b3 := c.submit()
	if got, want := b3.Fields()[pdufield.ShortMessage].Bytes(), b2.Fields()[pdufield.ShortMessage].Bytes(); string(got) != string(want) {
		t.Fatalf("retry sent % x, want part 2 % x", got[:6], want[:6])
	}
	c.respond(s3, StatusOK, "P2")
	q.waitDone(t, 1, 5*time.Second)
	c.nothing(150 * time.Millisecond)
	if n := q.submittedBy[partKey{"long", 1}] + q.submittedBy[partKey{"long", 2}]; n != 2 || q.retries != 1 {
		t.Fatalf("submitted %v retries %d", q.submittedBy, q.retries)
	}
}

// A message leased with part 1 already submitted (a restart) sends part 2 only.
func TestRestartSkipsSettledParts(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	g := newTestGateway(t, oneBind(p, nil), q)
	m := newMsg("long", "viettel", core.KindApproval, approvalText)
	m.Parts = []core.PartState{{Status: core.StatusUnknown}, {Status: core.StatusQueued}}
	q.put(m)
	startGateway(t, g)
	c := p.accept(t)
	s, b := c.submit()
	if sm := b.Fields()[pdufield.ShortMessage].Bytes(); sm[5] != 2 {
		t.Fatalf("sent part %d", sm[5])
	}
	c.respond(s, StatusOK, "P2")
	q.waitDone(t, 1, 5*time.Second)
	c.nothing(100 * time.Millisecond)
}

func TestStatusOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		statuses []CommandStatus
		want     core.EventKind
		code     string
	}{
		{"invalid destination is final", []CommandStatus{StatusInvalidDest}, core.EventRejected, "smpp_0x0B"},
		{"system error retried then ok", []CommandStatus{StatusSystemError, StatusOK}, core.EventSubmitted, ""},
		{"queue full retried", []CommandStatus{StatusQueueFull, StatusQueueFull, StatusOK}, core.EventSubmitted, ""},
		{"system errors exhaust attempts", []CommandStatus{StatusSubmitFailed, StatusSystemError, StatusTempAppError}, core.EventRejected, "max_attempts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPeer(t)
			q := newMemQueue()
			cfg := oneBind(p, nil)
			cfg.MaxAttempts = 3
			g := newTestGateway(t, cfg, q)
			q.put(newMsg("m", "viettel", core.KindNotice, "hi"))
			startGateway(t, g)
			c := p.accept(t)
			for i, st := range tc.statuses {
				s, _ := c.submit()
				c.respond(s, st, fmt.Sprint("id", i))
			}
			q.waitDone(t, 1, 5*time.Second)
			ev := q.eventsOf(tc.want)
			if len(ev) != 1 || ev[0].ErrorCode != tc.code {
				t.Fatalf("events %+v", q.events)
			}
			c.nothing(50 * time.Millisecond)
		})
	}
}

// A dropped connection turns outstanding parts unknown (never resent) and
// the bind reconnects.
func TestConnectionLossMarksInFlightUnknown(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	g := newTestGateway(t, oneBind(p, nil), q)
	q.put(newMsg("m1", "viettel", core.KindNotice, "hello"))
	startGateway(t, g)
	c := p.accept(t)
	c.submit()
	_ = c.c.Close()
	c2 := p.accept(t)
	q.waitDone(t, 1, 5*time.Second)
	if ev := q.eventsOf(core.EventUnknown); len(ev) != 1 || ev[0].ErrorCode != "connection_lost" {
		t.Fatalf("events %+v", q.events)
	}
	c2.nothing(150 * time.Millisecond)
}

func TestEnquireLinkWhenIdleAndUnbindOnStop(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	g := newTestGateway(t, oneBind(p, func(b *BindConfig) { b.EnquireLink = 50 * time.Millisecond }), q)
	stop := startGateway(t, g)
	c := p.accept(t)
	h, _ := c.read()
	if h.ID != cmdEnquireLink {
		t.Fatalf("got %#x, want enquire_link", h.ID)
	}
	c.write(appendEmpty(nil, cmdEnquireLinkResp, 0, h.Seq))
	go func() {
		for {
			h, _, err := c.readWithin(3 * time.Second)
			if err != nil {
				return
			}
			switch h.ID {
			case cmdEnquireLink:
				c.c.Write(appendEmpty(nil, cmdEnquireLinkResp, 0, h.Seq))
			case cmdUnbind:
				c.c.Write(appendEmpty(nil, cmdUnbindResp, 0, h.Seq))
				c.c.Close()
				return
			}
		}
	}()
	stop()
	st := g.Binds()[0]
	if st.State != StateStopped || g.BindsUp() != 0 {
		t.Fatalf("after stop: %+v", st)
	}
}

// An enquire_link that gets no answer ends the session.
func TestEnquireLinkTimeoutReconnects(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	g := newTestGateway(t, oneBind(p, func(b *BindConfig) {
		b.EnquireLink = 30 * time.Millisecond
		b.ResponseTimeout = 60 * time.Millisecond
	}), q)
	startGateway(t, g)
	p.accept(t) // never answers
	p.accept(t)
}

func TestBindRefusedBacksOff(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	g := newTestGateway(t, oneBind(p, nil), q)
	startGateway(t, g)
	for range 2 {
		select {
		case c := <-p.conns:
			pc := &pconn{t: t, c: c, br: newBufReader(c)}
			h, _ := pc.read()
			pc.write(appendEmpty(nil, h.ID|respBit, uint32(StatusInvalidPassword), h.Seq))
		case <-time.After(5 * time.Second):
			t.Fatal("no reconnect after a refused bind")
		}
	}
	if st := g.Binds()[0]; st.State == StateBound {
		t.Fatalf("state %s", st.State)
	}
}

// USSD over SMPP with the scripted peer: the reply carries the session
// info and the right op; without a handler the request is only acked.
func TestUSSDScripted(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	g := newTestGateway(t, oneBind(p, nil), q)
	startGateway(t, g)
	c := p.accept(t)
	req := func(seq uint32) []byte {
		return deliverSM(seq, "84912345678", "*368#", 0, 0, []byte("1"),
			tlv(tagUSSDServiceOp, []byte{1}), tlv(tagITSSessionInfo, []byte{0x12, 0x34}), tlv(tagUserMessageReference, []byte{0, 9}))
	}
	c.write(req(5))
	if h, _ := c.next(); h.ID != cmdDeliverSMResp || h.Seq != 5 {
		t.Fatalf("got %#x", h.ID)
	}
	c.nothing(100 * time.Millisecond)

	got := make(chan USSDInbound, 1)
	g.SetUSSDHandler(USSDHandlerFunc(func(ctx context.Context, in USSDInbound) (USSDReply, error) {
		got <- in
		return USSDReply{Text: "1. Kich hoat", Continue: true}, nil
	}))
	c.write(req(6))
	if h, _ := c.next(); h.ID != cmdDeliverSMResp || h.Seq != 6 {
		t.Fatalf("got %#x", h.ID)
	}
	in := <-got
	if in.Phone != "84912345678" || in.ServiceCode != "*368#" || in.Text != "1" || in.Op != 1 || in.SessionID != 0x1234 || in.UserMessageReference != 9 || in.Operator != "viettel" {
		t.Fatalf("inbound %+v", in)
	}
	s, b := c.submit()
	f, tl := b.Fields(), b.TLVFields()
	if f[pdufield.SourceAddr].String() != "*368#" || f[pdufield.DestinationAddr].String() != "84912345678" || string(f[pdufield.ShortMessage].Bytes()) != "1. Kich hoat" {
		t.Fatalf("reply fields %v", f)
	}
	if op := tl[pdutlv.TagUssdServiceOp].Bytes(); len(op) != 1 || op[0] != USSDOpContinue {
		t.Fatalf("ussd op % x", op)
	}
	if si := tl[pdutlv.TagItsSessionInfo].Bytes(); binary.BigEndian.Uint16(si) != 0x1234 {
		t.Fatalf("session info % x", si)
	}
	c.respond(s, StatusOK, "u1")
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.events) != 0 {
		t.Fatalf("USSD produced queue events %+v", q.events)
	}
}

func newBufReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

// Outcomes that cannot be recorded are retried until the store takes them;
// nothing is resent meanwhile.
func TestRecordFailureIsRetried(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	q.recordFails = 5
	g := newTestGateway(t, oneBind(p, nil), q)
	q.put(newMsg("m1", "viettel", core.KindNotice, "hello"))
	startGateway(t, g)
	c := p.accept(t)
	s, _ := c.submit()
	c.respond(s, StatusOK, "X1")
	q.waitDone(t, 1, 10*time.Second)
	c.nothing(100 * time.Millisecond)
	if ev := q.eventsOf(core.EventSubmitted); len(ev) != 1 || ev[0].SMSCID != "X1" {
		t.Fatalf("events %+v", ev)
	}
}

// An unbind from the SMSC is answered and the bind comes back.
func TestSMSCUnbindReconnects(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	g := newTestGateway(t, oneBind(p, nil), q)
	startGateway(t, g)
	c := p.accept(t)
	c.write(appendEmpty(nil, cmdUnbind, 0, 31))
	if h, _ := c.next(); h.ID != cmdUnbindResp || h.Seq != 31 {
		t.Fatalf("got %#x seq %d", h.ID, h.Seq)
	}
	_ = c.c.Close()
	c2 := p.accept(t)
	q.put(newMsg("m1", "viettel", core.KindNotice, "after unbind"))
	s, _ := c2.submit()
	c2.respond(s, StatusOK, "1")
	q.waitDone(t, 1, 5*time.Second)
}

// A receipt for part 1 that comes before part 2's submit_sm_resp is held
// by the completer and recorded after the message's submit events, in the
// same Record, naming its message and part; its deliver_sm_resp goes out
// only then.
func TestEarlyDLRRecordedAfterItsSubmits(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	g := newTestGateway(t, oneBind(p, nil), q)
	startGateway(t, g)
	c := p.accept(t)
	q.put(newMsg("m2", "viettel", core.KindApproval, approvalText)) // 2 parts
	seq1, _ := c.submit()
	seq2, _ := c.submit()
	c.respond(seq1, StatusOK, "a1")
	c.write(deliverSM(40, "84912345678", "VneID", 0x04, 0, dlrText("a1", "DELIVRD")))
	c.nothing(300 * time.Millisecond) // no deliver_sm_resp while part 2 is open
	c.respond(seq2, StatusOK, "a2")
	h, _ := c.next()
	if h.ID != cmdDeliverSMResp || h.Seq != 40 || h.Status != 0 {
		t.Fatalf("got %#x seq %d status %#x, want deliver_sm_resp 40 OK", h.ID, h.Seq, h.Status)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	var kinds []string
	for _, e := range q.events {
		kinds = append(kinds, fmt.Sprintf("%d/%s/%d", e.Kind, e.MessageID, e.Part))
	}
	want := []string{
		fmt.Sprintf("%d/m2/1", core.EventSubmitted),
		fmt.Sprintf("%d/m2/2", core.EventSubmitted),
		fmt.Sprintf("%d/m2/1", core.EventDLR),
	}
	if !slices.Equal(kinds, want) {
		t.Fatalf("recorded %v, want %v", kinds, want)
	}
}

// The main sender keeps an eighth of the window free: with the window full
// of approvals the SMSC has not answered, an OTP is still submitted at once.
func TestOTPGetsWindowWhileApprovalsFillIt(t *testing.T) {
	p := newPeer(t)
	q := newMemQueue()
	for i := range 40 {
		m := newMsg(fmt.Sprintf("a%03d", i), "viettel", core.KindApproval, "short approval")
		m.To = fmt.Sprintf("849%08d", i)
		q.put(m)
	}
	g := newTestGateway(t, oneBind(p, func(b *BindConfig) { b.Window = 16 }), q)
	startGateway(t, g)
	c := p.accept(t)
	var held []uint32
	for range 16 - expressReserve(16) {
		seq, body := c.submit()
		if to := body.Fields()["destination_addr"].String(); to == "84987654321" {
			t.Fatal("OTP before the approvals filled their share")
		}
		held = append(held, seq)
	}
	c.nothing(200 * time.Millisecond) // the main sender's share is full
	otp := otpMsg("otp-1", "viettel")
	otp.To = "84987654321"
	q.put(otp)
	seq, body := c.submit()
	if to := body.Fields()["destination_addr"].String(); to != "84987654321" {
		t.Fatalf("got a submit to %s, want the OTP", to)
	}
	c.respond(seq, StatusOK, "otp1")
	for i, s := range held {
		c.respond(s, StatusOK, fmt.Sprintf("a%d", i))
	}
}
