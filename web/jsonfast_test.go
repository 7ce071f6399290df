package web

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"vneidgw/internal/jsonenc"

	"vneidgw/core"
)

var fastSeeds = []string{
	`{"application_id":"A-1","id_number":"001090000001","full_name":"Nguyễn Văn An","date_of_birth":"1990-05-17","sex":"male","phone":"0912000001","level":2}`,
	` { "application_id" : "A-1" , "level" : -0 , "full_name" : "Nguy\u1ec5n \"V\" \\ \/ \b\f\n\r\t" } `,
	`{"full_name":"a\ud83d\ude00b"}`, `{"full_name":"\ud83d"}`, `{"full_name":"\u00e9\u0000"}`,
	`{"level":2.0}`, `{"level":2e1}`, `{"level":02}`, `{"level":"2"}`, `{"level":99999999999999999999}`, `{"level":-}`,
	`{"level":null}`, `{"sex":null}`, `{"Sex":"male"}`, `{"SEX":"male","sex":"female"}`, `{"sex":"male","sex":"female"}`,
	`{"nickname":"x"}`, `{"received_at":"2026-01-01T00:00:00Z"}`, `{"client_id":"x","message_id":"y","callback_url":"https://a/b"}`,
	`{}`, ` {} `, `{} x`, `{"a":1,}`, `{,}`, `{"to":"0912","text":"hi","reference":"r","callback_url":"u"}`,
	`{"text":"bad \xff"}`, `{"text":"ctl ` + "\x01" + `"}`, `{"text":"tab	"}`, `{"te\u0078t":"x"}`, `[]`, `null`, `"x"`, ``, `{`,
	`{"phone":0912}`, `{"level":1}{"level":2}`, `{"text":"x"` + "\n", `{"text":"\u12G4"}`, `{"text":"\x"}`, `{"level":2 }`,
}

// checkFast: whenever a fast decoder takes an input, decodeStrict takes
// it too and produces the same value.
func checkFast(t *testing.T, in []byte) {
	t.Helper()
	var fa core.Application
	if fastApplication(in, &fa) {
		var sa core.Application
		if err := decodeStrict(in, &sa); err != nil {
			t.Fatalf("%q: fast path took what decodeStrict refuses: %v", in, err)
		}
		if !reflect.DeepEqual(fa, sa) {
			t.Fatalf("%q: fast %+v, strict %+v", in, fa, sa)
		}
	}
	var fn noticeRequest
	if fastNotice(in, &fn) {
		var sn noticeRequest
		if err := decodeStrict(in, &sn); err != nil {
			t.Fatalf("%q: fast path took what decodeStrict refuses: %v", in, err)
		}
		if fn != sn {
			t.Fatalf("%q: fast %+v, strict %+v", in, fn, sn)
		}
	}
}

func TestFastDecodersMatchDecodeStrict(t *testing.T) {
	took := 0
	for _, s := range fastSeeds {
		checkFast(t, []byte(s))
		var a core.Application
		if fastApplication([]byte(s), &a) {
			took++
		}
	}
	if took < 5 {
		t.Fatalf("the fast path took only %d seeds", took)
	}
	// Mutations of the seeds: byte flips, insertions and deletions.
	r := rand.New(rand.NewPCG(7, 8))
	alphabet := []byte(`{}[]":,\ 0129-.eEuU"abfnrtx` + "\x00\x1f\x7f\xc3\xa9\xff\t\n")
	for i := 0; i < 200000; i++ {
		b := []byte(fastSeeds[r.IntN(len(fastSeeds))])
		for n := 1 + r.IntN(3); n > 0; n-- {
			c := alphabet[r.IntN(len(alphabet))]
			switch p := r.IntN(len(b) + 1); r.IntN(3) {
			case 0:
				if p < len(b) {
					b[p] = c
				}
			case 1:
				b = append(b[:p], append([]byte{c}, b[p:]...)...)
			default:
				if p < len(b) {
					b = append(b[:p], b[p+1:]...)
				}
			}
		}
		checkFast(t, b)
	}
}

func FuzzFastDecoders(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkFast(t, b) })
}

// The answer of an accepted message is written by hand: it must be what
// json.Marshal writes.
func TestAcceptAnswerJSON(t *testing.T) {
	for _, a := range []acceptAnswer{{}, {MessageID: "01abc", Duplicate: true}, {MessageID: "<&>\"\\\u2028\xff é"}} {
		want, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.appendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	for _, s := range jsonStrings() {
		want, _ := json.Marshal(s)
		if got := jsonenc.AppendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	}
}

func jsonStrings() []string {
	out := []string{"", "plain", "Nguyễn", `" \ /`, "<>&", "\x00\x01\x1f\x7f\b\f\n\r\t", "\u2028\u2029", "\xff\xc3", "😀"}
	r := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 5000; i++ {
		b := make([]byte, r.IntN(10))
		for j := range b {
			b[j] = byte(r.IntN(256))
		}
		out = append(out, string(b))
	}
	return out
}
