package core

import (
	"strings"
	"testing"
	"time"
)

// now for every test: 2026-03-15 00:30 in Vietnam (still the 14th in UTC).
var testNow = time.Date(2026, 3, 14, 17, 30, 0, 0, time.UTC)

func validApplication() Application {
	return Application{
		ApplicationID: "app-2026.03:001_A",
		IDNumber:      "001085012345", // place 001, male born 1985
		FullName:      "Nguyễn Văn Đức",
		DateOfBirth:   "1985-06-30",
		Sex:           SexMale,
		Phone:         "0912 345 678",
		Level:         2,
	}
}

func TestApplicationValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(a *Application)
		wantErr string
	}{
		{"valid", func(a *Application) {}, ""},
		{"level 1", func(a *Application) { a.Level = 1 }, ""},
		{"female 2000s", func(a *Application) { a.Sex, a.DateOfBirth, a.IDNumber = SexFemale, "2004-02-29", "079304000001" }, ""},
		{"born today in Vietnam", func(a *Application) { a.DateOfBirth, a.IDNumber = "2026-03-15", "001226000001" }, ""},
		{"born tomorrow", func(a *Application) { a.DateOfBirth, a.IDNumber = "2026-03-16", "001226000001" }, "date_of_birth: 2026-03-16 is in the future"},
		{"born 1900", func(a *Application) { a.DateOfBirth, a.IDNumber = "1900-01-01", "001000000001" }, ""},
		{"name with apostrophe dot hyphen", func(a *Application) { a.FullName = "H'Hen Niê-Byă Jr." }, ""},
		{"name in other script", func(a *Application) { a.FullName = "Иван Петров" }, ""},
		{"decomposed name", func(a *Application) { a.FullName = "Nguye\u0302\u0303n Va\u0306n" }, ""},
		{"id 64 chars", func(a *Application) { a.ApplicationID = strings.Repeat("x", 64) }, ""},
		{"missing id", func(a *Application) { a.ApplicationID = "" }, "application_id: required"},
		{"id too long", func(a *Application) { a.ApplicationID = strings.Repeat("x", 65) }, "application_id: longer than 64"},
		{"id bad char", func(a *Application) { a.ApplicationID = "app/1" }, "application_id: only"},
		{"id space", func(a *Application) { a.ApplicationID = "app 1" }, "application_id: only"},
		{"name empty", func(a *Application) { a.FullName = "   " }, "full_name: must be 2 to 100"},
		{"name one char", func(a *Application) { a.FullName = " A " }, "full_name: must be 2 to 100"},
		{"name too long", func(a *Application) { a.FullName = strings.Repeat("a", 101) }, "full_name: must be 2 to 100"},
		{"name digit", func(a *Application) { a.FullName = "Nguyen Van 2" }, `full_name: '2' is not allowed`},
		{"name symbol", func(a *Application) { a.FullName = "Nguyen <b>" }, `full_name: '<' is not allowed`},
		{"name control", func(a *Application) { a.FullName = "Nguyen\x00Van" }, "full_name: only letters"},
		{"name invalid utf8", func(a *Application) { a.FullName = "Nguyen \xff" }, "full_name: only letters"},
		{"name no letters", func(a *Application) { a.FullName = "-- .." }, "full_name: has no letters"},
		{"name leading mark", func(a *Application) { a.FullName = "\u0301An" }, "full_name"},
		{"dob missing", func(a *Application) { a.DateOfBirth = "" }, "date_of_birth: required"},
		{"dob format", func(a *Application) { a.DateOfBirth = "30/06/1985" }, "not a valid YYYY-MM-DD date"},
		{"dob short", func(a *Application) { a.DateOfBirth = "1985-6-30" }, "date_of_birth: want YYYY-MM-DD"},
		{"dob not a date", func(a *Application) { a.DateOfBirth = "1985-02-30" }, "not a valid YYYY-MM-DD date"},
		{"dob month 13", func(a *Application) { a.DateOfBirth = "1985-13-01" }, "not a valid YYYY-MM-DD date"},
		{"dob 1899", func(a *Application) { a.DateOfBirth = "1899-12-31" }, "date_of_birth: year before 1900"},
		{"sex empty", func(a *Application) { a.Sex = "" }, `sex: must be "male" or "female"`},
		{"sex capital", func(a *Application) { a.Sex = "Male" }, "sex: must be"},
		{"level 0", func(a *Application) { a.Level = 0 }, "level: must be 1 or 2"},
		{"level 3", func(a *Application) { a.Level = 3 }, "level: must be 1 or 2"},
		{"phone landline", func(a *Application) { a.Phone = "028 3812 3456" }, "phone: landline"},
		{"phone empty", func(a *Application) { a.Phone = "" }, "phone: empty"},
		{"id wrong sex", func(a *Application) { a.IDNumber = "001185012345" }, "id_number: century/sex digit 1 does not match a male born in 1985"},
		{"id wrong year", func(a *Application) { a.IDNumber = "001086012345" }, "id_number: birth-year digits 86 do not match birth year 1985"},
		{"id short", func(a *Application) { a.IDNumber = "00108501234" }, "id_number: must be 12 digits"},
		{"id letters", func(a *Application) { a.IDNumber = "00108501234X" }, "id_number: must be 12 digits"},
		{"id missing", func(a *Application) { a.IDNumber = "" }, "id_number: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validApplication()
			tt.mutate(&a)
			id := a.IDNumber
			err := a.ValidateAt(testNow)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateAt: %v", err)
				}
				if !isNormalMSISDN(a.Phone) {
					t.Errorf("Phone %q not normalised", a.Phone)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateAt: no error, want %q", tt.wantErr)
			}
			if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ValidateAt error = %v, want EINVALID containing %q", err, tt.wantErr)
			}
			if len(id) >= 6 && strings.Contains(err.Error(), id) {
				t.Errorf("error %q echoes the ID number", err)
			}
		})
	}
}

func TestApplicationValidateNormalises(t *testing.T) {
	a := validApplication()
	a.FullName = "  Nguye\u0302\u0303n \t Văn\n\nĐức  "
	a.Phone = "+84 (91) 234-5678"
	if err := a.ValidateAt(testNow); err != nil {
		t.Fatal(err)
	}
	if a.FullName != "Nguyễn Văn Đức" {
		t.Errorf("FullName = %q", a.FullName)
	}
	if a.Phone != "84912345678" {
		t.Errorf("Phone = %q", a.Phone)
	}
	// Validate (real clock) accepts the same application.
	b := validApplication()
	if err := b.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// The century/sex digit for every century and both sexes.
func TestValidateIDNumberCenturySex(t *testing.T) {
	tests := []struct {
		dob   string
		sex   Sex
		digit byte
	}{
		{"1900-01-01", SexMale, '0'},
		{"1999-12-31", SexFemale, '1'},
		{"2000-01-01", SexMale, '2'},
		{"2099-05-05", SexFemale, '3'},
		{"2100-01-01", SexMale, '4'},
		{"2150-01-01", SexFemale, '5'},
		{"2200-01-01", SexMale, '6'},
		{"2250-01-01", SexFemale, '7'},
		{"2300-01-01", SexMale, '8'},
		{"2399-12-31", SexFemale, '9'},
	}
	for _, tt := range tests {
		yy := tt.dob[2:4]
		for d := byte('0'); d <= '9'; d++ {
			id := "079" + string(d) + yy + "001234"
			err := ValidateIDNumber(id, tt.dob, tt.sex)
			if d == tt.digit && err != nil {
				t.Errorf("ValidateIDNumber(%s, %s, %s): %v", MaskIDNumber(id), tt.dob, tt.sex, err)
			}
			if d != tt.digit {
				if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "century/sex digit") {
					t.Errorf("digit %c for a %s born %s: err = %v, want a century/sex error", d, tt.sex, tt.dob, err)
				}
				if err != nil && strings.Contains(err.Error(), id) {
					t.Errorf("error echoes the ID number: %v", err)
				}
			}
		}
	}
}

func TestValidateIDNumberErrors(t *testing.T) {
	tests := []struct {
		id, dob string
		sex     Sex
		wantErr string
	}{
		{"001085012345", "1985-06-30", SexMale, ""},
		{"001085012345", "1885-06-30", SexMale, "date_of_birth: year before 1900"},
		{"001085012345", "2485-06-30", SexMale, "date_of_birth: year 2485 has no ID century code"},
		{"001085012345", "bad", SexMale, "date_of_birth"},
		{"001085012345", "1985-06-30", "x", "sex: must be"},
		{"001 85012345", "1985-06-30", SexMale, "id_number: must be 12 digits"},
		{"0010850123456", "1985-06-30", SexMale, "id_number: must be 12 digits"},
		{"001005012345", "1905-06-30", SexMale, ""},
		{"001095012345", "1905-06-30", SexMale, "birth-year digits 95"},
	}
	for _, tt := range tests {
		err := ValidateIDNumber(tt.id, tt.dob, tt.sex)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("ValidateIDNumber(%s, %s): %v", tt.id, tt.dob, err)
			}
			continue
		}
		if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ValidateIDNumber(%s, %s) = %v, want EINVALID containing %q", tt.id, tt.dob, err, tt.wantErr)
		}
	}
}
