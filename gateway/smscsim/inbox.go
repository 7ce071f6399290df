package smscsim

import (
	"context"
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"vneidgw/core"
)

// InboxMessage is a complete text as the handset shows it.
type InboxMessage struct {
	From               string    `json:"from"`
	To                 string    `json:"to"`
	Text               string    `json:"text"`
	Parts              int       `json:"parts"`
	At                 time.Time `json:"at"`
	DataCoding         uint8     `json:"data_coding"`
	ValidityPeriod     string    `json:"validity_period,omitempty"`
	RegisteredDelivery uint8     `json:"registered_delivery"`
}

// inboxState reassembles concatenated texts, detects duplicate parts and
// keeps the last messages per phone, all within fixed bounds.
type inboxState struct {
	mu      sync.Mutex
	seed    maphash.Seed
	seen    map[uint64]struct{} // hashes of accepted parts
	asm     map[asmKey]*assembly
	phones  map[string]*phoneBox
	order   []string // phones in first-seen order, for eviction
	waiters []waiter
	done    bool
}

type asmKey struct {
	from, to string
	ref      uint8
	total    int
}

type assembly struct {
	parts []string
	got   int
	first InboxMessage
}

type phoneBox struct {
	msgs []InboxMessage // ring of at most maxInboxPerPhone
	next int            // ring write position once full
}

type waiter struct {
	n  uint64
	ch chan struct{}
}

func (in *inboxState) init() {
	in.seed = maphash.MakeSeed()
	in.seen = make(map[uint64]struct{})
	in.asm = make(map[asmKey]*assembly)
	in.phones = make(map[string]*phoneBox)
}

// recordPart files one accepted part and returns its text (for the DLR).
// A part is a duplicate when the same destination got the same
// short_message octets (the UDH holds the part number) before; duplicates
// are counted but still delivered, as a real handset would show them.
func (s *Server) recordPart(sub *submitSM, now time.Time) string {
	udh := sub.ESMClass&0x40 != 0
	ref, total, seq, text, err := core.DecodeText(core.Coding(sub.DataCoding), udh, sub.SM)
	if err != nil {
		// Keep what a handset would show: the raw octets, made printable.
		text, total, seq = printable(sub.SM), 1, 1
	}
	var h maphash.Hash
	in := &s.inbox
	h.SetSeed(in.seed)
	h.WriteString(sub.Dst)
	h.WriteByte(0)
	h.WriteByte(sub.DataCoding)
	h.WriteByte(sub.ESMClass & 0x40)
	h.Write(sub.SM)
	sum := h.Sum64()

	msg := InboxMessage{
		From: sub.Src, To: sub.Dst, Text: text, Parts: 1, At: now,
		DataCoding: sub.DataCoding, ValidityPeriod: sub.ValidityPeriod,
		RegisteredDelivery: sub.RegisteredDelivery,
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if _, dup := in.seen[sum]; dup {
		s.duplicates.Add(1)
	} else {
		if len(in.seen) >= maxDedupe {
			clear(in.seen)
		}
		in.seen[sum] = struct{}{}
	}
	if total <= 1 {
		s.deliverLocked(msg)
		return text
	}
	k := asmKey{from: sub.Src, to: sub.Dst, ref: ref, total: total}
	a := in.asm[k]
	if a == nil {
		if len(in.asm) >= maxAssemblies {
			for old := range in.asm { // forget an arbitrary incomplete text
				delete(in.asm, old)
				break
			}
		}
		a = &assembly{parts: make([]string, total), first: msg}
		in.asm[k] = a
	}
	if seq >= 1 && seq <= total && a.parts[seq-1] == "" {
		a.parts[seq-1] = text
		a.got++
		if text == "" {
			a.parts[seq-1] = "\x00" // mark an empty part as received
		}
	}
	if a.got == total {
		delete(in.asm, k)
		m := a.first
		for i, p := range a.parts {
			if p == "\x00" {
				a.parts[i] = ""
			}
		}
		m.Text, m.Parts, m.At = strings.Join(a.parts, ""), total, now
		s.deliverLocked(m)
	}
	return text
}

// deliverLocked puts a complete message in its phone's inbox and wakes
// waiters. Call with s.inbox.mu held.
func (s *Server) deliverLocked(m InboxMessage) {
	in := &s.inbox
	box := in.phones[m.To]
	if box == nil {
		if len(in.phones) >= maxInboxPhones {
			old := in.order[0]
			in.order = in.order[1:]
			delete(in.phones, old)
		}
		box = &phoneBox{}
		in.phones[m.To] = box
		in.order = append(in.order, m.To)
	}
	if len(box.msgs) < maxInboxPerPhone {
		box.msgs = append(box.msgs, m)
	} else {
		box.msgs[box.next] = m
		box.next = (box.next + 1) % maxInboxPerPhone
	}
	n := s.messages.Add(1)
	if len(in.waiters) > 0 {
		kept := in.waiters[:0]
		for _, w := range in.waiters {
			if n >= w.n {
				close(w.ch)
			} else {
				kept = append(kept, w)
			}
		}
		in.waiters = kept
	}
}

// Inbox returns the complete texts delivered to phone (84xxxxxxxxx),
// oldest first; at most the last 100 are kept per phone.
func (s *Server) Inbox(phone string) []InboxMessage {
	in := &s.inbox
	in.mu.Lock()
	defer in.mu.Unlock()
	box := in.phones[phone]
	if box == nil {
		return nil
	}
	out := make([]InboxMessage, 0, len(box.msgs))
	out = append(out, box.msgs[box.next:]...)
	return append(out, box.msgs[:box.next]...)
}

// WaitMessages blocks until Stats().Messages >= n, ctx ends (its error) or
// the server closes (EUNAVAILABLE).
func (s *Server) WaitMessages(ctx context.Context, n uint64) error {
	in := &s.inbox
	in.mu.Lock()
	if s.messages.Load() >= n {
		in.mu.Unlock()
		return nil
	}
	if in.done {
		in.mu.Unlock()
		return core.Errorf(core.EUNAVAILABLE, "smscsim: server closed")
	}
	ch := make(chan struct{})
	in.waiters = append(in.waiters, waiter{n: n, ch: ch})
	in.mu.Unlock()
	select {
	case <-ch:
		if s.messages.Load() >= n {
			return nil
		}
		return core.Errorf(core.EUNAVAILABLE, "smscsim: server closed")
	case <-ctx.Done():
		in.mu.Lock()
		for i, w := range in.waiters {
			if w.ch == ch {
				in.waiters = append(in.waiters[:i], in.waiters[i+1:]...)
				break
			}
		}
		in.mu.Unlock()
		return ctx.Err()
	}
}

// closeWaiters releases every WaitMessages caller when the server closes.
func (in *inboxState) closeWaiters() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.done = true
	for _, w := range in.waiters {
		close(w.ch)
	}
	in.waiters = nil
}

// printable renders octets that could not be decoded: ASCII kept, the
// rest as '?'.
func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 0x20 && c < 0x7f {
			out[i] = c
		} else {
			out[i] = '?'
		}
	}
	return string(out)
}
