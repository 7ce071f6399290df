package core

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Micro-benchmarks of the per-approval work of a bulk upload (web's
// processNDJSON → PrepareApprovals): validation, the approval text, the
// part count, and the encoding the gateway does at send time.

// benchNames are realistic registered names: Vietnamese with diacritics
// (precomposed, as the identity system sends them), a few without.
var benchNames = func() []string {
	family := []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"}
	middle := []string{"Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Xuân", "Quốc", "Thúy"}
	given := []string{"An", "Bình", "Cường", "Dũng", "Đức", "Giang", "Hà", "Hương", "Khải", "Linh", "Mai", "Nguyệt", "Phương", "Quỳnh", "Sơn", "Thảo", "Tuấn", "Uyên", "Việt", "Yến"}
	var out []string
	for i := 0; i < 997; i++ { // a prime, so the combinations vary
		name := family[i%len(family)] + " " + middle[i%len(middle)] + " " + given[i%len(given)]
		if i%5 == 0 {
			name = family[(i/3)%len(family)] + " " + middle[(i/7)%len(middle)] + " " + middle[i%len(middle)] + " " + given[(i/11)%len(given)]
		}
		out = append(out, name)
	}
	out[10], out[20], out[30] = "Ksor H'Bia", "Nguyen Van Binh", "Tôn Nữ Thị Phương Thảo Nguyên Hạnh"
	return out
}()

// benchApps returns n valid applications as the JSON decoder leaves them.
func benchApps(n int) []Application {
	apps := make([]Application, n)
	for i := range apps {
		apps[i] = Application{
			ApplicationID: fmt.Sprintf("B-%08d", i),
			IDNumber:      fmt.Sprintf("001090%06d", i),
			FullName:      benchNames[i%len(benchNames)],
			DateOfBirth:   "1990-05-17",
			Sex:           SexMale,
			Phone:         fmt.Sprintf("0912%06d", i),
			Level:         2,
		}
	}
	return apps
}

// discardStore is a MessageStore that only answers Accept.
type discardStore struct{ MessageStore }

func (discardStore) Accept(ctx context.Context, reqs []AcceptRequest) ([]AcceptResult, error) {
	out := make([]AcceptResult, len(reqs))
	for i, r := range reqs {
		out[i].MessageID = r.Message.ID
	}
	return out, nil
}

// BenchmarkPrepareApprovals: one bulk chunk (1,000 applications) through
// PrepareApprovals, from fresh copies as the decoder makes them.
func BenchmarkPrepareApprovals(b *testing.B) {
	router, err := NewRouter(DefaultPrefixes(), OperatorViettel)
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewMessageService(MessageServiceConfig{Store: discardStore{}, Router: router})
	if err != nil {
		b.Fatal(err)
	}
	tmpl := benchApps(1000)
	apps := make([]Application, len(tmpl))
	ptrs := make([]*Application, len(tmpl))
	for i := range ptrs {
		ptrs[i] = &apps[i]
	}
	b.ReportAllocs()
	for b.Loop() {
		copy(apps, tmpl)
		p := s.PrepareApprovals("c", ptrs)
		if len(p.reqs) != len(tmpl) {
			b.Fatalf("%d of %d prepared: %v", len(p.reqs), len(tmpl), p.results[0].Err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(tmpl)), "ns/approval")
}

// BenchmarkValidate: Application.Validate of one application.
func BenchmarkValidate(b *testing.B) {
	tmpl := benchApps(len(benchNames))
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a := tmpl[i%len(tmpl)]
		i++
		if err := a.ValidateAt(now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApprovalText: the approval SMS of one (NFC, validated) name.
func BenchmarkApprovalText(b *testing.B) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = ApprovalText(benchNames[i%len(benchNames)])
		i++
	}
}

// BenchmarkStripDiacritics: one name with diacritics.
func BenchmarkStripDiacritics(b *testing.B) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = StripDiacritics(benchNames[i%len(benchNames)])
		i++
	}
}

// BenchmarkNewMessage: the approval message of one name, text given.
func BenchmarkNewMessage(b *testing.B) {
	router, err := NewRouter(DefaultPrefixes(), OperatorViettel)
	if err != nil {
		b.Fatal(err)
	}
	s := &MessageService{router: router, sender: "VneID", now: time.Now}
	texts := make([]string, len(benchNames))
	for i, name := range benchNames {
		texts[i] = ApprovalText(name)
	}
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.newMessage(KindApproval, "84912345678", texts[i%len(texts)], now); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkEncodeText: EncodeText of the texts the gateway sends: an
// approval (GSM-7, two parts), a short GSM-7 OTP and a UCS-2 notice.
func BenchmarkEncodeText(b *testing.B) {
	for name, text := range map[string]string{
		"approval": ApprovalText("Nguyễn Thị Minh Khai"),
		"otp":      "Ma OTP cua ban la 123456. Khong chia se ma nay cho bat ky ai.",
		"ucs2":     "Mã OTP của bạn là 123456. Không chia sẻ mã này cho bất kỳ ai — 中文.",
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := EncodeText(text, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
