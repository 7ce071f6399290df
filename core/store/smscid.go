package store

import (
	"math/big"
	"strings"
)

// SMSC message ids come back in DLRs in a different form than in the
// submit_sm_resp on some SMSCs (decimal in one, hex in the other). The
// store keeps correlation keys in canonical form (lower case, leading
// zeros dropped) and looks a DLR's id up in each of its readings.

// canonSMSCID lowercases id and strips leading zeros ("" stays "").
func canonSMSCID(id string) string {
	id = strings.ToLower(strings.TrimSpace(id))
	t := strings.TrimLeft(id, "0")
	if t == "" && id != "" {
		return "0"
	}
	return t
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// maxSMSCIDLen bounds the ids converted between bases (SMPP allows 65).
const maxSMSCIDLen = 65

// smscIDVariants returns the canonical readings of id to try, in order:
// as given, its hex form if it is decimal, its decimal form if it is hex.
func smscIDVariants(id string) []string {
	c := canonSMSCID(id)
	if c == "" {
		return nil
	}
	out := make([]string, 1, 3)
	out[0] = c
	if len(c) > maxSMSCIDLen {
		return out
	}
	add := func(v string) {
		for _, o := range out {
			if o == v {
				return
			}
		}
		out = append(out, v)
	}
	if isDecimal(c) {
		var n big.Int
		if _, ok := n.SetString(c, 10); ok {
			add(n.Text(16))
		}
	}
	if isHex(c) {
		var n big.Int
		if _, ok := n.SetString(c, 16); ok {
			add(n.Text(10))
		}
	}
	return out
}
