package core

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"time"
)

// idEncoding is lower-case base32hex without padding: ids sort in time order.
var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// NewID returns a 26-character, time-ordered, random identifier: 48 bits of
// milliseconds followed by 80 random bits. Safe for concurrent use.
func NewID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic("core: crypto/rand failed: " + err.Error()) // the OS's randomness is gone; nothing safe to do
	}
	return idEncoding.EncodeToString(b[:])
}
