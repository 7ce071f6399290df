package core

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// Operator route names.
const (
	OperatorViettel      = "viettel"
	OperatorVinaphone    = "vinaphone"
	OperatorMobifone     = "mobifone"
	OperatorVietnamobile = "vietnamobile"
	OperatorGmobile      = "gmobile"
	OperatorItelecom     = "itelecom"
)

// MaxPortedRows bounds a ported-number file read by ParsePortedCSV.
const MaxPortedRows = 5_000_000

// DefaultPrefixes returns the Vietnamese mobile national prefixes ("032")
// and the operator that issued each. The caller owns the returned map.
func DefaultPrefixes() map[string]string {
	m := make(map[string]string, 40)
	add := func(op string, prefixes ...string) {
		for _, p := range prefixes {
			m[p] = op
		}
	}
	add(OperatorViettel, "032", "033", "034", "035", "036", "037", "038", "039", "086", "096", "097", "098")
	add(OperatorVinaphone, "081", "082", "083", "084", "085", "088", "091", "094")
	add(OperatorMobifone, "070", "076", "077", "078", "079", "089", "090", "093")
	add(OperatorVietnamobile, "052", "056", "058", "092")
	add(OperatorGmobile, "059", "099")
	add(OperatorItelecom, "087")
	return m
}

// Router picks the operator route of a normalised MSISDN: the ported-number
// table first, then the national prefix, then the default route. It is safe
// for concurrent use; the prefix table is fixed at construction and read
// without locking, the ported table is behind a read-write lock.
type Router struct {
	prefix       [100]string // by the two digits after the national 0 ("032" → 32)
	defaultRoute string
	operators    []string // sorted, unique: prefix operators and the default

	mu      sync.RWMutex
	ported  map[uint32]uint16 // subscriber number (9 digits) → index in names
	names   []string          // interned operator names of ported entries
	nameIdx map[string]uint16
}

// NewRouter returns a Router over prefixes (national prefix such as "032"
// → operator; see DefaultPrefixes) falling back to defaultRoute. Prefixes
// must be 3 digits starting with 0 and operators non-empty (EINVALID).
func NewRouter(prefixes map[string]string, defaultRoute string) (*Router, error) {
	defaultRoute = strings.TrimSpace(defaultRoute)
	if defaultRoute == "" {
		return nil, Errorf(EINVALID, "routing: default route is empty")
	}
	r := &Router{
		defaultRoute: defaultRoute,
		ported:       make(map[uint32]uint16),
		nameIdx:      make(map[string]uint16),
	}
	seen := map[string]bool{defaultRoute: true}
	for p, op := range prefixes {
		if len(p) != 3 || p[0] != '0' || !isDigit(p[1]) || !isDigit(p[2]) {
			return nil, Errorf(EINVALID, "routing: prefix %q is not 3 digits starting with 0", p)
		}
		op = strings.TrimSpace(op)
		if op == "" {
			return nil, Errorf(EINVALID, "routing: prefix %s has no operator", p)
		}
		r.prefix[int(p[1]-'0')*10+int(p[2]-'0')] = op
		seen[op] = true
	}
	for op := range seen {
		r.operators = append(r.operators, op)
	}
	sort.Strings(r.operators)
	return r, nil
}

// Route returns the operator route of msisdn (normalised, 84 + 9 digits):
// its ported operator if any, else its prefix's operator, else the default
// route. A malformed msisdn gets the default route.
func (r *Router) Route(msisdn string) string {
	key, ok := subscriberKey(msisdn)
	if !ok {
		return r.defaultRoute
	}
	r.mu.RLock()
	idx, ported := r.ported[key]
	var op string
	if ported {
		op = r.names[idx]
	}
	r.mu.RUnlock()
	if ported {
		return op
	}
	if op := r.prefix[int(msisdn[2]-'0')*10+int(msisdn[3]-'0')]; op != "" {
		return op
	}
	return r.defaultRoute
}

// SetPorted merges entries (MSISDN → operator) into the ported table. Keys
// are normalised MSISDNs (other forms NormalizeMSISDN accepts are
// normalised here); entries whose key is not a mobile number or whose
// operator is empty are skipped.
func (r *Router) SetPorted(entries map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for msisdn, op := range entries {
		key, ok := portedKey(msisdn)
		op = strings.TrimSpace(op)
		if !ok || op == "" {
			continue
		}
		idx, known := r.nameIdx[op]
		if !known {
			if len(r.names) > 0xFFFF {
				continue // more than 65536 distinct operator names: not a real table
			}
			idx = uint16(len(r.names))
			r.names = append(r.names, op)
			r.nameIdx[op] = idx
		}
		r.ported[key] = idx
	}
}

// DeletePorted removes numbers from the ported table; unknown or malformed
// numbers are ignored.
func (r *Router) DeletePorted(msisdns []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, msisdn := range msisdns {
		if key, ok := portedKey(msisdn); ok {
			delete(r.ported, key)
		}
	}
}

// PortedCount returns the number of entries in the ported table.
func (r *Router) PortedCount() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.ported)
}

// DefaultRoute returns the fallback route.
func (r *Router) DefaultRoute() string { return r.defaultRoute }

// Operators returns the sorted, unique operator names of the prefix table
// and the default route. The caller owns the slice.
func (r *Router) Operators() []string {
	return append([]string(nil), r.operators...)
}

// subscriberKey returns the 9 subscriber digits of a normalised MSISDN as
// a number.
func subscriberKey(msisdn string) (uint32, bool) {
	if len(msisdn) != msisdnLen || msisdn[0] != '8' || msisdn[1] != '4' {
		return 0, false
	}
	var k uint32
	for i := 2; i < msisdnLen; i++ {
		c := msisdn[i]
		if !isDigit(c) {
			return 0, false
		}
		k = k*10 + uint32(c-'0')
	}
	return k, true
}

// portedKey is subscriberKey for a number in any accepted form.
func portedKey(s string) (uint32, bool) {
	if k, ok := subscriberKey(s); ok {
		return k, true
	}
	n, err := NormalizeMSISDN(s)
	if err != nil {
		return 0, false
	}
	return subscriberKey(n)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// maxPortedLine bounds one line of a ported-number file.
const maxPortedLine = 4096

// ParsePortedCSV reads a ported-number table: one `msisdn,operator` a line,
// numbers in any form NormalizeMSISDN accepts, operator names of letters,
// digits, '_' or '-' (lower-cased). Blank lines and lines starting with '#'
// are ignored, as is a first line whose number field holds no digit (a
// header). A later line for the same number wins. Errors are EINVALID and
// name the line; more than MaxPortedRows rows is ETOOLARGE; a failing
// reader's error is wrapped.
func ParsePortedCSV(r io.Reader) (map[string]string, error) {
	return parsePortedCSV(r, MaxPortedRows)
}

func parsePortedCSV(r io.Reader, maxRows int) (map[string]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, maxPortedLine), maxPortedLine)
	out := make(map[string]string)
	rows := 0
	line := 0
	headerAllowed := true
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		num, op, found := bytes.Cut(b, []byte{','})
		num, op = bytes.TrimSpace(num), bytes.TrimSpace(op)
		if headerAllowed {
			headerAllowed = false
			if bytes.IndexFunc(num, func(r rune) bool { return r >= '0' && r <= '9' }) < 0 {
				continue // header
			}
		}
		if !found {
			return nil, Errorf(EINVALID, "ported csv: line %d: want msisdn,operator", line)
		}
		if bytes.IndexByte(op, ',') >= 0 {
			return nil, Errorf(EINVALID, "ported csv: line %d: more than 2 fields", line)
		}
		msisdn, err := NormalizeMSISDN(string(num))
		if err != nil {
			return nil, Errorf(EINVALID, "ported csv: line %d: %s", line, ErrorMessage(err))
		}
		name, ok := operatorName(op)
		if !ok {
			return nil, Errorf(EINVALID, "ported csv: line %d: operator must be 1-32 letters, digits, '_' or '-'", line)
		}
		rows++
		if rows > maxRows {
			return nil, Errorf(ETOOLARGE, "ported csv: more than %d rows", maxRows)
		}
		out[msisdn] = name
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, Errorf(EINVALID, "ported csv: line %d: longer than %d bytes", line+1, maxPortedLine)
		}
		// A failing reader keeps its own error code (EINTERNAL if it has none).
		return nil, fmt.Errorf("ported csv: read after line %d: %w", line, err)
	}
	return out, nil
}

// operatorName validates and lower-cases an operator name.
func operatorName(b []byte) (string, bool) {
	if len(b) == 0 || len(b) > 32 {
		return "", false
	}
	for _, c := range b {
		if !(isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-') {
			return "", false
		}
	}
	return strings.ToLower(string(b)), true
}
