package core

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/crypto/argon2"
)

// Password policy (DESIGN.md): 8–20 characters with at least one digit, one
// upper-case letter, one lower-case letter and one special character.
// Characters are printable ASCII without space, so that a password typed on
// any keyboard or sent by SMS reads the same.
const (
	PasswordMinLen = 8
	PasswordMaxLen = 20
)

// ValidatePassword checks pw against the policy (EINVALID saying what is missing).
func ValidatePassword(pw string) error {
	if len(pw) < PasswordMinLen || len(pw) > PasswordMaxLen {
		return Errorf(EINVALID, "password: %d to %d characters", PasswordMinLen, PasswordMaxLen)
	}
	var digit, upper, lower, special bool
	for i := 0; i < len(pw); i++ {
		c := pw[i]
		switch {
		case c <= ' ' || c > '~':
			return Errorf(EINVALID, "password: letters, digits and ASCII symbols only, no spaces or accents")
		case c >= '0' && c <= '9':
			digit = true
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		default:
			special = true
		}
	}
	var missing []string
	if !digit {
		missing = append(missing, "a digit")
	}
	if !upper {
		missing = append(missing, "an upper-case letter")
	}
	if !lower {
		missing = append(missing, "a lower-case letter")
	}
	if !special {
		missing = append(missing, "a special character")
	}
	if len(missing) > 0 {
		return Errorf(EINVALID, "password: needs %s", strings.Join(missing, ", "))
	}
	return nil
}

// Character sets of generated passwords: no look-alikes (0/O, 1/l/I) and
// only symbols of the GSM 03.38 basic table, so an SMS carries it unchanged.
const (
	genUpper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	genLower   = "abcdefghijkmnopqrstuvwxyz"
	genDigits  = "23456789"
	genSpecial = "#%&*!?+=-"
	genLen     = 12
)

// GeneratePassword returns a random password of 12 characters that meets the
// policy, from crypto/rand.
func GeneratePassword() (string, error) {
	all := genUpper + genLower + genDigits + genSpecial
	b := make([]byte, genLen)
	sets := []string{genUpper, genLower, genDigits, genSpecial}
	for i := range b {
		set := all
		if i < len(sets) {
			set = sets[i]
		}
		c, err := randIndex(len(set))
		if err != nil {
			return "", err
		}
		b[i] = set[c]
	}
	// Fisher–Yates so the guaranteed classes are not at fixed places.
	for i := len(b) - 1; i > 0; i-- {
		j, err := randIndex(i + 1)
		if err != nil {
			return "", err
		}
		b[i], b[j] = b[j], b[i]
	}
	return string(b), nil
}

func randIndex(n int) (int, error) {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("random: %w", err)
	}
	return int(v.Int64()), nil
}

// ValidatePasscode checks a 6-digit passcode: exactly 6 digits, not one
// digit repeated (000000), not a run up or down (123456, 654321, 890123),
// not a repeated pair or triple (121212, 123123), not the birth date
// (dateOfBirth "YYYY-MM-DD"; DDMMYY, YYMMDD, MMDDYY, YYYYMM, MMYYYY, DDMMYYYY's
// first six digits).
func ValidatePasscode(code, dateOfBirth string) error {
	if len(code) != 6 {
		return Errorf(EINVALID, "passcode: exactly 6 digits")
	}
	for i := 0; i < 6; i++ {
		if code[i] < '0' || code[i] > '9' {
			return Errorf(EINVALID, "passcode: exactly 6 digits")
		}
	}
	up, down := true, true
	for i := 1; i < 6; i++ {
		d := (int(code[i]) - int(code[i-1]) + 10) % 10
		up = up && d == 1
		down = down && d == 9
	}
	if up || down {
		return Errorf(EINVALID, "passcode: too easy to guess (a run of digits)")
	}
	if code[:2] == code[2:4] && code[2:4] == code[4:] {
		return Errorf(EINVALID, "passcode: too easy to guess (a repeated pattern)")
	}
	if code[:3] == code[3:] {
		return Errorf(EINVALID, "passcode: too easy to guess (a repeated pattern)")
	}
	for _, f := range birthDateForms(dateOfBirth) {
		if code == f {
			return Errorf(EINVALID, "passcode: must not be your date of birth")
		}
	}
	return nil
}

// birthDateForms returns the 6-digit forms of a YYYY-MM-DD date (none if
// the date is malformed).
func birthDateForms(dob string) []string {
	if len(dob) != 10 || dob[4] != '-' || dob[7] != '-' {
		return nil
	}
	yyyy, mm, dd := dob[:4], dob[5:7], dob[8:]
	for _, p := range []string{yyyy, mm, dd} {
		if _, err := strconv.Atoi(p); err != nil {
			return nil
		}
	}
	yy := yyyy[2:]
	return []string{dd + mm + yy, yy + mm + dd, mm + dd + yy, yyyy + mm, mm + yyyy, dd + mm + yyyy[:2]}
}

// SecurityQuestion is one question of the fixed list. Numeric questions are
// answered with digits (USSD keypad); the others only over the web.
type SecurityQuestion struct {
	ID      int    `json:"id"`
	Text    string `json:"text"`    // Vietnamese without diacritics (fits a USSD screen)
	TextEN  string `json:"text_en"` // English
	Numeric bool   `json:"numeric"`
}

// SecurityQuestions returns the fixed list (a fresh copy).
func SecurityQuestions() []SecurityQuestion {
	return []SecurityQuestion{
		{1, "Nam sinh cua me ban?", "Your mother's year of birth?", true},
		{2, "Nam sinh cua bo ban?", "Your father's year of birth?", true},
		{3, "Ngay thang sinh cua nguoi ban than nhat (DDMM)?", "Your best friend's birthday (DDMM)?", true},
		{4, "So nha noi ban song luc nho?", "House number where you grew up?", true},
		{5, "Nam ban tot nghiep cap 3?", "Year you finished high school?", true},
		{6, "4 so cuoi so dien thoai dau tien cua ban?", "Last 4 digits of your first phone number?", true},
		{7, "Nam ban ket hon hoac bat dau di lam?", "Year you married or started work?", true},
		{8, "Ngay thang nam sinh cua con dau (DDMMYYYY)?", "Your first child's date of birth (DDMMYYYY)?", true},
		{9, "Ten truong tieu hoc dau tien cua ban?", "Name of your first primary school?", false},
		{10, "Ten thu cung dau tien cua ban?", "Name of your first pet?", false},
		{11, "Ten nguoi ban than thoi nho cua ban?", "Name of your childhood best friend?", false},
	}
}

// SecurityQuestionByID returns a question of the list.
func SecurityQuestionByID(id int) (SecurityQuestion, bool) {
	for _, q := range SecurityQuestions() {
		if q.ID == id {
			return q, true
		}
	}
	return SecurityQuestion{}, false
}

// NormalizeAnswer brings a security answer to the form that is hashed:
// diacritics stripped, lower case, runs of white space made one space and
// trimmed; numeric questions keep their digits only (spaces, dots, dashes
// dropped) and must have 1–12 of them.
func NormalizeAnswer(q SecurityQuestion, answer string) (string, error) {
	if len(answer) > 200 {
		return "", Errorf(EINVALID, "answer: at most 100 characters")
	}
	if q.Numeric {
		var b strings.Builder
		for _, r := range answer {
			switch {
			case r >= '0' && r <= '9':
				b.WriteRune(r)
			case unicode.IsSpace(r) || r == '.' || r == '-' || r == '/':
			default:
				return "", Errorf(EINVALID, "answer to question %d: digits only", q.ID)
			}
		}
		if b.Len() == 0 || b.Len() > 12 {
			return "", Errorf(EINVALID, "answer to question %d: 1 to 12 digits", q.ID)
		}
		return b.String(), nil
	}
	// Invalid UTF-8 becomes U+FFFD first, and lower-casing happens on both
	// sides of the stripping, so that normalising twice changes nothing (an
	// answer must hash the same however often it is normalised; found by
	// FuzzNormalizeAnswer).
	clean := strings.ToValidUTF8(answer, "\uFFFD")
	s := strings.Join(strings.Fields(strings.ToLower(StripDiacritics(strings.ToLower(clean)))), " ")
	if s == "" {
		return "", Errorf(EINVALID, "answer to question %d: required", q.ID)
	}
	if len([]rune(s)) > 100 {
		return "", Errorf(EINVALID, "answer: at most 100 characters")
	}
	return s, nil
}

// CheckQuestions validates two chosen questions and their answers and
// returns the normalised answers. numericOnly restricts the choice to
// keypad questions (USSD).
func CheckQuestions(q1 int, a1 string, q2 int, a2 string, numericOnly bool) (n1, n2 string, err error) {
	if q1 == q2 {
		return "", "", Errorf(EINVALID, "security questions: choose two different questions")
	}
	var out [2]string
	for i, qa := range []struct {
		id int
		a  string
	}{{q1, a1}, {q2, a2}} {
		q, ok := SecurityQuestionByID(qa.id)
		if !ok || (numericOnly && !q.Numeric) {
			return "", "", Errorf(EINVALID, "security questions: unknown question %d", qa.id)
		}
		if out[i], err = NormalizeAnswer(q, qa.a); err != nil {
			return "", "", err
		}
	}
	return out[0], out[1], nil
}

// Argon2Params are argon2id's cost parameters.
type Argon2Params struct {
	Time      uint32 // passes
	MemoryKiB uint32
	Threads   uint8
}

// DefaultArgon2Params cost about 30 ms per hash on the reference 2-core
// machine (BenchmarkArgon2id) with 19 MiB of memory per hash in flight.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{Time: 2, MemoryKiB: 19 * 1024, Threads: 1}
}

// Hasher hashes and checks passwords, passcodes and security answers with
// argon2id. The secret is first keyed with HMAC-SHA256(pepper, …) when a
// pepper is set, so a copy of the database alone does not allow guessing
// offline. At most MaxConcurrent hashes run at once (each takes MemoryKiB),
// which bounds memory under a burst of log-ins.
type Hasher struct {
	params Argon2Params
	pepper []byte
	sem    chan struct{}
}

// NewHasher returns a Hasher; maxConcurrent <= 0 means 2.
func NewHasher(p Argon2Params, pepper []byte, maxConcurrent int) *Hasher {
	if maxConcurrent <= 0 {
		maxConcurrent = 2
	}
	if p.Time == 0 || p.MemoryKiB == 0 || p.Threads == 0 {
		p = DefaultArgon2Params()
	}
	return &Hasher{params: p, pepper: append([]byte(nil), pepper...), sem: make(chan struct{}, maxConcurrent)}
}

const argon2KeyLen = 32

func (h *Hasher) key(domain, secret string) []byte {
	if len(h.pepper) == 0 {
		return []byte(domain + "|" + secret)
	}
	m := hmac.New(sha256.New, h.pepper)
	m.Write([]byte(domain + "|" + secret))
	return m.Sum(nil)
}

func (h *Hasher) derive(ctx context.Context, in, salt []byte, p Argon2Params, keyLen int) ([]byte, error) {
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, Errorf(EUNAVAILABLE, "hashing: %w", ctx.Err())
	}
	defer func() { <-h.sem }()
	return argon2.IDKey(in, salt, p.Time, p.MemoryKiB, p.Threads, uint32(keyLen)), nil
}

// Hash returns the encoded argon2id hash of secret in domain ("password",
// "passcode", "answer"): "$argon2id$v=19$m=…,t=…,p=…$salt$hash".
func (h *Hasher) Hash(ctx context.Context, domain, secret string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", Errorf(EINTERNAL, "salt: %w", err)
	}
	sum, err := h.derive(ctx, h.key(domain, secret), salt, h.params, argon2KeyLen)
	if err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.params.MemoryKiB, h.params.Time, h.params.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// Verify reports whether secret matches encoded. A malformed or empty
// encoded hash still costs one hash (so timing does not tell) and returns
// false.
func (h *Hasher) Verify(ctx context.Context, domain, secret, encoded string) (bool, error) {
	p, salt, want, err := ParseArgon2Hash(encoded)
	if err != nil {
		p, salt, want = h.params, make([]byte, 16), make([]byte, argon2KeyLen)
	}
	got, derr := h.derive(ctx, h.key(domain, secret), salt, p, len(want))
	if derr != nil {
		return false, derr
	}
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1, nil
}

// Argon2 parameter bounds accepted when parsing a stored hash (a corrupted
// record must not make the server allocate gigabytes).
const (
	maxArgon2MemoryKiB = 256 * 1024
	maxArgon2Time      = 16
	maxArgon2Threads   = 8
)

// ParseArgon2Hash decodes "$argon2id$v=19$m=M,t=T,p=P$salt$hash" (EINVALID
// for anything else, including parameters out of bounds).
func ParseArgon2Hash(s string) (p Argon2Params, salt, sum []byte, err error) {
	bad := func(what string) (Argon2Params, []byte, []byte, error) {
		return Argon2Params{}, nil, nil, Errorf(EINVALID, "argon2 hash: %s", what)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("not an argon2id hash")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version")
	}
	var m, t, th uint64
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return bad("bad parameters")
	}
	for i, want := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(kv[i], want)
		if !ok {
			return bad("bad parameters")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("bad parameters")
		}
		switch i {
		case 0:
			m = n
		case 1:
			t = n
		case 2:
			th = n
		}
	}
	if t < 1 || t > maxArgon2Time || th < 1 || th > maxArgon2Threads || m < 8*th || m > maxArgon2MemoryKiB {
		return bad("parameters out of bounds")
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 || len(salt) > 64 {
		return bad("bad salt")
	}
	if sum, err = b64.DecodeString(parts[5]); err != nil || len(sum) < 16 || len(sum) > 64 {
		return bad("bad hash")
	}
	return Argon2Params{Time: uint32(t), MemoryKiB: uint32(m), Threads: uint8(th)}, salt, sum, nil
}
