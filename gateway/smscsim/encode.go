package smscsim

import (
	"encoding/binary"
)

// The simulator writes its PDUs by appending to a connection's buffer: no
// allocation per PDU on the hot path. Tests decode every kind with
// go-smpp's pdu.Decode to prove the bytes are what the codec expects.

// beginPDU appends a header with a placeholder length and returns the
// offset of the PDU in b; endPDU fills the length in.
func beginPDU(b []byte, id, status, seq uint32) ([]byte, int) {
	at := len(b)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, id)
	b = binary.BigEndian.AppendUint32(b, status)
	b = binary.BigEndian.AppendUint32(b, seq)
	return b, at
}

func endPDU(b []byte, at int) []byte {
	binary.BigEndian.PutUint32(b[at:at+4], uint32(len(b)-at))
	return b
}

func appendCString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] != 0 { // a C-string cannot hold NUL
			b = append(b, s[i])
		}
	}
	return append(b, 0)
}

func appendTLV(b []byte, tag uint16, v []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, tag)
	b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}

// appendHeaderOnly appends a body-less PDU (enquire_link_resp, unbind_resp,
// generic_nack, or a response carrying only an error status).
func appendHeaderOnly(b []byte, id, status, seq uint32) []byte {
	b, at := beginPDU(b, id, status, seq)
	return endPDU(b, at)
}

func appendBindResp(b []byte, id, status, seq uint32, systemID string) []byte {
	b, at := beginPDU(b, id, status, seq)
	if status == statusOK {
		b = appendCString(b, systemID)
		b = appendTLV(b, tagSCInterfaceVer, []byte{0x34})
	}
	return endPDU(b, at)
}

// appendSubmitResp writes submit_sm_resp. An error status carries no body
// (SMPP 3.4 §4.4.2); an accepted one carries the message id.
func appendSubmitResp(b []byte, status, seq uint32, msgID uint64, hex bool) []byte {
	b, at := beginPDU(b, idSubmitSMResp, status, seq)
	if status == statusOK {
		b = appendID(b, msgID, hex)
		b = append(b, 0)
	}
	return endPDU(b, at)
}

// appendID writes a message id as lowercase hex or decimal digits.
func appendID(b []byte, id uint64, hex bool) []byte {
	base := 10
	if hex {
		base = 16
	}
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = "0123456789abcdef"[id%uint64(base)]
		id /= uint64(base)
		if id == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// deliverSM is an SMSC-originated deliver_sm.
type deliverSM struct {
	ServiceType    string
	SrcTON, SrcNPI uint8
	Src            string
	DstTON, DstNPI uint8
	Dst            string
	ESMClass       uint8
	DataCoding     uint8
	SM             []byte
	TLVs           []tlvField
}

type tlvField struct {
	Tag   uint16
	Value []byte
}

func appendDeliverSM(b []byte, seq uint32, d *deliverSM) []byte {
	b, at := beginPDU(b, idDeliverSM, statusOK, seq)
	b = appendCString(b, d.ServiceType)
	b = append(b, d.SrcTON, d.SrcNPI)
	b = appendCString(b, d.Src)
	b = append(b, d.DstTON, d.DstNPI)
	b = appendCString(b, d.Dst)
	b = append(b, d.ESMClass, 0, 0) // esm_class, protocol_id, priority_flag
	b = append(b, 0, 0)             // schedule_delivery_time, validity_period: empty
	b = append(b, 0, 0, d.DataCoding, 0)
	sm := d.SM
	if len(sm) > 254 {
		sm = sm[:254]
	}
	b = append(b, uint8(len(sm)))
	b = append(b, sm...)
	for _, t := range d.TLVs {
		b = appendTLV(b, t.Tag, t.Value)
	}
	return endPDU(b, at)
}

// appendUnknownPDU writes one of the PDUs a client may not expect, chosen by
// turn: data_sm (0x103), alert_notification (0x102), or the vendor command
// id 0x0000FFFF with no body.
func appendUnknownPDU(b []byte, turn int, seq uint32) []byte {
	switch turn % 3 {
	case 0:
		b, at := beginPDU(b, idDataSM, statusOK, seq)
		b = appendCString(b, "")            // service_type
		b = append(b, 1, 1)                 // source ton/npi
		b = appendCString(b, "84900000000") // source_addr
		b = append(b, 5, 0)                 // dest ton/npi
		b = appendCString(b, "VneID")       // destination_addr
		b = append(b, 0, 0, 0)              // esm_class, registered_delivery, data_coding
		b = appendTLV(b, tagMessagePayload, []byte("hello"))
		return endPDU(b, at)
	case 1:
		b, at := beginPDU(b, idAlertNotif, statusOK, seq)
		b = append(b, 1, 1)
		b = appendCString(b, "84900000000")
		b = append(b, 1, 1)
		b = appendCString(b, "84900000001")
		return endPDU(b, at)
	default:
		return appendHeaderOnly(b, idUnknownVendor, statusOK, seq)
	}
}
