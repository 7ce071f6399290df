package core

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The text and validation hot paths were rewritten for speed (single
// passes, a per-rune table for stripping diacritics, an ASCII fast path
// for the approval text). The implementations they replaced are kept here
// verbatim, renamed ref*, and the tests below check the new ones give
// byte-for-byte the same results over many generated inputs.

func refStripDiacritics(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	d := norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range d {
		switch {
		case r == 'đ':
			b.WriteByte('d')
		case r == 'Đ', r == 'Ð':
			b.WriteByte('D')
		case unicode.Is(unicode.Mn, r):
		default:
			b.WriteRune(r)
		}
	}
	return norm.NFC.String(b.String())
}

func refPrepareText(s string) string {
	if t := refStripDiacritics(s); IsGSM7(t) {
		return t
	}
	return s
}

func refApprovalText(fullName string) string {
	name := strings.ToUpper(refStripDiacritics(fullName))
	var b strings.Builder
	b.Grow(len(approvalTextHead) + len(name) + len(approvalTextTail))
	b.WriteString(approvalTextHead)
	space := false // a space is owed before the next kept rune
	wrote := false
	for _, r := range name {
		if unicode.IsSpace(r) {
			space = wrote
			continue
		}
		if _, _, ok := gsm7Code(r); !ok {
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		wrote = true
	}
	if !wrote {
		// No printable name left: keep the sentence well formed.
		return approvalTextHead[:len(approvalTextHead)-1] + approvalTextTail
	}
	b.WriteString(approvalTextTail)
	return b.String()
}

func refGSM7Next(s string, i int) (code byte, ext bool, size int) {
	if c := s[i]; c < utf8.RuneSelf {
		v := gsm7ASCII[c]
		return v & 0x7F, v&0x80 != 0, 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	code, ext, _ = gsm7Code(r)
	return code, ext, size
}

func refGSM7Len(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); {
		var ext, ok bool
		if c := s[i]; c < utf8.RuneSelf {
			v := gsm7ASCII[c]
			ext, ok = v&0x80 != 0, v != 0xFF
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			_, ext, ok = gsm7Code(r)
			i += size
		}
		if !ok {
			return 0, false
		}
		n++
		if ext {
			n++
		}
	}
	return n, true
}

func refAppendGSM7(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		code, ext, size := refGSM7Next(s, i)
		if ext {
			b = append(b, gsm7Escape)
		}
		b = append(b, code)
		i += size
	}
	return b
}

func refMeasureText(text string) (coding Coding, units, parts int) {
	if n, ok := refGSM7Len(text); ok {
		if n <= gsm7SingleSeptets {
			return CodingGSM7, n, 1
		}
		// Greedy split, as EncodeText does: an escape pair that does not
		// fit opens the next part.
		parts, used := 1, 0
		for i := 0; i < len(text); {
			_, ext, size := refGSM7Next(text, i)
			i += size
			w := 1
			if ext {
				w = 2
			}
			if used+w > gsm7PartSeptets {
				parts++
				used = 0
			}
			used += w
		}
		return CodingGSM7, n, parts
	}
	for _, r := range text {
		units += ucs2Len(r)
	}
	if units <= ucs2SingleUnits {
		return CodingUCS2, units, 1
	}
	parts, used := 1, 0
	for _, r := range text {
		w := ucs2Len(r)
		if used+w > ucs2PartUnits {
			parts++
			used = 0
		}
		used += w
	}
	return CodingUCS2, units, parts
}

func refCountParts(text string) (Coding, int) {
	if text == "" {
		return CodingGSM7, 0
	}
	coding, _, parts := refMeasureText(text)
	return coding, parts
}

func refAppendUnits(b []byte, coding Coding, text string) []byte {
	if coding == CodingGSM7 {
		return refAppendGSM7(b, text)
	}
	for _, r := range text {
		b = appendUCS2(b, r)
	}
	return b
}

func refEncodeText(text string, ref uint8) (Encoded, error) {
	if text == "" {
		return Encoded{}, Errorf(EINVALID, "text: empty")
	}
	coding, units, parts := refMeasureText(text)
	if parts > MaxParts {
		return Encoded{}, Errorf(ETOOLARGE, "text: needs %d SMS parts, at most %d allowed", parts, MaxParts)
	}
	width := 1 // octets per unit
	per := gsm7PartSeptets
	if coding == CodingUCS2 {
		width, per = 2, ucs2PartUnits
	}
	if parts == 1 {
		buf := refAppendUnits(make([]byte, 0, units*width), coding, text)
		return Encoded{Coding: coding, Parts: [][]byte{buf}}, nil
	}
	buf := make([]byte, 0, units*width+parts*concatUDHLen)
	out := make([][]byte, 0, parts)
	total := byte(parts)
	seq := byte(1)
	start := 0
	buf = append(buf, 0x05, 0x00, 0x03, ref, total, seq)
	used := 0
	// next part closes the current part and opens the next when n more
	// units do not fit.
	next := func(n int) {
		if used+n > per {
			out = append(out, buf[start:len(buf):len(buf)])
			start = len(buf)
			seq++
			buf = append(buf, 0x05, 0x00, 0x03, ref, total, seq)
			used = 0
		}
		used += n
	}
	if coding == CodingGSM7 {
		for i := 0; i < len(text); {
			code, ext, size := refGSM7Next(text, i)
			i += size
			if ext {
				next(2)
				buf = append(buf, gsm7Escape, code)
			} else {
				next(1)
				buf = append(buf, code)
			}
		}
	} else {
		for _, r := range text {
			next(ucs2Len(r))
			buf = appendUCS2(buf, r)
		}
	}
	out = append(out, buf[start:len(buf):len(buf)])
	return Encoded{Coding: coding, Parts: out, UDH: true}, nil
}

func refNormalizeName(s string) string {
	return strings.Join(strings.Fields(norm.NFC.String(s)), " ")
}

func refValidateIDNumber(id, dateOfBirth string, sex Sex) error {
	if id == "" {
		return Errorf(EINVALID, "id_number: required")
	}
	if len(id) != idNumberLen {
		return Errorf(EINVALID, "id_number: must be %d digits", idNumberLen)
	}
	for i := 0; i < len(id); i++ {
		if !isDigit(id[i]) {
			return Errorf(EINVALID, "id_number: must be %d digits", idNumberLen)
		}
	}
	dob, err := parseDateOfBirth(dateOfBirth)
	if err != nil {
		return err
	}
	if sex != SexMale && sex != SexFemale {
		return Errorf(EINVALID, "sex: must be %q or %q", SexMale, SexFemale)
	}
	year := dob.Year()
	if year >= 2400 {
		return Errorf(EINVALID, "date_of_birth: year %d has no ID century code", year)
	}
	want := byte('0' + 2*((year-1900)/100))
	if sex == SexFemale {
		want++
	}
	if id[3] != want {
		return Errorf(EINVALID, "id_number: century/sex digit %c does not match a %s born in %d", id[3], sex, year)
	}
	if yy := id[4:6]; int(yy[0]-'0')*10+int(yy[1]-'0') != year%100 {
		return Errorf(EINVALID, "id_number: birth-year digits %s do not match birth year %d", yy, year)
	}
	return nil
}

func refValidateAt(a *Application, now time.Time) error {
	if err := validateApplicationID(a.ApplicationID); err != nil {
		return err
	}
	a.FullName = refNormalizeName(a.FullName)
	if err := validateFullName(a.FullName); err != nil {
		return err
	}
	dob, err := parseDateOfBirth(a.DateOfBirth)
	if err != nil {
		return err
	}
	if dob.After(today(now)) {
		return Errorf(EINVALID, "date_of_birth: %s is in the future", a.DateOfBirth)
	}
	if a.Sex != SexMale && a.Sex != SexFemale {
		return Errorf(EINVALID, "sex: must be %q or %q", SexMale, SexFemale)
	}
	if err := refValidateIDNumber(a.IDNumber, a.DateOfBirth, a.Sex); err != nil {
		return err
	}
	phone, err := NormalizeMSISDN(a.Phone)
	if err != nil {
		return err
	}
	a.Phone = phone
	if a.Level != 1 && a.Level != 2 {
		return Errorf(EINVALID, "level: must be 1 or 2")
	}
	return nil
}

// textPieces are what generated texts are made of: ASCII (GSM-7 and not,
// extension characters, every kind of whitespace), Vietnamese letters
// precomposed and decomposed, combining marks alone, other accented Latin,
// GSM-7's non-ASCII letters, Greek, CJK, Hangul (syllables and jamo),
// astral runes, U+FFFD and invalid UTF-8.
var textPieces = []string{
	"a", "Z", "0", " ", " ", " ", "  ", "\t", "\n", "\r", "\v", "\f", "\x00", "\x1b", "`", "@", "$", "_", "€", "{", "}", "[", "]", "~", "|", "^", "\\",
	"\u0085", "\u00a0", "\u1680", "\u2000", "\u2009", "\u2028", "\u202f", "\u205f", "\u3000",
	"Nguyễn", "Văn", "Đức", "đ", "Đ", "Ð", "ð", "Trần", "thị", "Hương", "ƯỚC", "ơ", "ư", "Ơn", "Ỹ", "ỷ", "ặ", "Ậ",
	"e\u0301", "o\u031b\u0300", "u\u031b", "A\u0323\u0302", "\u0301", "\u0323\u0300", "\u034f", "\u0345", "\u0344", "\u0340",
	"é", "É", "è", "ü", "Ü", "ñ", "Ñ", "ç", "Ç", "å", "Å", "ø", "Ø", "æ", "Æ", "ß", "ẞ", "ı", "ſ", "ǆ", "Ǆ", "ǅ", "ǖ", "Ǻ", "ȁ", "ɐ", "Ł", "ł", "Ŋ", "Ħ", "Œ", "œ", "ĳ", "K", "Å",
	"£", "¥", "¤", "§", "¡", "¿", "Δ", "Φ", "Γ", "Λ", "Ω", "Π", "Ψ", "Σ", "Θ", "Ξ", "ά", "ΐ", "й", "ё", "\u0483", "\u0488",
	"李", "小龙", "한국어", "\u1100\u1161\u11a8", "\u1100", "\u1161", "😀", "𝒜", "\ufffd", "\xff", "\xc3", "\xe1\xba", "\xed\xa0\x80",
	"ḁ", "ṩ", "ẛ", "ẞ", "ỿ", "\u1dc0", "\u20dd", "\u0e31", "\u0f71\u0f72", "\U0001D165", "a\U0001D165\u0301",
}

// randomText joins up to n pieces of textPieces, or random runes and bytes.
func randomText(rng *rand.Rand, n int) string {
	var b strings.Builder
	for k := rng.IntN(n + 1); k > 0; k-- {
		switch rng.IntN(10) {
		case 0:
			b.WriteRune(rune(rng.IntN(0x2000)))
		case 1:
			b.WriteRune(rune(rng.IntN(0x110000)))
		case 2:
			b.WriteByte(byte(rng.IntN(256)))
		default:
			b.WriteString(textPieces[rng.IntN(len(textPieces))])
		}
	}
	return b.String()
}

// asciiText is a random ASCII text (GSM-7 but for a few bytes), long
// enough for several parts.
func asciiText(rng *rand.Rand, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,:-'\"!?@$_%&()*+/;<=>#\n\r"
	const ext = "{}[]~|^\\"
	b := make([]byte, rng.IntN(n+1))
	for i := range b {
		switch rng.IntN(40) {
		case 0:
			b[i] = ext[rng.IntN(len(ext))]
		case 1:
			b[i] = byte(rng.IntN(128))
		default:
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
	}
	return string(b)
}

func sameEncoded(a, b Encoded) bool {
	if a.Coding != b.Coding || a.UDH != b.UDH || len(a.Parts) != len(b.Parts) {
		return false
	}
	for i := range a.Parts {
		if !bytes.Equal(a.Parts[i], b.Parts[i]) {
			return false
		}
	}
	return true
}

// checkText compares every rewritten text function with its reference on s.
func checkText(t *testing.T, s string) {
	t.Helper()
	if got, want := StripDiacritics(s), refStripDiacritics(s); got != want {
		t.Fatalf("StripDiacritics(%+q) = %+q, reference %+q", s, got, want)
	}
	if got, want := PrepareText(s), refPrepareText(s); got != want {
		t.Fatalf("PrepareText(%+q) = %+q, reference %+q", s, got, want)
	}
	if got, want := ApprovalText(s), refApprovalText(s); got != want {
		t.Fatalf("ApprovalText(%+q) = %+q, reference %+q", s, got, want)
	}
	if got, want := normalizeName(s), refNormalizeName(s); got != want {
		t.Fatalf("normalizeName(%+q) = %+q, reference %+q", s, got, want)
	}
	n, ok := gsm7Len(s)
	if wn, wok := refGSM7Len(s); n != wn || ok != wok {
		t.Fatalf("gsm7Len(%+q) = %d, %v, reference %d, %v", s, n, ok, wn, wok)
	}
	if ok {
		if got, want := appendGSM7(nil, s), refAppendGSM7(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendGSM7(%+q) = % x, reference % x", s, got, want)
		}
	}
	for _, text := range []string{s, PrepareText(s)} {
		c, p := CountParts(text)
		if wc, wp := refCountParts(text); c != wc || p != wp {
			t.Fatalf("CountParts(%+q) = %v, %d, reference %v, %d", text, c, p, wc, wp)
		}
		if text != "" {
			c, u, p := measureText(text)
			if wc, wu, wp := refMeasureText(text); c != wc || u != wu || p != wp {
				t.Fatalf("measureText(%+q) = %v, %d, %d, reference %v, %d, %d", text, c, u, p, wc, wu, wp)
			}
		}
		got, err := EncodeText(text, 0xA7)
		want, wantErr := refEncodeText(text, 0xA7)
		if ErrorMessage(err) != ErrorMessage(wantErr) || ErrorCode(err) != ErrorCode(wantErr) || (err == nil) != (wantErr == nil) {
			t.Fatalf("EncodeText(%+q): error %v, reference %v", text, err, wantErr)
		}
		if !sameEncoded(got, want) {
			t.Fatalf("EncodeText(%+q) = %+v, reference %+v", text, got, want)
		}
		pt, pn := prepareText(text)
		if wt := refPrepareText(text); pt != wt {
			t.Fatalf("prepareText(%+q) = %+q, reference %+q", text, pt, wt)
		}
		if _, wn := refCountParts(refPrepareText(text)); pn != wn {
			t.Fatalf("prepareText(%+q): %d parts, reference %d", text, pn, wn)
		}
	}
}

func TestTextMatchesReferenceGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rounds := 5000
	if testing.Short() {
		rounds = 500
	}
	for i := 0; i < rounds; i++ {
		checkText(t, randomText(rng, 12))
		checkText(t, asciiText(rng, 400))
		if i%10 == 0 {
			checkText(t, randomText(rng, 300)) // several parts, or too many
			checkText(t, asciiText(rng, 2000))
		}
	}
}

// Every rune of the table's ranges (and around them) on its own, between
// letters, and before a combining mark.
func TestTextMatchesReferenceEveryRune(t *testing.T) {
	for r := rune(0); r < 0x2100; r++ {
		s := string(r)
		checkText(t, s)
		checkText(t, "a"+s+"b")
		checkText(t, "Nguyễn "+s+"\u0301 Văn")
	}
}

// Multi-part boundaries: an extension character or a non-ASCII GSM-7
// letter at every position around the cut.
func TestEncodeTextMatchesReferenceAtCuts(t *testing.T) {
	near := func(n int) bool {
		return n%gsm7PartSeptets < 4 || n%gsm7PartSeptets > gsm7PartSeptets-4 || n > 155 && n < 165
	}
	for _, c := range []string{"€", "{", "é", "Ø", "x"} {
		for n := 140; n < 320; n++ {
			if !near(n) {
				continue
			}
			for _, fill := range []string{"a", "é", "{"} {
				checkText(t, strings.Repeat(fill, n)+c+strings.Repeat(fill, 20))
				checkText(t, strings.Repeat(fill, n)+c)
			}
		}
	}
	// One extension character or non-ASCII letter at every position
	// around a cut, in texts that fill their last part exactly or nearly.
	for _, c := range []string{"€", "~", "é"} {
		w := 1
		if c != "é" {
			w = 2
		}
		for _, pos := range []int{150, 151, 152, 153, 154, 155, 303, 304, 305, 306, 307} {
			for _, total := range []int{305, 306, 307, 308, 458, 459, 460, 461} {
				if rest := total - pos - w; rest >= 0 {
					checkText(t, strings.Repeat("a", pos)+c+strings.Repeat("a", rest))
				}
			}
		}
	}
	// The same for UCS-2: one surrogate pair around a cut of 67 units.
	for _, pos := range []int{64, 65, 66, 67, 68, 131, 132, 133, 134, 135} {
		for _, total := range []int{133, 134, 135, 136, 200, 201, 202, 203} {
			if rest := total - pos - 2; rest >= 0 {
				checkText(t, strings.Repeat("中", pos)+"😀"+strings.Repeat("中", rest))
			}
		}
	}
	for n := 1520; n < 1540; n++ {
		checkText(t, strings.Repeat("a", n))
		checkText(t, strings.Repeat("a", n-3)+"€")
	}
}

func TestValidateMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	dates := []string{"1990-05-17", "2003-01-02", "1899-12-31", "2026-05-01", "2026-05-02", "2399-01-01", "2400-01-01", "1990-02-30", "1990-5-17", ""}
	ids := []string{"001090000001", "001190000001", "001290000001", "001203000001", "001303000001", "001899000001", "00109000000", "00109000000x", ""}
	names := []string{"Nguyễn Văn An", " trần  thị\thương ", "Nguye\u0302\u0303n", "A", "Lê\u00a0A", "H'Hen Niê", "x1", ""}
	for i := 0; i < 20000; i++ {
		a := Application{
			ApplicationID: []string{"A-1", "", "a b"}[rng.IntN(3)],
			IDNumber:      ids[rng.IntN(len(ids))],
			FullName:      names[rng.IntN(len(names))],
			DateOfBirth:   dates[rng.IntN(len(dates))],
			Sex:           []Sex{SexMale, SexFemale, "x"}[rng.IntN(3)],
			Phone:         []string{"0912345678", "84912345678", "12"}[rng.IntN(3)],
			Level:         rng.IntN(4),
		}
		if rng.IntN(3) == 0 {
			a.FullName = randomText(rng, 8)
		}
		b := a
		err, want := a.ValidateAt(now), refValidateAt(&b, now)
		if ErrorMessage(err) != ErrorMessage(want) || ErrorCode(err) != ErrorCode(want) || (err == nil) != (want == nil) || a != b {
			t.Fatalf("ValidateAt(%+v): %v, %+v; reference %v, %+v", a, err, a, want, b)
		}
		d, id := dates[rng.IntN(len(dates))], ids[rng.IntN(len(ids))]
		sex := []Sex{SexMale, SexFemale, "x"}[rng.IntN(3)]
		if err, want := ValidateIDNumber(id, d, sex), refValidateIDNumber(id, d, sex); ErrorMessage(err) != ErrorMessage(want) || (err == nil) != (want == nil) {
			t.Fatalf("ValidateIDNumber(%q, %q, %q) = %v, reference %v", id, d, sex, err, want)
		}
	}
}

// splitGSM7 cuts the encoded septets, relying on no septet code being the
// escape: a 0x1B in the septets always begins a pair.
func TestNoSeptetIsEscape(t *testing.T) {
	for c := 0; c < utf8.RuneSelf; c++ {
		if v := gsm7ASCII[c]; v != 0xFF && v&0x7F == gsm7Escape {
			t.Errorf("%q encodes as the escape", rune(c))
		}
	}
	for r := rune(utf8.RuneSelf); r < 0x10000; r++ {
		if code, _, ok := gsm7Code(r); ok && code == gsm7Escape {
			t.Errorf("%q encodes as the escape", r)
		}
	}
}

// The table is complete for Vietnamese: every letter of the alphabet, in
// both cases, with every tone, takes the fast path.
func TestStripTableCoversVietnamese(t *testing.T) {
	const letters = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ"
	for _, s := range []string{letters, strings.ToUpper(letters)} {
		if _, ok := appendStrippedASCII(nil, s); !ok {
			t.Errorf("%s: not all in stripTable", s)
		}
	}
}

// parseISODate replaced time.Parse("2006-01-02", s): the same dates, the
// same refusals, over every year/month/day digit combination around the
// valid ranges and malformed strings.
func TestParseISODateMatchesTimeParse(t *testing.T) {
	check := func(s string) {
		t.Helper()
		got, ok := parseISODate(s)
		want, err := time.Parse("2006-01-02", s)
		if ok != (err == nil) || ok && !got.Equal(want) || ok && got.Location() != want.Location() {
			t.Fatalf("parseISODate(%q) = %v, %v; time.Parse %v, %v", s, got, ok, want, err)
		}
	}
	for _, y := range []int{0, 1, 4, 100, 400, 1600, 1700, 1800, 1899, 1900, 1996, 1999, 2000, 2001, 2004, 2023, 2024, 2100, 2399, 2400, 9999} {
		for m := 0; m <= 19; m++ {
			for d := 0; d <= 39; d++ {
				check(fmt.Sprintf("%04d-%02d-%02d", y, m, d))
			}
		}
	}
	for _, s := range []string{"", "1990-05-1", "1990-5-17", "1990-05-17 ", " 990-05-17", "1990/05/17", "1990-05-+7", "+990-05-17",
		"-990-05-17", "1990-+5-17", "1990-05- 7", "1990-05-1a", "199a-05-17", "1990_05-17", "1990-05_17", "19900-5-17", "１９９０-05-17"} {
		check(s)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	const chars = "0123456789-+ /aZ\x00\xff"
	for i := 0; i < 100000; i++ {
		b := []byte("1990-05-17")
		for k := rng.IntN(3); k >= 0; k-- {
			b[rng.IntN(len(b))] = chars[rng.IntN(len(chars))]
		}
		check(string(b))
	}
}

// FuzzTextMatchesReference: the rewritten text functions agree with their
// references on any input.
func FuzzTextMatchesReference(f *testing.F) {
	for _, s := range textPieces {
		f.Add(s)
	}
	f.Add("Nguyễn Văn Đức")
	f.Add(strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152))
	f.Fuzz(func(t *testing.T, s string) {
		checkText(t, s)
	})
}
