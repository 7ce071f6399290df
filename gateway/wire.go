package gateway

import (
	"encoding/binary"
	"strconv"
	"time"
)

// This file encodes the PDUs the engine sends. go-smpp's encoder builds
// maps of boxed fields per PDU; the throughput path writes bytes directly.
// Tests decode every encoder's output with go-smpp's pdu.Decode.

// TLV tags used by the engine.
const (
	tagReceiptedMessageID   uint16 = 0x001E
	tagUserMessageReference uint16 = 0x0204
	tagNetworkErrorCode     uint16 = 0x0423
	tagMessagePayload       uint16 = 0x0424
	tagMessageState         uint16 = 0x0427
	tagUSSDServiceOp        uint16 = 0x0501
	tagITSSessionInfo       uint16 = 0x1383
)

// appendHeader appends a header whose length is patched by finish.
func appendHeader(b []byte, id, status, seq uint32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(
		binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(b, 0), id), status), seq)
}

// finish patches the command_length of the PDU starting at start.
func finish(b []byte, start int) []byte {
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

func appendCString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] != 0 { // a NUL inside would end the field early
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

// appendEmpty appends a body-less PDU (enquire_link, unbind, their
// responses, generic_nack).
func appendEmpty(b []byte, id, status, seq uint32) []byte {
	start := len(b)
	return finish(appendHeader(b, id, status, seq), start)
}

// appendBind appends bind_transmitter/receiver/transceiver.
func appendBind(b []byte, id, seq uint32, systemID, password, systemType string) []byte {
	start := len(b)
	b = appendHeader(b, id, 0, seq)
	b = appendCString(b, systemID)
	b = appendCString(b, password)
	b = appendCString(b, systemType)
	b = append(b, 0x34, 0, 0) // interface_version 3.4, addr_ton, addr_npi
	b = appendCString(b, "")  // address_range
	return finish(b, start)
}

// appendDeliverSMResp appends a deliver_sm_resp (message_id is unused: NUL).
func appendDeliverSMResp(b []byte, status, seq uint32) []byte {
	start := len(b)
	b = appendHeader(b, cmdDeliverSMResp, status, seq)
	b = append(b, 0)
	return finish(b, start)
}

// submitSM holds the fields of a submit_sm the engine sends.
type submitSM struct {
	ServiceType      string
	SourceTON        uint8
	SourceNPI        uint8
	Source           string
	DestTON, DestNPI uint8
	Dest             string
	ESMClass         uint8
	PriorityFlag     uint8
	Validity         string // relative format or ""
	RegDelivery      uint8
	DataCoding       uint8
	Message          []byte // short_message (<= 254 octets) or message_payload
	// USSD
	USSDOp         uint8 // 0 = none
	SessionInfo    []byte
	UserMessageRef []byte
}

// appendSubmitSM appends a submit_sm. A message longer than 254 octets goes
// in the message_payload TLV with sm_length 0.
func appendSubmitSM(b []byte, seq uint32, p *submitSM) []byte {
	start := len(b)
	b = appendHeader(b, cmdSubmitSM, 0, seq)
	b = appendCString(b, p.ServiceType)
	b = append(b, p.SourceTON, p.SourceNPI)
	b = appendCString(b, p.Source)
	b = append(b, p.DestTON, p.DestNPI)
	b = appendCString(b, p.Dest)
	b = append(b, p.ESMClass, 0, p.PriorityFlag)
	b = append(b, 0) // schedule_delivery_time: immediate
	b = appendCString(b, p.Validity)
	b = append(b, p.RegDelivery, 0, p.DataCoding, 0)
	payload := len(p.Message) > 254
	if payload {
		b = append(b, 0)
	} else {
		b = append(b, uint8(len(p.Message)))
		b = append(b, p.Message...)
	}
	if p.UserMessageRef != nil {
		b = appendTLV(b, tagUserMessageReference, p.UserMessageRef)
	}
	if payload {
		b = appendTLV(b, tagMessagePayload, p.Message)
	}
	if p.USSDOp != 0 {
		b = appendTLV(b, tagUSSDServiceOp, []byte{p.USSDOp})
	}
	if p.SessionInfo != nil {
		b = appendTLV(b, tagITSSessionInfo, p.SessionInfo)
	}
	return finish(b, start)
}

// relativeValidity formats d in SMPP relative time format
// "YYMMDDhhmmsstnnR" (5 min = "000000000500000R"). Sub-second remainders
// round up; d <= 0 returns "". Months count 30 days, years 12 months; more
// than 99 years is capped.
func relativeValidity(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	secs := int64((d + time.Second - 1) / time.Second)
	ss := secs % 60
	mm := secs / 60 % 60
	hh := secs / 3600 % 24
	days := secs / 86400
	dd := days % 30
	months := days / 30
	mo := months % 12
	yy := months / 12
	if yy > 99 {
		yy, mo, dd, hh, mm, ss = 99, 11, 29, 23, 59, 59
	}
	b := make([]byte, 0, 16)
	for _, v := range []int64{yy, mo, dd, hh, mm, ss} {
		if v < 10 {
			b = append(b, '0')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return string(append(b, '0', '0', '0', 'R'))
}

// parseSubmitSMResp extracts message_id from a submit_sm_resp frame
// (header included). A missing NUL takes the rest of the body.
func parseSubmitSMResp(frame []byte) string {
	body := frame[headerLen:]
	for i, c := range body {
		if c == 0 {
			return string(body[:i])
		}
	}
	return string(body)
}
