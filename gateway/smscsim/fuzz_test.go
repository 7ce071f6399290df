package smscsim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"vneidgw/core"
)

// twoReads hands its data out in two reads, split at k, as a network
// would (nats-server's parser fuzzing does the same).
type twoReads struct {
	parts [][]byte
}

func (r *twoReads) Read(p []byte) (int, error) {
	for len(r.parts) > 0 && len(r.parts[0]) == 0 {
		r.parts = r.parts[1:]
	}
	if len(r.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.parts[0])
	r.parts[0] = r.parts[0][n:]
	return n, nil
}

func fuzzSeeds() [][]byte {
	var seeds [][]byte
	b, at := beginPDU(nil, idBindTransceiver, 0, 1)
	b = appendCString(b, "vneid")
	b = appendCString(b, "secret")
	b = appendCString(b, "")
	b = append(b, 0x34, 0, 0, 0)
	seeds = append(seeds, endPDU(b, at))
	sub := func(esm, dc uint8, sm []byte, tlvs ...tlvField) []byte {
		b, at := beginPDU(nil, idSubmitSM, 0, 2)
		b = appendCString(b, "")
		b = append(b, 5, 0)
		b = appendCString(b, "VneID")
		b = append(b, 1, 1)
		b = appendCString(b, "84912345678")
		b = append(b, esm, 0, 0, 0, 0, 1, 0, dc, 0, uint8(len(sm)))
		b = append(b, sm...)
		for _, t := range tlvs {
			b = appendTLV(b, t.Tag, t.Value)
		}
		return endPDU(b, at)
	}
	seeds = append(seeds, sub(0, 0, []byte("Ma OTP 123456")))
	seeds = append(seeds, sub(0x40, 0, []byte{5, 0, 3, 7, 2, 1, 'a', 'b'}))
	seeds = append(seeds, sub(0x40, 8, []byte{5, 0, 3, 7, 2, 2, 0, 'a'}))
	seeds = append(seeds, sub(0x40, 0, []byte{0xff, 0, 3}))
	seeds = append(seeds, sub(0, 0, nil, tlvField{tagMessagePayload, []byte("payload")}, tlvField{tagUSSDServiceOp, []byte{2}}, tlvField{tagITSSessionInfo, []byte{1, 2}}))
	seeds = append(seeds, appendHeaderOnly(nil, idEnquireLink, 0, 3))
	seeds = append(seeds, appendHeaderOnly(nil, idDeliverSMResp, 0, 4))
	seeds = append(seeds, appendHeaderOnly(nil, 0xffff, 0, 5))
	short := appendHeaderOnly(nil, idEnquireLink, 0, 6)
	binary.BigEndian.PutUint32(short, 9)
	seeds = append(seeds, short)
	huge := appendHeaderOnly(nil, idSubmitSM, 0, 7)
	binary.BigEndian.PutUint32(huge, 1<<30)
	seeds = append(seeds, huge)
	// Two PDUs back to back.
	seeds = append(seeds, append(appendHeaderOnly(nil, idEnquireLink, 0, 8), seeds[1]...))
	return seeds
}

// FuzzReadPDU feeds arbitrary bytes, in two reads, to the frame reader and
// every decoder the server runs on a frame. Nothing may panic, every frame
// must match its declared length, the reader must end, and the hot-path
// submit_sm parser must agree with go-smpp's decoder.
func FuzzReadPDU(f *testing.F) {
	for i, s := range fuzzSeeds() {
		f.Add(s, uint16(i*7))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		k := 0
		if len(data) > 0 {
			k = int(split) % (len(data) + 1)
		}
		r := &twoReads{parts: [][]byte{bytes.Clone(data[:k]), bytes.Clone(data[k:])}}
		fr := newFrameReader(r)
		for frames := 0; ; frames++ {
			if frames > len(data) {
				t.Fatal("more frames than input bytes")
			}
			frame, badLen, err := fr.next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			h := parseHeader(frame)
			if badLen {
				if len(frame) != headerLen || (h.Len >= headerLen && h.Len <= maxFrame) {
					t.Fatalf("bad-length frame %d bytes, command_length %d", len(frame), h.Len)
				}
				continue
			}
			if int(h.Len) != len(frame) {
				t.Fatalf("frame %d bytes, command_length %d", len(frame), h.Len)
			}
			if h.ID == idSubmitSM {
				checkSubmitDecoders(t, frame)
			}
			if sub, err := parseSubmit(frame); err == nil {
				_, _, _, _, _ = core.DecodeText(core.Coding(sub.DataCoding), sub.ESMClass&0x40 != 0, sub.SM)
			}
			_, _ = decodeBind(frame)
		}
	})
}

// comparable reports whether go-smpp decodes sub's short_message the way
// the SMPP spec does, so the two decoders can be compared: go-smpp reads a
// UDH even from an empty short_message, and misreads a UDH whose element
// lengths do not add up to its header length.
func comparable(sub submitSM) bool {
	if sub.ESMClass&0x40 == 0 {
		return true
	}
	sm := sub.SM
	if len(sm) == 0 {
		return false
	}
	hl := int(sm[0])
	if 1+hl > len(sm) {
		return false
	}
	ies := sm[1 : 1+hl]
	for len(ies) > 0 {
		if len(ies) < 2 || 2+int(ies[1]) > len(ies) {
			return false
		}
		ies = ies[2+int(ies[1]):]
	}
	return true
}

func checkSubmitDecoders(t *testing.T, frame []byte) {
	fast, ferr := parseSubmit(frame)
	ref, rerr := decodeSubmit(frame)
	if ferr != nil || rerr != nil {
		// go-smpp is lax (it stops quietly inside a cut body); only
		// require that what the fast parser accepts go-smpp accepts too,
		// within its 4096-byte limit.
		if ferr == nil && rerr != nil && len(frame) <= 4096 && comparable(fast) && !errors.Is(rerr, errTooLarge) {
			t.Fatalf("go-smpp rejects a submit_sm the fast parser accepts: %v", rerr)
		}
		return
	}
	if !comparable(fast) || len(fast.SM) == 0 && fast.ESMClass&0x40 != 0 {
		return
	}
	if fast.ServiceType != ref.ServiceType || fast.Src != ref.Src || fast.Dst != ref.Dst ||
		fast.SrcTON != ref.SrcTON || fast.SrcNPI != ref.SrcNPI || fast.DstTON != ref.DstTON || fast.DstNPI != ref.DstNPI ||
		fast.ESMClass != ref.ESMClass || fast.RegisteredDelivery != ref.RegisteredDelivery ||
		fast.DataCoding != ref.DataCoding || fast.ValidityPeriod != ref.ValidityPeriod ||
		!bytes.Equal(fast.SM, ref.SM) || fast.USSDOp != ref.USSDOp || fast.SessionID != ref.SessionID {
		t.Fatalf("decoders disagree:\nfast   %+v\ngo-smpp %+v", fast, ref)
	}
}
