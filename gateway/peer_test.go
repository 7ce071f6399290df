package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/rs/zerolog"

	"vneidgw/core"
)

// peer is a scripted SMSC: the test reads and writes raw PDUs, so it
// controls sequence numbers and timing exactly.
type peer struct {
	ln    net.Listener
	conns chan net.Conn
	wg    sync.WaitGroup
}

func newPeer(t *testing.T) *peer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{ln: ln, conns: make(chan net.Conn, 16)}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(p.conns)
				return
			}
			p.conns <- c
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		p.wg.Wait()
		for c := range p.conns {
			_ = c.Close()
		}
	})
	return p
}

func (p *peer) addr() string { return p.ln.Addr().String() }

type pconn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

// accept waits for the gateway's next connection and answers its bind.
func (p *peer) accept(t *testing.T) *pconn {
	t.Helper()
	select {
	case c := <-p.conns:
		pc := &pconn{t: t, c: c, br: bufio.NewReader(c)}
		t.Cleanup(func() { _ = c.Close() })
		h, _ := pc.read()
		if h.ID != cmdBindTransceiver && h.ID != cmdBindTransmitter && h.ID != cmdBindReceiver {
			t.Fatalf("first pdu %#x, want a bind", h.ID)
		}
		b := appendHeader(nil, h.ID|respBit, 0, h.Seq)
		b = finish(appendCString(b, "peer"), 0)
		pc.write(b)
		return pc
	case <-time.After(5 * time.Second):
		t.Fatal("no connection from the gateway")
		return nil
	}
}

// readWithin reads one frame or returns an error after d.
func (c *pconn) readWithin(d time.Duration) (header, []byte, error) {
	_ = c.c.SetReadDeadline(time.Now().Add(d))
	f, err := readFrame(c.br, nil)
	if err != nil {
		return header{}, nil, err
	}
	return parseHeader(f), f, nil
}

func (c *pconn) read() (header, []byte) {
	c.t.Helper()
	h, f, err := c.readWithin(5 * time.Second)
	if err != nil {
		c.t.Fatalf("peer read: %v", err)
	}
	return h, f
}

// next reads the next frame that is not an enquire_link (answered).
func (c *pconn) next() (header, []byte) {
	c.t.Helper()
	for {
		h, f := c.read()
		if h.ID == cmdEnquireLink {
			c.write(appendEmpty(nil, cmdEnquireLinkResp, 0, h.Seq))
			continue
		}
		return h, f
	}
}

// nothing asserts that no frame (other than enquire_link) arrives within d.
func (c *pconn) nothing(d time.Duration) {
	c.t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		h, _, err := c.readWithin(time.Until(end))
		if err != nil {
			return
		}
		if h.ID == cmdEnquireLink {
			c.write(appendEmpty(nil, cmdEnquireLinkResp, 0, h.Seq))
			continue
		}
		c.t.Fatalf("unexpected pdu %#x seq %d", h.ID, h.Seq)
	}
}

func (c *pconn) write(b []byte) {
	c.t.Helper()
	if _, err := c.c.Write(b); err != nil {
		c.t.Fatalf("peer write: %v", err)
	}
}

// submit reads a submit_sm and decodes it with go-smpp.
func (c *pconn) submit() (uint32, pdu.Body) {
	c.t.Helper()
	h, f := c.next()
	if h.ID != cmdSubmitSM {
		c.t.Fatalf("got pdu %#x, want submit_sm", h.ID)
	}
	body, err := pdu.Decode(bytes.NewReader(f))
	if err != nil {
		c.t.Fatalf("decode submit_sm: %v", err)
	}
	return h.Seq, body
}

func (c *pconn) respond(seq uint32, st CommandStatus, id string) {
	c.t.Helper()
	c.write(submitResp(seq, st, id))
}

func submitResp(seq uint32, st CommandStatus, id string) []byte {
	b := appendHeader(nil, cmdSubmitSMResp, uint32(st), seq)
	if st == StatusOK {
		b = appendCString(b, id)
	}
	return finish(b, 0)
}

// deliverSM builds a deliver_sm (same mandatory fields as submit_sm) with
// extra raw TLVs.
func deliverSM(seq uint32, from, to string, esm, coding uint8, text []byte, tlvs ...[]byte) []byte {
	b := appendSubmitSM(nil, seq, &submitSM{SourceTON: 1, SourceNPI: 1, Source: from, DestTON: 0, DestNPI: 0,
		Dest: to, ESMClass: esm, DataCoding: coding, Message: text})
	binary.BigEndian.PutUint32(b[4:8], cmdDeliverSM)
	for _, t := range tlvs {
		b = append(b, t...)
	}
	return finish(b, 0)
}

func tlv(tag uint16, v []byte) []byte { return appendTLV(nil, tag, v) }

func dlrText(id, stat string) []byte {
	return []byte(fmt.Sprintf("id:%s sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 stat:%s err:000 text:Cuc Canh sat", id, stat))
}

// --- gateway fixtures ---

func testConfig(addrs map[string][]string, mut func(*BindConfig)) Config {
	cfg := Config{RetryMin: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond}
	var names []string
	for name := range addrs {
		names = append(names, name)
	}
	// deterministic order
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			if names[j] < names[i] {
				names[i], names[j] = names[j], names[i]
			}
		}
	}
	for _, name := range names {
		op := OperatorConfig{Name: name}
		for _, a := range addrs[name] {
			bc := BindConfig{Addr: a, SystemID: "vneid", Password: "secret", ReconnectMin: 10 * time.Millisecond,
				ReconnectMax: 100 * time.Millisecond, ResponseTimeout: 5 * time.Second, EnquireLink: 30 * time.Second}
			if mut != nil {
				mut(&bc)
			}
			op.Binds = append(op.Binds, bc)
		}
		cfg.Operators = append(cfg.Operators, op)
	}
	return cfg
}

func testLogger(t testing.TB) zerolog.Logger {
	if testing.Verbose() {
		return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel)
	}
	return zerolog.Nop()
}

// startGateway runs g until the test ends (or stop is called) and checks
// that Run returns.
func startGateway(t testing.TB, g *Gateway) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func newTestGateway(t testing.TB, cfg Config, q core.Queue) *Gateway {
	t.Helper()
	g, err := New(cfg, q, testLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

const approvalText = "Cuc Canh sat QLHC ve TTXH thong bao: Ho so dang ky tai khoan dinh danh dien tu cua cong dan NGUYEN VAN AN da duoc phe duyet. De nghi truy cap ung dung VNeID hoac dia chi https://vneid.gov.vn de kich hoat tai khoan."

func newMsg(id, op string, kind core.Kind, text string) *core.Message {
	return &core.Message{ID: id, Kind: kind, Priority: core.PriorityOf(kind), To: "84912345678", Sender: "VneID",
		Text: text, Operator: op, ConcatRef: 7, CreatedAt: time.Now()}
}

func otpMsg(id, op string) *core.Message {
	m := newMsg(id, op, core.KindOTP, "Ma OTP VNeID cua ban la 123456. Het han sau 5 phut.")
	m.Validity = 5 * time.Minute
	return m
}

func shortText(i int) string {
	if i%2 == 0 {
		return approvalText
	}
	return strings.Repeat("x", 10) + fmt.Sprint(i)
}
