package smscsim

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"
	"github.com/rs/zerolog"
)

// testClient is a tiny raw SMPP client: go-smpp's pdu codec over a
// net.Conn, one reader goroutine, every frame handed to the test.
type testClient struct {
	t       testing.TB
	nc      net.Conn
	seq     atomic.Uint32
	in      chan frameIn
	autoAck atomic.Bool // answer deliver_sm with deliver_sm_resp
	wmu     sync.Mutex
	done    chan struct{}
}

type frameIn struct {
	h    header
	body pdu.Body // nil when go-smpp cannot decode the PDU
	raw  []byte
	at   time.Time
}

func startServer(t testing.TB, cfg Config, tweak ...func(*Server)) *Server {
	t.Helper()
	cfg.Log = zerolog.Nop()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tweak {
		f(s)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func dial(t testing.TB, addr string) *testClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &testClient{t: t, nc: nc, in: make(chan frameIn, 4096), done: make(chan struct{})}
	go c.readLoop()
	t.Cleanup(func() { c.close() })
	return c
}

func (c *testClient) close() {
	_ = c.nc.Close()
	<-c.done
}

func (c *testClient) readLoop() {
	defer close(c.done)
	defer close(c.in)
	for {
		var l [4]byte
		if _, err := io.ReadFull(c.nc, l[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(l[:])
		if n < 16 || n > maxFrame {
			c.t.Errorf("server sent command_length %d", n)
			return
		}
		raw := make([]byte, n)
		copy(raw, l[:])
		if _, err := io.ReadFull(c.nc, raw[4:]); err != nil {
			return
		}
		h := parseHeader(raw)
		body, _ := decodeBody(raw)
		if h.ID == idDeliverSM && c.autoAck.Load() {
			c.send(appendHeaderOnly(nil, idDeliverSMResp, 0, h.Seq))
		}
		c.in <- frameIn{h: h, body: body, raw: raw, at: time.Now()}
	}
}

func (c *testClient) send(b []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Logf("client write: %v", err)
	}
}

func (c *testClient) sendBody(p pdu.Body) uint32 {
	seq := c.seq.Add(1)
	p.Header().Seq = seq
	var b bytes.Buffer
	if err := p.SerializeTo(&b); err != nil {
		c.t.Fatal(err)
	}
	c.send(b.Bytes())
	return seq
}

// next returns the next frame, failing the test after d.
func (c *testClient) next(d time.Duration) frameIn {
	c.t.Helper()
	select {
	case f, ok := <-c.in:
		if !ok {
			c.t.Fatal("connection closed")
		}
		return f
	case <-time.After(d):
		c.t.Fatalf("no PDU within %v", d)
	}
	return frameIn{}
}

// expect skips frames until one with command id id arrives.
func (c *testClient) expect(id uint32, d time.Duration) frameIn {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		f := c.next(time.Until(deadline))
		if f.h.ID == id {
			return f
		}
	}
}

// quiet asserts nothing arrives for d.
func (c *testClient) quiet(d time.Duration) {
	c.t.Helper()
	select {
	case f, ok := <-c.in:
		if ok {
			c.t.Fatalf("unexpected PDU 0x%08x seq %d", f.h.ID, f.h.Seq)
		}
	case <-time.After(d):
	}
}

func (c *testClient) bind(id uint32, systemID, password string) uint32 {
	c.t.Helper()
	var p pdu.Body
	switch id {
	case idBindTransmitter:
		p = pdu.NewBindTransmitter()
	case idBindReceiver:
		p = pdu.NewBindReceiver()
	default:
		p = pdu.NewBindTransceiver()
	}
	f := p.Fields()
	_ = f.Set(pdufield.SystemID, systemID)
	_ = f.Set(pdufield.Password, password)
	_ = f.Set(pdufield.InterfaceVersion, uint8(0x34))
	seq := c.sendBody(p)
	r := c.expect(id|respBit, 2*time.Second)
	if r.h.Seq != seq {
		c.t.Fatalf("bind resp seq %d, want %d", r.h.Seq, seq)
	}
	return r.h.Status
}

type testSM struct {
	src, dst string
	esm, rd  uint8
	dc       uint8
	sm       []byte
	validity string
	tlvs     map[uint16][]byte
}

func (c *testClient) submit(m testSM) uint32 {
	p := pdu.NewSubmitSM(nil)
	f := p.Fields()
	if m.src == "" {
		m.src = "VneID"
	}
	_ = f.Set(pdufield.SourceAddrTON, uint8(5))
	_ = f.Set(pdufield.SourceAddr, m.src)
	_ = f.Set(pdufield.DestAddrTON, uint8(1))
	_ = f.Set(pdufield.DestAddrNPI, uint8(1))
	_ = f.Set(pdufield.DestinationAddr, m.dst)
	_ = f.Set(pdufield.ESMClass, m.esm)
	_ = f.Set(pdufield.RegisteredDelivery, m.rd)
	_ = f.Set(pdufield.DataCoding, m.dc)
	_ = f.Set(pdufield.ValidityPeriod, m.validity)
	_ = f.Set(pdufield.ShortMessage, m.sm)
	for tag, v := range m.tlvs {
		_ = p.TLVFields().Set(pdutlv.Tag(tag), v)
	}
	return c.sendBody(p)
}

func fieldStr(f frameIn, n pdufield.Name) string {
	if f.body == nil {
		return ""
	}
	if v := f.body.Fields()[n]; v != nil {
		return v.String()
	}
	return ""
}

func tlvBytes(f frameIn, tag uint16) []byte {
	if f.body == nil {
		return nil
	}
	if v := f.body.TLVFields()[pdutlv.Tag(tag)]; v != nil {
		return v.Bytes()
	}
	return nil
}
