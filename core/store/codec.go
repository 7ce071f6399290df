package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"vneidgw/core"
)

// Binary record formats. Every record starts with a version byte; fields
// follow in a fixed order: strings as uvarint length + bytes, integers as
// (u)varints, times as a presence byte + varint Unix nanoseconds (decoded in
// UTC), statuses and kinds as a one-byte code (0 = an unlisted value whose
// text follows).

const (
	recMessageV1     = 1
	recApplicationV1 = 1
	recReportV1      = 1
	recDLRV1         = 1
)

var errCorrupt = errors.New("store: corrupt record")

func statusCode(s core.Status) byte {
	switch s {
	case core.StatusQueued:
		return 1
	case core.StatusSubmitted:
		return 2
	case core.StatusDelivered:
		return 3
	case core.StatusUndeliverable:
		return 4
	case core.StatusExpired:
		return 5
	case core.StatusRejected:
		return 6
	case core.StatusUnknown:
		return 7
	}
	return 0
}

func statusOf(c byte) (core.Status, bool) {
	switch c {
	case 1:
		return core.StatusQueued, true
	case 2:
		return core.StatusSubmitted, true
	case 3:
		return core.StatusDelivered, true
	case 4:
		return core.StatusUndeliverable, true
	case 5:
		return core.StatusExpired, true
	case 6:
		return core.StatusRejected, true
	case 7:
		return core.StatusUnknown, true
	}
	return "", false
}

func kindCode(k core.Kind) byte {
	switch k {
	case core.KindOTP:
		return 1
	case core.KindNotice:
		return 2
	case core.KindApproval:
		return 3
	}
	return 0
}

func kindOf(c byte) (core.Kind, bool) {
	switch c {
	case 1:
		return core.KindOTP, true
	case 2:
		return core.KindNotice, true
	case 3:
		return core.KindApproval, true
	}
	return "", false
}

// --- writer helpers ---

func putStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func putTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	return binary.AppendVarint(append(b, 1), t.UnixNano())
}

func putStatus(b []byte, s core.Status) []byte {
	c := statusCode(s)
	b = append(b, c)
	if c == 0 {
		b = putStr(b, string(s))
	}
	return b
}

func putKind(b []byte, k core.Kind) []byte {
	c := kindCode(k)
	b = append(b, c)
	if c == 0 {
		b = putStr(b, string(k))
	}
	return b
}

// --- reader ---

type reader struct {
	b   []byte
	err error
	// src, when set, is the whole record as one string (len(src) bytes
	// ending where b ends): str returns substrings of it instead of
	// allocating each string.
	src string
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errCorrupt
	}
	r.b = nil
}

func (r *reader) byte1() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// int reads a uvarint that must fit a non-negative int32.
func (r *reader) int() int {
	v := r.uvarint()
	if v > 1<<31-1 {
		r.fail()
		return 0
	}
	return int(v)
}

func (r *reader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	var s string
	if r.src != "" {
		p := len(r.src) - len(r.b)
		s = r.src[p : p+int(n)]
	} else {
		s = string(r.b[:n])
	}
	r.b = r.b[n:]
	return s
}

func (r *reader) time() time.Time {
	switch r.byte1() {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(0, r.varint()).UTC()
	}
	r.fail()
	return time.Time{}
}

func (r *reader) status() core.Status {
	c := r.byte1()
	if c == 0 {
		return core.Status(r.str())
	}
	s, ok := statusOf(c)
	if !ok {
		r.fail()
	}
	return s
}

func (r *reader) kind() core.Kind {
	c := r.byte1()
	if c == 0 {
		return core.Kind(r.str())
	}
	k, ok := kindOf(c)
	if !ok {
		r.fail()
	}
	return k
}

// count reads an element count, each element taking at least min bytes.
func (r *reader) count(min int) int {
	n := r.uvarint()
	if n > uint64(len(r.b)/min) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *reader) done(what string) error {
	if r.err == nil && len(r.b) != 0 {
		r.err = errCorrupt
	}
	if r.err != nil {
		return fmt.Errorf("decode %s: %w", what, r.err)
	}
	return nil
}

// --- Message ---

// Record flags stored with a message.
const (
	flagQueued = 1 << 0 // the message holds a q/ key
	// flagApprovalText: the text field holds only what lies between the
	// approval template's head and tail (core.SplitApprovalText), about
	// 200 bytes less in every version of an approval's record.
	flagApprovalText = 1 << 1
)

// encodeMessage appends m's record to dst. queued says whether the message
// still has its queue key.
func encodeMessage(dst []byte, m *core.Message, queued bool) []byte {
	b := append(dst, recMessageV1)
	var flags byte
	if queued {
		flags |= flagQueued
	}
	text := m.Text
	if m.Kind == core.KindApproval {
		if name, ok := core.SplitApprovalText(text); ok {
			flags |= flagApprovalText
			text = name
		}
	}
	b = append(b, flags)
	b = putStr(b, m.ID)
	b = putKind(b, m.Kind)
	b = append(b, byte(m.Priority))
	b = putStr(b, m.To)
	b = putStr(b, m.Sender)
	b = putStr(b, text)
	b = putStr(b, m.Operator)
	b = append(b, m.ConcatRef)
	b = binary.AppendVarint(b, int64(m.Validity))
	b = putStr(b, m.ApplicationID)
	b = putStr(b, m.ClientID)
	b = putStr(b, m.CallbackURL)
	b = putStr(b, m.Reference)
	b = putTime(b, m.CreatedAt)
	b = putStatus(b, m.Status)
	b = binary.AppendUvarint(b, uint64(max(m.Attempts, 0)))
	b = binary.AppendUvarint(b, m.QueueSeq)
	b = binary.AppendUvarint(b, uint64(len(m.Parts)))
	for _, p := range m.Parts {
		b = putStatus(b, p.Status)
		b = putStr(b, p.SMSCID)
	}
	b = binary.AppendUvarint(b, uint64(len(m.History)))
	for _, h := range m.History {
		b = putStatus(b, h.Status)
		b = putTime(b, h.At)
		b = binary.AppendUvarint(b, uint64(max(h.Part, 0)))
		b = putStr(b, h.Operator)
		b = putStr(b, h.Bind)
		b = putStr(b, h.SMSCID)
		b = binary.AppendUvarint(b, uint64(h.SMPPStatus))
		b = putStr(b, h.ErrorCode)
	}
	return b
}

// historySpare is the room decodeMessage leaves in History for the hops an
// event appends (so a read-modify-write does not grow the slice).
const historySpare = 2

// decodeMessage parses a message record. Its strings share one allocation
// (a copy of b).
func decodeMessage(b []byte) (m *core.Message, queued bool, err error) {
	return decodeMessageFrom(b, string(b))
}

// decodeMessageShared parses a message record whose bytes are never
// modified (a cached or overlay value, or a fresh copy from disk): its
// strings point into b, without a copy.
func decodeMessageShared(b []byte) (m *core.Message, queued bool, err error) {
	if len(b) == 0 {
		return decodeMessage(b)
	}
	return decodeMessageFrom(b, unsafe.String(unsafe.SliceData(b), len(b)))
}

func decodeMessageFrom(b []byte, src string) (m *core.Message, queued bool, err error) {
	r := reader{b: b, src: src}
	if r.byte1() != recMessageV1 {
		return nil, false, fmt.Errorf("decode message: unknown version: %w", errCorrupt)
	}
	flags := r.byte1()
	m = &core.Message{}
	m.ID = r.str()
	m.Kind = r.kind()
	m.Priority = core.Priority(r.byte1())
	m.To = r.str()
	m.Sender = r.str()
	m.Text = r.str()
	if flags&flagApprovalText != 0 {
		m.Text = core.JoinApprovalText(m.Text)
	}
	m.Operator = r.str()
	m.ConcatRef = r.byte1()
	m.Validity = time.Duration(r.varint())
	m.ApplicationID = r.str()
	m.ClientID = r.str()
	m.CallbackURL = r.str()
	m.Reference = r.str()
	m.CreatedAt = r.time()
	m.Status = r.status()
	m.Attempts = r.int()
	m.QueueSeq = r.uvarint()
	if n := r.count(2); n > 0 {
		m.Parts = make([]core.PartState, n)
		for i := range m.Parts {
			m.Parts[i].Status = r.status()
			m.Parts[i].SMSCID = r.str()
		}
	}
	if n := r.count(9); n > 0 {
		m.History = make([]core.Hop, n, n+historySpare)
		for i := range m.History {
			h := &m.History[i]
			h.Status = r.status()
			h.At = r.time()
			h.Part = r.int()
			h.Operator = r.str()
			h.Bind = r.str()
			h.SMSCID = r.str()
			v := r.uvarint()
			if v > 1<<32-1 {
				r.fail()
			}
			h.SMPPStatus = uint32(v)
			h.ErrorCode = r.str()
		}
	}
	if m.Priority >= core.NumPriorities {
		r.fail()
	}
	if err := r.done("message"); err != nil {
		return nil, false, err
	}
	return m, flags&flagQueued != 0, nil
}

// --- Application ---

func encodeApplication(dst []byte, a *core.Application) []byte {
	b := append(dst, recApplicationV1)
	b = putStr(b, a.ApplicationID)
	b = putStr(b, a.IDNumber)
	b = putStr(b, a.FullName)
	b = putStr(b, a.DateOfBirth)
	b = putStr(b, string(a.Sex))
	b = putStr(b, a.Phone)
	b = binary.AppendUvarint(b, uint64(max(a.Level, 0)))
	b = putStr(b, a.ClientID)
	b = putStr(b, a.MessageID)
	return putTime(b, a.ReceivedAt)
}

func decodeApplication(b []byte) (*core.Application, error) {
	r := reader{b: b}
	if r.byte1() != recApplicationV1 {
		return nil, fmt.Errorf("decode application: unknown version: %w", errCorrupt)
	}
	a := &core.Application{}
	a.ApplicationID = r.str()
	a.IDNumber = r.str()
	a.FullName = r.str()
	a.DateOfBirth = r.str()
	a.Sex = core.Sex(r.str())
	a.Phone = r.str()
	a.Level = r.int()
	a.ClientID = r.str()
	a.MessageID = r.str()
	a.ReceivedAt = r.time()
	if err := r.done("application"); err != nil {
		return nil, err
	}
	return a, nil
}

// --- Report (outbox record: due time + report; Seq comes from the key) ---

func encodeReport(dst []byte, rp *core.Report, due time.Time) []byte {
	b := append(dst, recReportV1)
	b = putTime(b, due)
	b = putStr(b, rp.MessageID)
	b = putKind(b, rp.Kind)
	b = putStr(b, rp.ApplicationID)
	b = putStr(b, rp.Reference)
	b = putStr(b, rp.To)
	b = putStatus(b, rp.Status)
	b = putStr(b, rp.ErrorCode)
	b = putTime(b, rp.At)
	b = putStr(b, rp.ClientID)
	b = putStr(b, rp.CallbackURL)
	return binary.AppendUvarint(b, uint64(max(rp.Attempts, 0)))
}

func decodeReport(b []byte) (rp core.Report, due time.Time, err error) {
	r := reader{b: b}
	if r.byte1() != recReportV1 {
		return rp, due, fmt.Errorf("decode report: unknown version: %w", errCorrupt)
	}
	due = r.time()
	rp.MessageID = r.str()
	rp.Kind = r.kind()
	rp.ApplicationID = r.str()
	rp.Reference = r.str()
	rp.To = r.str()
	rp.Status = r.status()
	rp.ErrorCode = r.str()
	rp.At = r.time()
	rp.ClientID = r.str()
	rp.CallbackURL = r.str()
	rp.Attempts = r.int()
	if err := r.done("report"); err != nil {
		return core.Report{}, time.Time{}, err
	}
	return rp, due, nil
}

// --- pending DLR (a receipt that came before its submit_sm_resp) ---

func encodeDLR(dst []byte, e *core.Event) []byte {
	b := append(dst, recDLRV1)
	b = putStatus(b, e.Status)
	b = putStr(b, e.SMSCID)
	b = putStr(b, e.Bind)
	b = putStr(b, e.Phone)
	b = putStr(b, e.ErrorCode)
	b = binary.AppendUvarint(b, uint64(e.SMPPStatus))
	return putTime(b, e.At)
}

func decodeDLR(b []byte) (core.Event, error) {
	r := reader{b: b}
	if r.byte1() != recDLRV1 {
		return core.Event{}, fmt.Errorf("decode dlr: unknown version: %w", errCorrupt)
	}
	e := core.Event{Kind: core.EventDLR}
	e.Status = r.status()
	e.SMSCID = r.str()
	e.Bind = r.str()
	e.Phone = r.str()
	e.ErrorCode = r.str()
	v := r.uvarint()
	if v > 1<<32-1 {
		r.fail()
	}
	e.SMPPStatus = uint32(v)
	e.At = r.time()
	if err := r.done("dlr"); err != nil {
		return core.Event{}, err
	}
	return e, nil
}

// --- correlation value: part + message id ---

func encodeCorrelation(part int, id string) []byte {
	b := binary.AppendUvarint(make([]byte, 0, len(id)+2), uint64(part))
	return append(b, id...)
}

func decodeCorrelation(b []byte) (part int, id string, err error) {
	v, n := binary.Uvarint(b)
	if n <= 0 || v == 0 || v > 1<<16 || n == len(b) {
		return 0, "", fmt.Errorf("decode correlation: %w", errCorrupt)
	}
	return int(v), string(b[n:]), nil
}
