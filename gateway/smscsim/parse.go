package smscsim

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// parseSubmit is the hot-path submit_sm decoder: one pass over the frame,
// no allocation beyond the address strings. SM aliases frame and is valid
// only until the next read. It accepts exactly what go-smpp's decoder
// (decodeSubmit) accepts when the body is well formed; FuzzReadPDU checks
// the two agree. It is stricter where go-smpp is lax: a body cut inside the
// mandatory fields, an sm_length past the end, or a TLV overrunning the body
// is an error.
func parseSubmit(frame []byte) (submitSM, error) {
	s := submitSM{USSDOp: -1}
	if len(frame) < headerLen {
		return s, errTruncated
	}
	p := bodyParser{b: frame[headerLen:]}
	s.ServiceType = p.cstring()
	s.SrcTON, s.SrcNPI = p.byte(), p.byte()
	s.Src = p.cstring()
	s.DstTON, s.DstNPI = p.byte(), p.byte()
	s.Dst = p.cstring()
	s.ESMClass = p.byte()
	p.byte() // protocol_id
	p.byte() // priority_flag
	p.skipCString()
	s.ValidityPeriod = p.cstring()
	s.RegisteredDelivery = p.byte()
	p.byte() // replace_if_present_flag
	s.DataCoding = p.byte()
	p.byte() // sm_default_msg_id
	n := int(p.byte())
	s.SM = p.take(n)
	if p.err != nil {
		return submitSM{}, p.err
	}
	// Like go-smpp's TLV map, the last occurrence of a tag wins.
	var payload, op, its, ref []byte
	for len(p.b) >= 4 {
		tag := binary.BigEndian.Uint16(p.b)
		l := int(binary.BigEndian.Uint16(p.b[2:]))
		p.b = p.b[4:]
		if l > len(p.b) {
			return submitSM{}, errTLVOverrun
		}
		v := p.b[:l:l]
		p.b = p.b[l:]
		switch tag {
		case tagMessagePayload:
			payload = v
		case tagUSSDServiceOp:
			op = v
		case tagITSSessionInfo:
			its = v
		case tagUserMessageRef:
			ref = v
		}
	}
	if len(s.SM) == 0 && payload != nil {
		s.SM = payload
	}
	if len(op) == 1 {
		s.USSDOp = int(op[0])
	}
	if len(its) == 2 {
		s.SessionID = uint32(binary.BigEndian.Uint16(its))
		s.sessionFromITS = true
	} else if len(ref) == 2 {
		s.SessionID = uint32(binary.BigEndian.Uint16(ref))
	}
	return s, nil
}

var errTLVOverrun = errors.New("smscsim: TLV overruns the PDU body")

type bodyParser struct {
	b   []byte
	err error
}

func (p *bodyParser) byte() uint8 {
	if p.err != nil || len(p.b) == 0 {
		p.err = errTruncated
		return 0
	}
	c := p.b[0]
	p.b = p.b[1:]
	return c
}

func (p *bodyParser) cstring() string {
	if p.err != nil {
		return ""
	}
	i := bytes.IndexByte(p.b, 0)
	if i < 0 {
		p.err = errTruncated
		return ""
	}
	s := string(p.b[:i])
	p.b = p.b[i+1:]
	return s
}

func (p *bodyParser) skipCString() {
	if p.err != nil {
		return
	}
	i := bytes.IndexByte(p.b, 0)
	if i < 0 {
		p.err = errTruncated
		return
	}
	p.b = p.b[i+1:]
}

func (p *bodyParser) take(n int) []byte {
	if p.err != nil {
		return nil
	}
	if n > len(p.b) {
		p.err = errTruncated
		return nil
	}
	v := p.b[:n:n]
	p.b = p.b[n:]
	return v
}
