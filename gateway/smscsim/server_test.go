package smscsim

import (
	"context"
	"encoding/binary"
	"math"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"vneidgw/core"
)

const (
	wait  = 3 * time.Second
	phone = "84912345678"
)

func bound(t *testing.T, s *Server, id uint32) *testClient {
	t.Helper()
	return boundAck(t, s, id, false)
}

// boundAck binds a client that answers every deliver_sm when autoAck is set.
func boundAck(t *testing.T, s *Server, id uint32, autoAck bool) *testClient {
	t.Helper()
	c := dial(t, s.Addr())
	c.autoAck.Store(autoAck)
	if st := c.bind(id, "vneid", "secret"); st != 0 {
		t.Fatalf("bind status 0x%x", st)
	}
	return c
}

func TestBind(t *testing.T) {
	s := startServer(t, Config{SystemID: "vneid", Password: "secret"})
	tests := []struct {
		name       string
		id         uint32
		sys, pw    string
		wantStatus uint32
	}{
		{"transceiver", idBindTransceiver, "vneid", "secret", 0},
		{"transmitter", idBindTransmitter, "vneid", "secret", 0},
		{"receiver", idBindReceiver, "vneid", "secret", 0},
		{"bad password", idBindTransceiver, "vneid", "wrong", statusInvPaswd},
		{"bad system id", idBindTransceiver, "other", "secret", statusInvSysID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, s.Addr())
			if st := c.bind(tt.id, tt.sys, tt.pw); st != tt.wantStatus {
				t.Fatalf("status 0x%x, want 0x%x", st, tt.wantStatus)
			}
			if tt.wantStatus != 0 {
				// The connection stays usable: a correct bind follows.
				if st := c.bind(tt.id, "vneid", "secret"); st != 0 {
					t.Fatalf("rebind status 0x%x", st)
				}
			}
			if st := c.bind(tt.id, "vneid", "secret"); st != statusAlyBnd {
				t.Fatalf("second bind status 0x%x, want already bound", st)
			}
		})
	}
	if st := s.Stats(); st.Binds != 5 {
		t.Fatalf("Binds = %d, want 5", st.Binds)
	}
}

func TestSubmitBeforeBindAndReceiverSubmit(t *testing.T) {
	s := startServer(t, Config{})
	c := dial(t, s.Addr())
	seq := c.submit(testSM{dst: phone, sm: []byte("x")})
	r := c.expect(idSubmitSMResp, wait)
	if r.h.Seq != seq || r.h.Status != statusInvBndSts {
		t.Fatalf("resp seq %d status 0x%x", r.h.Seq, r.h.Status)
	}
	rx := bound(t, s, idBindReceiver)
	rx.submit(testSM{dst: phone, sm: []byte("x")})
	if r := rx.expect(idSubmitSMResp, wait); r.h.Status != statusInvBndSts {
		t.Fatalf("receiver submit status 0x%x", r.h.Status)
	}
}

func encode(t *testing.T, text string, ref uint8) core.Encoded {
	t.Helper()
	e, err := core.EncodeText(text, ref)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestSubmitReassembly(t *testing.T) {
	approval := "Cuc Canh sat QLHC ve TTXH thong bao: Ho so dang ky tai khoan dinh danh dien tu cua cong dan NGUYEN VAN AN da duoc phe duyet. De nghi truy cap ung dung VNeID hoac dia chi https://vneid.gov.vn de kich hoat tai khoan."
	tests := []struct {
		name      string
		text      string
		wantParts int
		wantDC    uint8
		reverse   bool
	}{
		{"gsm7 single", "Ma OTP VNeID cua ban la 123456 {het han sau 5 phut}", 1, 0, false},
		{"gsm7 two parts", approval, 2, 0, false},
		{"gsm7 two parts out of order", approval, 2, 0, true},
		{"ucs2 single", "Mã kích hoạt VNeID: 123456", 1, 8, false},
		{"ucs2 two parts", strings.Repeat("Định danh điện tử ", 5), 2, 8, false},
	}
	s := startServer(t, Config{})
	c := bound(t, s, idBindTransmitter)
	var want uint64
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to := "8491000000" + strconv.Itoa(i)
			e := encode(t, tt.text, uint8(40+i))
			if len(e.Parts) != tt.wantParts || uint8(e.Coding) != tt.wantDC {
				t.Fatalf("encoded %d parts coding %d", len(e.Parts), e.Coding)
			}
			var esm uint8
			if e.UDH {
				esm = 0x40
			}
			parts := e.Parts
			if tt.reverse {
				parts = []([]byte){parts[1], parts[0]}
			}
			for _, p := range parts {
				c.submit(testSM{dst: to, esm: esm, dc: uint8(e.Coding), sm: p, rd: 1, validity: "000000050000000R"})
				if r := c.expect(idSubmitSMResp, wait); r.h.Status != 0 || fieldStr(r, pdufield.MessageID) == "" {
					t.Fatalf("resp status 0x%x id %q", r.h.Status, fieldStr(r, pdufield.MessageID))
				}
			}
			want++
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if err := s.WaitMessages(ctx, want); err != nil {
				t.Fatal(err)
			}
			in := s.Inbox(to)
			if len(in) != 1 {
				t.Fatalf("inbox has %d messages", len(in))
			}
			m := in[0]
			if m.Text != tt.text || m.Parts != tt.wantParts || m.DataCoding != tt.wantDC || m.From != "VneID" ||
				m.To != to || m.ValidityPeriod != "000000050000000R" || m.RegisteredDelivery != 1 {
				t.Fatalf("inbox message %+v", m)
			}
		})
	}
	st := s.Stats()
	if st.Parts != 8 || st.Submits != 8 || st.Messages != 5 || st.Duplicates != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDuplicatesAndInboxBound(t *testing.T) {
	s := startServer(t, Config{})
	c := bound(t, s, idBindTransmitter)
	for i := 0; i < maxInboxPerPhone+5; i++ {
		c.submit(testSM{dst: phone, sm: []byte("msg " + strconv.Itoa(i))})
	}
	c.submit(testSM{dst: phone, sm: []byte("msg 0")})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.WaitMessages(ctx, maxInboxPerPhone+6); err != nil {
		t.Fatal(err)
	}
	in := s.Inbox(phone)
	if len(in) != maxInboxPerPhone {
		t.Fatalf("inbox len %d", len(in))
	}
	if in[0].Text != "msg 6" || in[len(in)-1].Text != "msg 0" {
		t.Fatalf("inbox order: first %q last %q", in[0].Text, in[len(in)-1].Text)
	}
	if d := s.Stats().Duplicates; d != 1 {
		t.Fatalf("Duplicates = %d", d)
	}
	if s.Inbox("84999999999") != nil {
		t.Fatal("inbox of an unknown phone")
	}
}

var receiptRE = regexp.MustCompile(`^id:(\S+) sub:001 dlvrd:(\d{3}) submit date:\d{10} done date:\d{10} stat:(\w+) err:(\d{3}) text:(.*)$`)

func TestDLR(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		rd        uint8
		wantDLR   bool
		wantStat  string
		wantState uint8
		tlvOnly   bool
	}{
		{"hex delivered", Config{}, 1, true, "DELIVRD", 2, false},
		{"decimal ids", Config{IDFormat: "decimal"}, 1, true, "DELIVRD", 2, false},
		{"hex resp decimal dlr", Config{IDFormat: "hex", DLRIDFormat: "decimal"}, 1, true, "DELIVRD", 2, false},
		{"decimal resp hex dlr", Config{IDFormat: "decimal", DLRIDFormat: "hex"}, 1, true, "DELIVRD", 2, false},
		{"undeliverable", Config{Faults: Faults{UndelivShare: 1}}, 1, true, "UNDELIV", 5, false},
		{"tlv only", Config{Faults: Faults{DLRTLVOnly: true}}, 1, true, "DELIVRD", 2, true},
		{"no receipt asked", Config{}, 0, false, "", 0, false},
		{"failure only, delivered", Config{}, 2, false, "", 0, false},
		{"failure only, failed", Config{Faults: Faults{UndelivShare: 1}}, 2, true, "UNDELIV", 5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, tt.cfg)
			c := bound(t, s, idBindTransceiver)
			c.autoAck.Store(true)
			c.submit(testSM{dst: phone, rd: tt.rd, sm: []byte("Ma OTP cua ban la 123456, het han sau 5 phut")})
			r := c.expect(idSubmitSMResp, wait)
			respID := fieldStr(r, pdufield.MessageID)
			if !tt.wantDLR {
				c.quiet(100 * time.Millisecond)
				return
			}
			d := c.expect(idDeliverSM, wait)
			dlrID := strings.TrimSuffix(string(tlvBytes(d, tagReceiptedMsgID)), "\x00")
			if n1, n2 := parseID(t, respID, s.respHex), parseID(t, dlrID, s.dlrHex); n1 != n2 {
				t.Fatalf("resp id %q and DLR id %q differ", respID, dlrID)
			}
			if st := tlvBytes(d, tagMessageState); len(st) != 1 || st[0] != tt.wantState {
				t.Fatalf("message_state %v", st)
			}
			if fieldStr(d, pdufield.SourceAddr) != phone || fieldStr(d, pdufield.DestinationAddr) != "VneID" {
				t.Fatalf("DLR addresses %q -> %q", fieldStr(d, pdufield.SourceAddr), fieldStr(d, pdufield.DestinationAddr))
			}
			if esm := d.body.Fields()[pdufield.ESMClass].Raw().(uint8); esm != 0x04 {
				t.Fatalf("esm_class 0x%x", esm)
			}
			text := fieldStr(d, pdufield.ShortMessage)
			if tt.tlvOnly {
				if text != "" {
					t.Fatalf("TLV-only DLR has text %q", text)
				}
			} else {
				m := receiptRE.FindStringSubmatch(text)
				if m == nil {
					t.Fatalf("receipt text %q", text)
				}
				if m[1] != dlrID || m[3] != tt.wantStat || m[5] != "Ma OTP cua ban la 12" {
					t.Fatalf("receipt fields %q", m[1:])
				}
				if wantErr := map[string]string{"DELIVRD": "000", "UNDELIV": "001"}[tt.wantStat]; m[4] != wantErr {
					t.Fatalf("err:%s", m[4])
				}
			}
			waitFor(t, func() bool { return s.Stats().DLRsAcked == 1 })
			if st := s.Stats(); st.DLRsSent != 1 {
				t.Fatalf("DLRsSent %d", st.DLRsSent)
			}
		})
	}
}

func parseID(t *testing.T, id string, hex bool) uint64 {
	t.Helper()
	base := 10
	if hex {
		base = 16
	}
	n, err := strconv.ParseUint(id, base, 64)
	if err != nil {
		t.Fatalf("id %q: %v", id, err)
	}
	return n
}

// waitFor polls cond (bounded) for state the test cannot be signalled about.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDLRRoutingToReceiverBind(t *testing.T) {
	s := startServer(t, Config{SystemID: "vneid", Password: "secret"})
	tx := bound(t, s, idBindTransmitter)
	tx.submit(testSM{dst: phone, rd: 1, sm: []byte("hello")})
	tx.expect(idSubmitSMResp, wait)
	tx.quiet(100 * time.Millisecond) // a transmitter never gets a DLR
	// Pending until a receiver binds.
	rx := boundAck(t, s, idBindReceiver, true)
	d := rx.expect(idDeliverSM, wait)
	if !strings.Contains(fieldStr(d, pdufield.ShortMessage), "stat:DELIVRD") {
		t.Fatalf("DLR %q", fieldStr(d, pdufield.ShortMessage))
	}
	// With a receiver bound, the next DLR goes straight to it.
	tx.submit(testSM{dst: phone, rd: 1, sm: []byte("again")})
	rx.expect(idDeliverSM, wait)
	waitFor(t, func() bool { return s.Stats().DLRsAcked == 2 })
}

func TestDLRRetransmit(t *testing.T) {
	s := startServer(t, Config{}, func(s *Server) { s.dlrRetry = 50 * time.Millisecond })
	c := bound(t, s, idBindTransceiver)
	c.submit(testSM{dst: phone, rd: 1, sm: []byte("hello")})
	c.expect(idSubmitSMResp, wait)
	var seqs []uint32
	for i := 0; i < 1+maxDLRRetransmits; i++ {
		d := c.expect(idDeliverSM, wait)
		seqs = append(seqs, d.h.Seq)
	}
	c.quiet(300 * time.Millisecond)
	if st := s.Stats(); st.DLRsSent != 1+maxDLRRetransmits || st.DLRsAcked != 0 {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("DLR sent with seqs %v", seqs)
}

func TestDLRRedeliveredAfterDrop(t *testing.T) {
	s := startServer(t, Config{})
	c := bound(t, s, idBindTransceiver)
	c.submit(testSM{dst: phone, rd: 1, sm: []byte("hello")})
	c.expect(idDeliverSM, wait) // not acknowledged
	s.DropConnections()
	c.quiet(time.Second) // drains to EOF
	waitFor(t, func() bool { return s.Stats().BoundNow == 0 })
	c2 := boundAck(t, s, idBindTransceiver, true)
	c2.expect(idDeliverSM, wait)
	waitFor(t, func() bool { return s.Stats().DLRsAcked == 1 })
	if st := s.Stats(); st.BoundNow != 1 || st.Binds != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFaultShares(t *testing.T) {
	const n = 1000
	f := Faults{ThrottleShare: 0.2, QueueFullShare: 0.1, RejectShare: 0.1}
	s := startServer(t, Config{Faults: f})
	c := bound(t, s, idBindTransmitter)
	counts := map[uint32]int{}
	for i := 0; i < n; i++ {
		c.submit(testSM{dst: phone, sm: []byte("x" + strconv.Itoa(i))})
		if i%64 == 63 { // keep a window, as a real client does
			for j := 0; j < 64; j++ {
				counts[c.expect(idSubmitSMResp, wait).h.Status]++
			}
		}
	}
	for len := 0; len < n%64; len++ {
		counts[c.expect(idSubmitSMResp, wait).h.Status]++
	}
	for st, share := range map[uint32]float64{statusThrottled: 0.2, statusMsgQFul: 0.1, statusInvDstAdr: 0.1, statusOK: 0.6} {
		sd := math.Sqrt(n * share * (1 - share))
		if got := float64(counts[st]); math.Abs(got-n*share) > 4.5*sd {
			t.Errorf("status 0x%x: %v of %d, want about %v", st, got, n, n*share)
		}
	}
	st := s.Stats()
	if st.Submits != n || st.Throttled != uint64(counts[statusThrottled]+counts[statusMsgQFul]) ||
		st.Rejected != uint64(counts[statusInvDstAdr]) || st.Parts != uint64(counts[statusOK]) {
		t.Fatalf("stats %+v, counts %v", st, counts)
	}
}

func TestMaxTPS(t *testing.T) {
	const tps, n = 50, 150
	s := startServer(t, Config{Faults: Faults{MaxTPS: tps}})
	c := bound(t, s, idBindTransmitter)
	start := time.Now()
	for i := 0; i < n; i++ {
		c.submit(testSM{dst: phone, sm: []byte("x")})
	}
	ok := 0
	for i := 0; i < n; i++ {
		if c.expect(idSubmitSMResp, wait).h.Status == 0 {
			ok++
		}
	}
	// All n were sent within at most two one-second windows.
	if el := time.Since(start); el < 900*time.Millisecond && (ok < tps || ok > 2*tps) {
		t.Fatalf("%d accepted of %d at MaxTPS %d", ok, n, tps)
	}
	if got := s.Stats().Throttled; got != uint64(n-ok) {
		t.Fatalf("Throttled %d", got)
	}
}

func TestDLRBeforeRespAndSeqCollide(t *testing.T) {
	tests := []struct {
		name    string
		f       Faults
		collide bool
	}{
		{"before", Faults{DLRBeforeResp: 1}, false},
		{"before, colliding seq", Faults{DLRBeforeResp: 1, DLRSeqCollide: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, Config{Faults: tt.f})
			c := bound(t, s, idBindTransceiver)
			c.autoAck.Store(true)
			seq := c.submit(testSM{dst: phone, rd: 1, sm: []byte("hello")})
			first := c.next(wait)
			second := c.next(wait)
			if first.h.ID != idDeliverSM || second.h.ID != idSubmitSMResp || second.h.Seq != seq {
				t.Fatalf("order: 0x%x seq %d then 0x%x seq %d", first.h.ID, first.h.Seq, second.h.ID, second.h.Seq)
			}
			if tt.collide != (first.h.Seq == seq) {
				t.Fatalf("DLR seq %d, submit seq %d, collide %v", first.h.Seq, seq, tt.collide)
			}
			waitFor(t, func() bool { return s.Stats().DLRsAcked == 1 })
		})
	}
	t.Run("no response, colliding seq", func(t *testing.T) {
		s := startServer(t, Config{Faults: Faults{NoResponseShare: 1, DLRSeqCollide: true}})
		c := boundAck(t, s, idBindTransceiver, true)
		seq := c.submit(testSM{dst: phone, rd: 1, sm: []byte("hello")})
		if d := c.next(wait); d.h.ID != idDeliverSM || d.h.Seq != seq {
			t.Fatalf("got 0x%x seq %d, want deliver_sm seq %d", d.h.ID, d.h.Seq, seq)
		}
		c.quiet(100 * time.Millisecond)
		waitFor(t, func() bool { return s.Stats().DLRsAcked == 1 })
	})
}

func TestResponseDelayAndNoResponse(t *testing.T) {
	s := startServer(t, Config{Faults: Faults{ResponseDelay: 80 * time.Millisecond}})
	c := bound(t, s, idBindTransceiver)
	c.autoAck.Store(true)
	start := time.Now()
	c.submit(testSM{dst: phone, sm: []byte("a")})
	r := c.expect(idSubmitSMResp, wait)
	if d := r.at.Sub(start); d < 80*time.Millisecond {
		t.Fatalf("resp after %v", d)
	}
	s.SetFaults(Faults{NoResponseShare: 1})
	c.submit(testSM{dst: phone, rd: 1, sm: []byte("b")})
	d := c.expect(idDeliverSM, wait) // the DLR still comes
	if !strings.Contains(fieldStr(d, pdufield.ShortMessage), "stat:DELIVRD") {
		t.Fatal("no receipt")
	}
	c.quiet(150 * time.Millisecond) // and never a resp
	if st := s.Stats(); st.Parts != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestUnknownPDUsToClient(t *testing.T) {
	s := startServer(t, Config{Faults: Faults{UnknownPDUEvery: 2}})
	c := bound(t, s, idBindTransmitter)
	var got []uint32
	for i := 0; i < 6; i++ {
		c.submit(testSM{dst: phone, sm: []byte("x" + strconv.Itoa(i))})
	}
	for resps := 0; resps < 6; {
		f := c.next(wait)
		if f.h.ID == idSubmitSMResp {
			resps++
			continue
		}
		got = append(got, f.h.ID)
		// A client answers what it does not know with generic_nack.
		c.send(appendHeaderOnly(nil, idGenericNack, statusInvCmdID, f.h.Seq))
	}
	want := []uint32{idDataSM, idAlertNotif, idUnknownVendor}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("unknown PDUs %x, want %x", got, want)
	}
	waitFor(t, func() bool { return s.Stats().GenericNacksReceived == 3 })
}

func TestDropAfterSubmitsAndDropConnections(t *testing.T) {
	s := startServer(t, Config{Faults: Faults{DropAfterSubmits: 3}})
	c := bound(t, s, idBindTransceiver)
	for i := 0; i < 3; i++ {
		c.submit(testSM{dst: phone, sm: []byte("x" + strconv.Itoa(i))})
	}
	resps := 0
	for f := range c.in {
		if f.h.ID == idSubmitSMResp {
			resps++
		}
	}
	if resps != 2 {
		t.Fatalf("%d resps before the drop, want 2", resps)
	}
	s.SetFaults(Faults{})
	c2 := bound(t, s, idBindTransceiver)
	c3 := bound(t, s, idBindTransmitter)
	waitFor(t, func() bool { return s.Stats().BoundNow == 2 })
	s.DropConnections()
	for _, c := range []*testClient{c2, c3} {
		for range c.in { // ends at EOF
		}
	}
	waitFor(t, func() bool { return s.Stats().BoundNow == 0 })
	c4 := bound(t, s, idBindTransceiver) // the listener is still up
	c4.submit(testSM{dst: phone, sm: []byte("after")})
	if r := c4.expect(idSubmitSMResp, wait); r.h.Status != 0 {
		t.Fatalf("status 0x%x", r.h.Status)
	}
}

func TestMalformedPDUs(t *testing.T) {
	hdr := func(l, id, seq uint32) []byte {
		b := make([]byte, 16)
		binary.BigEndian.PutUint32(b[0:], l)
		binary.BigEndian.PutUint32(b[4:], id)
		binary.BigEndian.PutUint32(b[12:], seq)
		return b
	}
	truncatedSubmit := func() []byte {
		b := hdr(16+5, idSubmitSM, 7)
		return append(b, 0, 1, 1, '8', '4') // ends inside source_addr
	}
	tooLarge := func() []byte {
		b := hdr(maxFrame+100, idSubmitSM, 8)
		return append(b, make([]byte, maxFrame+100-16)...)
	}
	badUDH := func() []byte {
		b, at := beginPDU(nil, idSubmitSM, 0, 9)
		b = append(b, 0, 5, 0, 'V', 0, 1, 1)
		b = append(b, "84912345678"...)
		b = append(b, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0)
		b = append(b, 4, 0xff, 0x00) // sm_length 4, UDH length 255
		b = append(b, 1, 2)
		return endPDU(b, at)
	}
	tests := []struct {
		name       string
		frame      []byte
		wantID     uint32
		wantStatus uint32
		wantSeq    uint32
	}{
		{"length below header", hdr(10, idEnquireLink, 5), idGenericNack, statusInvCmdLen, 5},
		{"length above 64 KiB", tooLarge(), idGenericNack, statusInvCmdLen, 8},
		{"truncated submit", truncatedSubmit(), idGenericNack, statusInvCmdLen, 7},
		{"unknown command id", hdr(16, 0x0000abcd, 6), idGenericNack, statusInvCmdID, 6},
		{"query_sm unsupported", hdr(16, idQuerySM, 10), idGenericNack, statusInvCmdID, 10},
		{"tlv overrun", append(hdr(16+4, idEnquireLink, 11), 0x00, 0x1e, 0x00, 0x09), idEnquireLinkResp, 0, 11},
		{"bad udh length", badUDH(), 0, 0, 9},
		{"bind truncated", append(hdr(16+3, idBindTransceiver, 12), 'a', 'b', 'c'), idGenericNack, statusInvCmdLen, 12},
	}
	s := startServer(t, Config{})
	c := bound(t, s, idBindTransceiver)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.send(tt.frame)
			r := c.next(wait)
			if tt.wantID != 0 && (r.h.ID != tt.wantID || r.h.Status != tt.wantStatus) {
				t.Fatalf("got 0x%x status 0x%x, want 0x%x status 0x%x", r.h.ID, r.h.Status, tt.wantID, tt.wantStatus)
			}
			if r.h.Seq != tt.wantSeq {
				t.Fatalf("seq %d, want %d", r.h.Seq, tt.wantSeq)
			}
			// The bind is still up.
			c.send(appendHeaderOnly(nil, idEnquireLink, 0, 99))
			if r := c.next(wait); r.h.ID != idEnquireLinkResp || r.h.Seq != 99 {
				t.Fatalf("after malformed PDU: 0x%x seq %d", r.h.ID, r.h.Seq)
			}
		})
	}
}

func TestUSSD(t *testing.T) {
	s := startServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.SendUSSD(ctx, USSDRequest{Phone: phone, ServiceCode: "*368#", Text: "*368#", SessionID: 0x1234, Op: 1}); core.ErrorCode(err) != core.EUNAVAILABLE {
		t.Fatalf("no bind: %v", err)
	}
	c := bound(t, s, idBindTransceiver)
	errc := make(chan error, 1)
	go func() {
		errc <- s.SendUSSD(ctx, USSDRequest{Phone: phone, ServiceCode: "*368#", Text: "*368#", SessionID: 0x1234, Op: 1})
	}()
	d := c.expect(idDeliverSM, wait)
	if op := tlvBytes(d, tagUSSDServiceOp); len(op) != 1 || op[0] != 1 {
		t.Fatalf("ussd_service_op %v", op)
	}
	if si := tlvBytes(d, tagITSSessionInfo); len(si) != 2 || binary.BigEndian.Uint16(si) != 0x1234 {
		t.Fatalf("its_session_info %v", si)
	}
	if fieldStr(d, pdufield.SourceAddr) != phone || fieldStr(d, pdufield.DestinationAddr) != "*368#" ||
		fieldStr(d, pdufield.ShortMessage) != "*368#" {
		t.Fatalf("deliver_sm fields %q %q %q", fieldStr(d, pdufield.SourceAddr), fieldStr(d, pdufield.DestinationAddr), fieldStr(d, pdufield.ShortMessage))
	}
	c.send(appendHeaderOnly(nil, idDeliverSMResp, 0, d.h.Seq))
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	menu := "1 Kich hoat\n2 Trang thai"
	gsm, _ := core.EncodeGSM7(menu)
	c.submit(testSM{dst: phone, sm: gsm, tlvs: map[uint16][]byte{tagUSSDServiceOp: {3}, tagITSSessionInfo: {0x12, 0x34}}})
	if r := c.expect(idSubmitSMResp, wait); r.h.Status != 0 {
		t.Fatalf("status 0x%x", r.h.Status)
	}
	select {
	case r := <-s.USSDReplies():
		if r != (USSDReply{Phone: phone, Text: menu, SessionID: 0x1234, Op: 3}) {
			t.Fatalf("reply %+v", r)
		}
	case <-time.After(wait):
		t.Fatal("no USSD reply")
	}
	if st := s.Stats(); st.Submits != 0 || st.Messages != 0 {
		t.Fatalf("USSD counted as SMS: %+v", st)
	}
}

func TestUnbind(t *testing.T) {
	s := startServer(t, Config{})
	c := bound(t, s, idBindTransceiver)
	c.send(appendHeaderOnly(nil, idUnbind, 0, 42))
	r := c.next(wait)
	if r.h.ID != idUnbindResp || r.h.Seq != 42 {
		t.Fatalf("0x%x seq %d", r.h.ID, r.h.Seq)
	}
	if _, ok := <-c.in; ok {
		t.Fatal("connection still open after unbind")
	}
	waitFor(t, func() bool { return s.Stats().BoundNow == 0 })
}

func TestCloseLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	reg := prometheus.NewRegistry()
	s, err := New(Config{DLRDelay: time.Hour, Faults: Faults{ResponseDelay: time.Hour}}, reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	var clients []*testClient
	for i := 0; i < 5; i++ {
		c := bound(t, s, idBindTransceiver)
		c.submit(testSM{dst: phone, rd: 1, sm: []byte("pending")})
		clients = append(clients, c)
	}
	waitFor(t, func() bool { return s.Stats().Submits == 5 })
	if n := gathered(t, reg, "vneidgw_smscsim_submits_total", "accepted"); n != 5 {
		t.Fatalf("accepted metric %v", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		c.close()
	}
	if _, ok := <-s.USSDReplies(); ok {
		t.Fatal("USSDReplies open after Close")
	}
	if err := s.WaitMessages(context.Background(), 1000); core.ErrorCode(err) != core.EUNAVAILABLE {
		t.Fatalf("WaitMessages after Close: %v", err)
	}
	deadline := time.Now().Add(wait)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWaitMessagesContext(t *testing.T) {
	s := startServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := s.WaitMessages(ctx, 1); err != context.DeadlineExceeded {
		t.Fatalf("err %v", err)
	}
	if err := s.WaitMessages(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, cfg := range []Config{
		{IDFormat: "octal"},
		{DLRIDFormat: "base64"},
		{Faults: Faults{ThrottleShare: 1.5}},
		{Faults: Faults{ThrottleShare: 0.6, RejectShare: 0.6}},
		{Faults: Faults{MaxTPS: -1}},
	} {
		if _, err := New(cfg, nil); core.ErrorCode(err) != core.EINVALID {
			t.Errorf("%+v: err %v", cfg, err)
		}
	}
}

// gathered returns the value of a counter series with the given label value.
func gathered(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return -1
}

func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Config{Log: zerolog.Nop()}) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not return")
	}
	if err := Run(context.Background(), Config{IDFormat: "roman"}); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("bad config: %v", err)
	}
}
