package smscsim

import (
	"bufio"
	"encoding/binary"
	"io"
)

// SMPP command ids and statuses used by the simulator.
const (
	idGenericNack     uint32 = 0x80000000
	idBindReceiver    uint32 = 0x00000001
	idBindTransmitter uint32 = 0x00000002
	idQuerySM         uint32 = 0x00000003
	idSubmitSM        uint32 = 0x00000004
	idSubmitSMResp    uint32 = 0x80000004
	idDeliverSM       uint32 = 0x00000005
	idDeliverSMResp   uint32 = 0x80000005
	idUnbind          uint32 = 0x00000006
	idUnbindResp      uint32 = 0x80000006
	idBindTransceiver uint32 = 0x00000009
	idEnquireLink     uint32 = 0x00000015
	idEnquireLinkResp uint32 = 0x80000015
	idAlertNotif      uint32 = 0x00000102
	idDataSM          uint32 = 0x00000103
	idUnknownVendor   uint32 = 0x0000FFFF
	respBit           uint32 = 0x80000000

	statusOK            uint32 = 0x00
	statusInvMsgLen     uint32 = 0x01
	statusInvCmdLen     uint32 = 0x02
	statusInvCmdID      uint32 = 0x03
	statusInvBndSts     uint32 = 0x04
	statusAlyBnd        uint32 = 0x05
	statusSysErr        uint32 = 0x08
	statusInvDstAdr     uint32 = 0x0B
	statusInvPaswd      uint32 = 0x0E
	statusInvSysID      uint32 = 0x0F
	statusMsgQFul       uint32 = 0x14
	statusThrottled     uint32 = 0x58
	headerLen                  = 16
	discardChunk               = 32 << 10
	tagReceiptedMsgID   uint16 = 0x001E
	tagUserMessageRef   uint16 = 0x0204
	tagMessagePayload   uint16 = 0x0424
	tagMessageState     uint16 = 0x0427
	tagUSSDServiceOp    uint16 = 0x0501
	tagITSSessionInfo   uint16 = 0x1383
	tagSCInterfaceVer   uint16 = 0x0210
	messageStateDeliv   uint8  = 2
	messageStateUndeliv uint8  = 5
)

// header is a decoded PDU header.
type header struct {
	Len, ID, Status, Seq uint32
}

func parseHeader(b []byte) header {
	return header{
		Len:    binary.BigEndian.Uint32(b[0:4]),
		ID:     binary.BigEndian.Uint32(b[4:8]),
		Status: binary.BigEndian.Uint32(b[8:12]),
		Seq:    binary.BigEndian.Uint32(b[12:16]),
	}
}

// frameReader reads SMPP frames itself (go-smpp's pdu.Decode swallows the
// header of PDUs it cannot decode). The returned frame aliases an internal
// buffer that is reused by the next call.
type frameReader struct {
	r   *bufio.Reader
	buf []byte
}

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 64<<10), buf: make([]byte, 0, 4096)}
}

// next returns the next frame: header and body, command_length bytes in
// all. badLen reports a command_length below 16 or above 64 KiB; the frame
// is then just the 16-byte header (for the nack's sequence number) and the
// declared body, if any, has been skipped so the stream stays in step.
// err is an I/O error (io.EOF at a clean end); the connection is over.
func (fr *frameReader) next() (frame []byte, badLen bool, err error) {
	if cap(fr.buf) < headerLen {
		fr.buf = make([]byte, 0, 4096)
	}
	h := fr.buf[:headerLen]
	if _, err := io.ReadFull(fr.r, h[:4]); err != nil {
		return nil, false, err
	}
	n := binary.BigEndian.Uint32(h[:4])
	if n < headerLen || n > maxFrame {
		// Read the rest of a header to learn the sequence number.
		if _, err := io.ReadFull(fr.r, h[4:]); err != nil {
			return nil, false, noEOF(err)
		}
		if n > maxFrame {
			if err := fr.discard(int64(n) - headerLen); err != nil {
				return nil, false, err
			}
		}
		return h, true, nil
	}
	if cap(fr.buf) < int(n) {
		nb := make([]byte, n)
		copy(nb, h[:4])
		fr.buf = nb
	}
	b := fr.buf[:n]
	if _, err := io.ReadFull(fr.r, b[4:]); err != nil {
		return nil, false, noEOF(err)
	}
	return b, false, nil
}

func (fr *frameReader) discard(n int64) error {
	for n > 0 {
		k := min(n, discardChunk)
		d, err := fr.r.Discard(int(k))
		n -= int64(d)
		if err != nil {
			return noEOF(err)
		}
	}
	return nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
