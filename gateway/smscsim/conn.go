package smscsim

import (
	"crypto/subtle"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

type bindMode uint8

const (
	modeNone bindMode = iota
	modeTx
	modeRx
	modeTrx
)

func (m bindMode) canReceive() bool  { return m == modeRx || m == modeTrx }
func (m bindMode) canTransmit() bool { return m == modeTx || m == modeTrx }

func (m bindMode) String() string {
	return [...]string{"none", "transmitter", "receiver", "transceiver"}[m]
}

// conn is one client connection: a reader goroutine that decodes and
// answers, and a writer goroutine that flushes what anyone appended to
// wbuf. Nothing that sends to the client ever blocks on the socket.
type conn struct {
	s   *Server
	nc  net.Conn
	log zerolog.Logger

	// Owned by the reader goroutine.
	fr          *frameReader
	rng         *rand.Rand
	submits     int
	tpsSec      int64
	tpsCount    int
	unknownTurn int

	// Written by the reader with s.mu held; read with s.mu held.
	mode     bindMode
	systemID string

	seq atomic.Uint32 // sequence numbers of PDUs the simulator originates

	wmu         sync.Mutex
	wbuf        []byte
	scratch     []byte
	closed      bool
	flushClose  bool     // close once wbuf is written (after unbind_resp)
	unanswered  []uint32 // submit_sm sequence numbers whose resp is still due
	outstanding map[uint32]*outPDU
	fifo        []sentRef
	fifoHead    int

	wake      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newConn(s *Server, nc net.Conn) *conn {
	seed := s.newSeed()
	return &conn{
		s:           s,
		nc:          nc,
		log:         s.log.With().Str("remote", nc.RemoteAddr().String()).Logger(),
		fr:          newFrameReader(nc),
		rng:         rand.New(rand.NewPCG(seed, seed^0x5bd1e995)),
		wbuf:        make([]byte, 0, 16<<10),
		outstanding: make(map[uint32]*outPDU),
		wake:        make(chan struct{}, 1),
		done:        make(chan struct{}),
	}
}

func (c *conn) nextSeq() uint32 {
	for {
		n := c.seq.Add(1) & 0x7fffffff
		if n != 0 {
			return n
		}
	}
}

// kick wakes the writer; over means the client stopped reading and the
// backlog passed its cap, so the connection is dropped instead.
func (c *conn) kick(over bool) {
	if over {
		// The writer is stuck in Write: closing the socket frees it, and
		// the reader and writer then close the connection properly.
		c.log.Warn().Msg("client not reading; dropping connection")
		_ = c.nc.Close()
		return
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// close ends the connection once: the socket is closed, the bind is
// forgotten and unacknowledged DLRs are routed again.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.wmu.Lock()
		c.closed = true
		var again []*dlr
		var ussd []chan error
		for _, o := range c.outstanding {
			if o.dlr != nil {
				again = append(again, o.dlr)
			} else {
				ussd = append(ussd, o.ussd)
			}
		}
		c.outstanding, c.fifo, c.fifoHead = nil, nil, 0
		c.wmu.Unlock()
		close(c.done)
		_ = c.nc.Close()
		c.s.removeConn(c)
		for _, ch := range ussd {
			select {
			case ch <- errUSSDConnClosed:
			default:
			}
		}
		for _, d := range again {
			d.origin = nil
			c.s.routeDLR(d)
		}
	})
}

// closeAfterFlush lets the writer send what is queued, then close. The
// reader must stop reading.
func (c *conn) closeAfterFlush() {
	c.wmu.Lock()
	c.flushClose = true
	c.wmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *conn) writeLoop() {
	var buf []byte
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
		}
		for {
			c.wmu.Lock()
			buf, c.wbuf = c.wbuf, buf[:0]
			fc := c.flushClose
			c.wmu.Unlock()
			if len(buf) == 0 {
				if fc {
					c.close()
					return
				}
				break
			}
			if fc {
				_ = c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			}
			if _, err := c.nc.Write(buf); err != nil {
				c.close()
				return
			}
		}
	}
}

// Writers used by the reader and the scheduler. Each returns quietly when
// the connection is closed.

func (c *conn) writeHeaderOnly(id, status, seq uint32) {
	c.wmu.Lock()
	if c.closed {
		c.wmu.Unlock()
		return
	}
	c.wbuf = appendHeaderOnly(c.wbuf, id, status, seq)
	c.wmu.Unlock()
	c.kick(false)
}

func (c *conn) writeBindResp(id, status, seq uint32) {
	c.wmu.Lock()
	if c.closed {
		c.wmu.Unlock()
		return
	}
	c.wbuf = appendBindResp(c.wbuf, id|respBit, status, seq, "smscsim")
	c.wmu.Unlock()
	c.kick(false)
}

func (c *conn) writeSubmitResp(status, seq uint32, msgID uint64) {
	c.wmu.Lock()
	if c.closed {
		c.wmu.Unlock()
		return
	}
	c.forgetUnansweredLocked(seq)
	c.wbuf = appendSubmitResp(c.wbuf, status, seq, msgID, c.s.respHex)
	over := len(c.wbuf) > maxWriteBacklog
	c.wmu.Unlock()
	c.kick(over)
}

// awaitResp records that the resp to seq will come later (for
// DLRSeqCollide). At most 64 are remembered.
func (c *conn) awaitResp(seq uint32) {
	c.wmu.Lock()
	if len(c.unanswered) >= 64 {
		c.unanswered = append(c.unanswered[:0], c.unanswered[1:]...)
	}
	c.unanswered = append(c.unanswered, seq)
	c.wmu.Unlock()
}

func (c *conn) forgetUnansweredLocked(seq uint32) {
	for i, s := range c.unanswered {
		if s == seq {
			c.unanswered = append(c.unanswered[:i], c.unanswered[i+1:]...)
			return
		}
	}
}

func (c *conn) readLoop() {
	for {
		frame, badLen, err := c.fr.next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.log.Debug().Err(err).Msg("connection read ended")
			}
			c.close()
			return
		}
		h := parseHeader(frame)
		if badLen {
			c.log.Debug().Uint32("command_length", h.Len).Msg("bad command_length; generic_nack")
			c.writeHeaderOnly(idGenericNack, statusInvCmdLen, h.Seq)
			continue
		}
		if !c.handle(h, frame) {
			return
		}
	}
}

// handle answers one PDU; false means the reader must stop (unbind).
func (c *conn) handle(h header, frame []byte) bool {
	switch h.ID {
	case idSubmitSM:
		return c.handleSubmit(h, frame)
	case idDeliverSMResp:
		c.ackDeliver(h.Seq, h.Status)
	case idEnquireLink:
		c.writeHeaderOnly(idEnquireLinkResp, statusOK, h.Seq)
	case idBindReceiver, idBindTransmitter, idBindTransceiver:
		c.handleBind(h, frame)
	case idUnbind:
		c.wmu.Lock()
		if !c.closed {
			c.wbuf = appendHeaderOnly(c.wbuf, idUnbindResp, statusOK, h.Seq)
		}
		c.wmu.Unlock()
		c.closeAfterFlush()
		return false
	case idGenericNack:
		c.s.nacksRecv.Add(1)
		c.log.Debug().Uint32("status", h.Status).Uint32("seq", h.Seq).Msg("generic_nack from client")
	default:
		if h.ID&respBit != 0 {
			return true // a response to something we sent (enquire_link_resp, data_sm_resp, ...)
		}
		c.writeHeaderOnly(idGenericNack, statusInvCmdID, h.Seq)
	}
	return true
}

func (c *conn) handleBind(h header, frame []byte) {
	b, err := decodeBind(frame)
	if err != nil {
		c.writeHeaderOnly(idGenericNack, statusInvCmdLen, h.Seq)
		return
	}
	if c.mode != modeNone {
		c.writeBindResp(h.ID, statusAlyBnd, h.Seq)
		return
	}
	cfg := &c.s.cfg
	if cfg.SystemID != "" && b.SystemID != cfg.SystemID {
		c.log.Info().Str("system_id", b.SystemID).Msg("bind refused: unknown system_id")
		c.writeBindResp(h.ID, statusInvSysID, h.Seq)
		return
	}
	if cfg.Password != "" && subtle.ConstantTimeCompare([]byte(b.Password), []byte(cfg.Password)) != 1 {
		c.log.Info().Str("system_id", b.SystemID).Msg("bind refused: wrong password")
		c.writeBindResp(h.ID, statusInvPaswd, h.Seq)
		return
	}
	mode := modeTrx
	switch h.ID {
	case idBindTransmitter:
		mode = modeTx
	case idBindReceiver:
		mode = modeRx
	}
	c.writeBindResp(h.ID, statusOK, h.Seq)
	waiting := c.s.bound(c, mode, b.SystemID)
	c.log.Info().Str("system_id", b.SystemID).Str("bind", mode.String()).Int("pending_dlrs", len(waiting)).Msg("bound")
	for i, d := range waiting {
		if !c.sendDLR(d) {
			for _, d := range waiting[i:] {
				c.s.routeDLR(d)
			}
			return
		}
	}
}
