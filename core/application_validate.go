package core

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Field limits of an Application.
const (
	maxApplicationIDLen = 64
	minFullNameLen      = 2
	maxFullNameLen      = 100
	minBirthYear        = 1900
	idNumberLen         = 12
)

// vietnamOffset is Vietnam's UTC offset (no daylight saving): "today", for
// a date of birth, is the date in Vietnam.
const vietnamOffset = 7 * time.Hour

// Validate normalises a in place (Phone to 84 + 9 digits, FullName to NFC
// with surrounding whitespace trimmed and inner whitespace collapsed) and
// checks every field, judging "the future" by the current time. It returns
// the first problem as EINVALID with a message naming the field; a message
// never echoes the ID number.
func (a *Application) Validate() error {
	return a.ValidateAt(time.Now())
}

// ValidateAt is Validate with "now" given, for tests and replays.
func (a *Application) ValidateAt(now time.Time) error {
	if err := validateApplicationID(a.ApplicationID); err != nil {
		return err
	}
	a.FullName = normalizeName(a.FullName)
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
	// The date of birth and sex are valid: ValidateIDNumber's checks of
	// them, and its second parse of the date, would find nothing.
	if err := validateIDNumberDigits(a.IDNumber); err != nil {
		return err
	}
	if err := validateIDNumberBirth(a.IDNumber, dob, a.Sex); err != nil {
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

// ValidateIDNumber checks a personal ID number (số định danh cá nhân)
// against the holder's date of birth (YYYY-MM-DD) and sex: 12 digits;
// digit 4 is the century/sex code (1900s: male 0, female 1; 2000s: 2/3;
// 2100s: 4/5; 2200s: 6/7; 2300s: 8/9); digits 5–6 are the last two
// digits of the birth year. The 3-digit place code is not checked (births
// abroad carry a country code). Errors are EINVALID and never echo the ID
// number.
func ValidateIDNumber(id, dateOfBirth string, sex Sex) error {
	if err := validateIDNumberDigits(id); err != nil {
		return err
	}
	dob, err := parseDateOfBirth(dateOfBirth)
	if err != nil {
		return err
	}
	if sex != SexMale && sex != SexFemale {
		return Errorf(EINVALID, "sex: must be %q or %q", SexMale, SexFemale)
	}
	return validateIDNumberBirth(id, dob, sex)
}

// validateIDNumberDigits is ValidateIDNumber's check of the form: 12 digits.
func validateIDNumberDigits(id string) error {
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
	return nil
}

// validateIDNumberBirth is the rest of ValidateIDNumber: the century/sex
// digit and the birth-year digits of a 12-digit id against a parsed date
// of birth and a valid sex.
func validateIDNumberBirth(id string, dob time.Time, sex Sex) error {
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

func validateApplicationID(id string) error {
	if id == "" {
		return Errorf(EINVALID, "application_id: required")
	}
	if len(id) > maxApplicationIDLen {
		return Errorf(EINVALID, "application_id: longer than %d characters", maxApplicationIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '_' || c == ':' || c == '-') {
			return Errorf(EINVALID, "application_id: only letters, digits and . _ : - are allowed")
		}
	}
	return nil
}

// normalizeName composes a name (NFC), trims it and collapses inner
// whitespace to single spaces.
func normalizeName(s string) string {
	s = norm.NFC.String(s)
	if collapsed(s) {
		return s // as the identity system sends nearly every name: no copy
	}
	return strings.Join(strings.Fields(s), " ")
}

// collapsed reports whether strings.Join(strings.Fields(s), " ") is s: no
// whitespace (unicode.IsSpace) but single spaces between other runes.
func collapsed(s string) bool {
	if s == "" {
		return true
	}
	afterSpace := true // a space here would be leading or a second one
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if c == ' ' && !afterSpace {
				afterSpace = true
				continue
			}
			if asciiSpace(c) {
				return false
			}
			afterSpace = false
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			return false
		}
		afterSpace = false
		i += size
	}
	return !afterSpace
}

func validateFullName(name string) error {
	n := utf8.RuneCountInString(name)
	if n < minFullNameLen || n > maxFullNameLen {
		return Errorf(EINVALID, "full_name: must be %d to %d characters", minFullNameLen, maxFullNameLen)
	}
	letters := 0
	prevLetter := false
	for _, r := range name {
		switch {
		case unicode.IsLetter(r):
			letters++
			prevLetter = true
		case unicode.IsMark(r) && prevLetter:
			// a combining mark that NFC could not fold into its letter
		case r == ' ' || r == '\'' || r == '-' || r == '.':
			prevLetter = false
		default:
			if r == utf8.RuneError || !unicode.IsPrint(r) {
				return Errorf(EINVALID, "full_name: only letters, spaces, apostrophes, hyphens and dots are allowed")
			}
			return Errorf(EINVALID, "full_name: %q is not allowed (only letters, spaces, apostrophes, hyphens and dots)", r)
		}
	}
	if letters == 0 {
		return Errorf(EINVALID, "full_name: has no letters")
	}
	return nil
}

// parseDateOfBirth parses YYYY-MM-DD (a real calendar date, year ≥ 1900).
func parseDateOfBirth(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, Errorf(EINVALID, "date_of_birth: required")
	}
	if len(s) != len("2006-01-02") {
		return time.Time{}, Errorf(EINVALID, "date_of_birth: want YYYY-MM-DD")
	}
	t, ok := parseISODate(s) // midnight UTC of that date
	if !ok {
		return time.Time{}, Errorf(EINVALID, "date_of_birth: %q is not a valid YYYY-MM-DD date", s)
	}
	if t.Year() < minBirthYear {
		return time.Time{}, Errorf(EINVALID, "date_of_birth: year before %d", minBirthYear)
	}
	return t, nil
}

// parseISODate is time.Parse("2006-01-02", s) for a 10-byte s, which is
// ok exactly when time.Parse gives no error: four, two and two digits
// around two hyphens, a month 01–12 and a day that month has. It is a
// fixed-position check instead of time.Parse's walk through its layout
// (most of Validate's time); TestParseISODateMatchesTimeParse holds them
// equal.
func parseISODate(s string) (time.Time, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC), true
}

// digits returns the value of a string of ASCII digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// daysIn returns the number of days of month m of year (Gregorian).
func daysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// today returns now's date in Vietnam as midnight UTC of that date, the
// form parseDateOfBirth returns.
func today(now time.Time) time.Time {
	y, m, d := now.UTC().Add(vietnamOffset).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
