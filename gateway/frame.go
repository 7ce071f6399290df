package gateway

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// SMPP command ids used by the engine.
const (
	cmdGenericNack       uint32 = 0x80000000
	cmdBindReceiver      uint32 = 0x00000001
	cmdBindTransmitter   uint32 = 0x00000002
	cmdSubmitSM          uint32 = 0x00000004
	cmdSubmitSMResp      uint32 = 0x80000004
	cmdDeliverSM         uint32 = 0x00000005
	cmdDeliverSMResp     uint32 = 0x80000005
	cmdUnbind            uint32 = 0x00000006
	cmdUnbindResp        uint32 = 0x80000006
	cmdBindTransceiver   uint32 = 0x00000009
	cmdEnquireLink       uint32 = 0x00000015
	cmdEnquireLinkResp   uint32 = 0x80000015
	cmdAlertNotification uint32 = 0x00000102
	cmdDataSM            uint32 = 0x00000103

	respBit uint32 = 0x80000000
)

const (
	headerLen = 16
	// maxFrame caps one PDU. Larger (or smaller than a header) lengths
	// cannot be resynchronised and end the session.
	maxFrame = 64 << 10
	// maxSeq is the largest sequence number; the next one wraps to 1.
	maxSeq = 0x7FFFFFFF
)

// errFrameLength reports a command_length outside 16..64 KiB.
var errFrameLength = errors.New("smpp frame length out of range")

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

// readFrame reads one whole PDU (header included) into buf, growing it if
// needed, and returns the frame. A length outside 16..maxFrame returns an
// error wrapping errFrameLength; io errors are returned as they are.
func readFrame(r *bufio.Reader, buf []byte) ([]byte, error) {
	var lb [4]byte
	if _, err := io.ReadFull(r, lb[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(lb[:])
	if n < headerLen || n > maxFrame {
		return nil, fmt.Errorf("%w: %d", errFrameLength, n)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	copy(buf, lb[:])
	if _, err := io.ReadFull(r, buf[4:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}
