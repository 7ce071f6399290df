package smscsim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"
)

var (
	errTruncated = errors.New("smscsim: PDU body truncated")
	errTooLarge  = errors.New("smscsim: PDU larger than the codec's 4096-byte limit")
)

// submitSM is the part of a submit_sm the simulator uses.
type submitSM struct {
	ServiceType        string
	SrcTON, SrcNPI     uint8
	Src                string
	DstTON, DstNPI     uint8
	Dst                string
	ESMClass           uint8
	RegisteredDelivery uint8
	DataCoding         uint8
	ValidityPeriod     string
	SM                 []byte // short_message with its UDH (or message_payload)
	USSDOp             int    // ussd_service_op TLV, -1 when absent
	SessionID          uint32 // its_session_info (or user_message_reference)
	sessionFromITS     bool
}

// bindReq is a decoded bind_*.
type bindReq struct {
	SystemID, Password, SystemType string
	Version                        uint8
}

// decodeBody runs go-smpp's decoder over a whole frame, turning a panic
// into an error: the codec indexes slices without checks in places.
func decodeBody(frame []byte) (b pdu.Body, err error) {
	if len(frame) > pdu.MaxSize {
		return nil, errTooLarge
	}
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("smscsim: codec panic: %v", r)
		}
	}()
	return pdu.Decode(bytes.NewReader(frame))
}

func decodeBind(frame []byte) (bindReq, error) {
	b, err := decodeBody(frame)
	if err != nil {
		return bindReq{}, err
	}
	f := b.Fields()
	// go-smpp stops quietly at the end of a short body: the last mandatory
	// field missing means the PDU was cut.
	if f[pdufield.AddressRange] == nil {
		return bindReq{}, errTruncated
	}
	return bindReq{
		SystemID:   str(f, pdufield.SystemID),
		Password:   str(f, pdufield.Password),
		SystemType: str(f, pdufield.SystemType),
		Version:    u8(f, pdufield.InterfaceVersion),
	}, nil
}

func decodeSubmit(frame []byte) (submitSM, error) {
	b, err := decodeBody(frame)
	if err != nil {
		return submitSM{}, err
	}
	f, t := b.Fields(), b.TLVFields()
	sm, ok := f[pdufield.ShortMessage].(*pdufield.SM)
	if !ok {
		return submitSM{}, errTruncated
	}
	s := submitSM{
		ServiceType:        str(f, pdufield.ServiceType),
		SrcTON:             u8(f, pdufield.SourceAddrTON),
		SrcNPI:             u8(f, pdufield.SourceAddrNPI),
		Src:                str(f, pdufield.SourceAddr),
		DstTON:             u8(f, pdufield.DestAddrTON),
		DstNPI:             u8(f, pdufield.DestAddrNPI),
		Dst:                str(f, pdufield.DestinationAddr),
		ESMClass:           u8(f, pdufield.ESMClass),
		RegisteredDelivery: u8(f, pdufield.RegisteredDelivery),
		DataCoding:         u8(f, pdufield.DataCoding),
		ValidityPeriod:     str(f, pdufield.ValidityPeriod),
		USSDOp:             -1,
	}
	// go-smpp splits a UDH off short_message; put it back in front, as
	// core.DecodeText wants the octets as sent.
	if s.ESMClass&0x40 != 0 {
		if l, ok := f[pdufield.UDHLength].(*pdufield.Fixed); ok {
			full := make([]byte, 0, 1+int(l.Data)+len(sm.Data))
			full = append(full, l.Data)
			if ies, ok := f[pdufield.GSMUserData].(*pdufield.UDHList); ok {
				for _, ie := range ies.Data {
					full = append(full, ie.IEI.Data, ie.IELength.Data)
					full = append(full, ie.IEData.Data...)
				}
			}
			s.SM = append(full, sm.Data...)
		} else {
			s.SM = sm.Data
		}
	} else {
		s.SM = sm.Data
	}
	if len(s.SM) == 0 {
		if p := tlv(t, tagMessagePayload); p != nil {
			s.SM = p
		}
	}
	if op := tlv(t, tagUSSDServiceOp); len(op) == 1 {
		s.USSDOp = int(op[0])
	}
	if si := tlv(t, tagITSSessionInfo); len(si) == 2 {
		s.SessionID = uint32(binary.BigEndian.Uint16(si))
		s.sessionFromITS = true
	} else if ref := tlv(t, tagUserMessageRef); len(ref) == 2 {
		s.SessionID = uint32(binary.BigEndian.Uint16(ref))
	}
	return s, nil
}

func str(f pdufield.Map, n pdufield.Name) string {
	if v, ok := f[n]; ok && v != nil {
		return v.String()
	}
	return ""
}

func u8(f pdufield.Map, n pdufield.Name) uint8 {
	if v, ok := f[n].(*pdufield.Fixed); ok {
		return v.Data
	}
	return 0
}

func tlv(t pdutlv.Map, tag uint16) []byte {
	if v, ok := t[pdutlv.Tag(tag)]; ok && v != nil {
		return v.Bytes()
	}
	return nil
}
