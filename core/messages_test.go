package core_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"vneidgw/core"
	"vneidgw/core/store"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func newService(t *testing.T) (*core.MessageService, *store.Store) {
	t.Helper()
	st, err := store.Open(store.DefaultConfig(t.TempDir()), zerolog.Nop(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	router, err := core.NewRouter(core.DefaultPrefixes(), "viettel")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	svc, err := core.NewMessageService(core.MessageServiceConfig{Store: st, Ported: st, Router: router, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return svc, st
}

func goodApp(id, phone string) *core.Application {
	return &core.Application{ApplicationID: id, IDNumber: "001085012345", FullName: "Nguyễn Văn  Đức", DateOfBirth: "1985-03-02", Sex: core.SexMale, Phone: phone, Level: 2}
}

func TestSubmitApprovalsBuildsTheApprovalSMS(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	bad := goodApp("A-2", "0912345679")
	bad.IDNumber = "001285012345" // 2 = male born in the 2000s
	res, err := svc.SubmitApprovals(ctx, "client-1", []*core.Application{goodApp("A-1", "+84 91 234 5678"), bad, nil})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].MessageID == "" || res[0].Duplicate {
		t.Fatalf("good application: %+v", res[0])
	}
	if core.ErrorCode(res[1].Err) != core.EINVALID || res[1].MessageID != "" || strings.Contains(res[1].Err.Error(), "001285012345") {
		t.Fatalf("bad application: %+v (must be invalid without echoing the id number)", res[1])
	}
	if core.ErrorCode(res[2].Err) != core.EINVALID || res[2].Line != 3 {
		t.Fatalf("nil application: %+v", res[2])
	}
	m, err := svc.Message(ctx, res[0].MessageID)
	if err != nil {
		t.Fatal(err)
	}
	want := "Cuc Canh sat QLHC ve TTXH thong bao: Ho so dang ky tai khoan dinh danh dien tu cua cong dan NGUYEN VAN DUC da duoc phe duyet. De nghi truy cap ung dung VNeID hoac dia chi https://vneid.gov.vn de kich hoat tai khoan."
	if m.Text != want || m.To != "84912345678" || m.Operator != "vinaphone" || m.Kind != core.KindApproval ||
		m.Priority != core.PriorityApproval || len(m.Parts) != 2 || m.Sender != "VneID" || m.Status != core.StatusQueued || m.ApplicationID != "A-1" || m.ClientID != "client-1" {
		t.Fatalf("approval message %+v", m)
	}
	// Idempotent on application id: nothing new.
	again, err := svc.SubmitApprovals(ctx, "client-1", []*core.Application{goodApp("A-1", "0912345678")})
	if err != nil || !again[0].Duplicate || again[0].MessageID != res[0].MessageID {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	list, _, err := svc.MessagesByPhone(ctx, "0912345678", "", 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("messages by phone: %d %v", len(list), err)
	}
}

func TestSubmitNotice(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	cases := []struct {
		name string
		n    core.Notice
		code string
	}{
		{"no key", core.Notice{To: "0912345678", Text: "x"}, core.EINVALID},
		{"landline", core.Notice{To: "0243456789", Text: "x", IdempotencyKey: "k"}, core.EINVALID},
		{"empty text", core.Notice{To: "0912345678", Text: "   ", IdempotencyKey: "k"}, core.EINVALID},
		{"ftp callback", core.Notice{To: "0912345678", Text: "x", IdempotencyKey: "k", CallbackURL: "ftp://x/"}, core.EINVALID},
		{"too long", core.Notice{To: "0912345678", Text: strings.Repeat("a", 2000), IdempotencyKey: "k"}, core.ETOOLARGE},
	}
	for _, c := range cases {
		if _, err := svc.SubmitNotice(ctx, "c", c.n); core.ErrorCode(err) != c.code {
			t.Errorf("%s: want %s, got %v", c.name, c.code, err)
		}
	}
	r, err := svc.SubmitNotice(ctx, "c", core.Notice{To: "0912345678", Text: "Tài khoản đã bị khóa", IdempotencyKey: "k1", CallbackURL: "https://x.example/cb"})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := svc.Message(ctx, r.MessageID)
	if m.Text != "Tai khoan da bi khoa" || m.Priority != core.PriorityNotice || m.CallbackURL != "https://x.example/cb" {
		t.Fatalf("notice %+v", m)
	}
	dup, err := svc.SubmitNotice(ctx, "c", core.Notice{To: "0912345678", Text: "other", IdempotencyKey: "k1"})
	if err != nil || !dup.Duplicate || dup.MessageID != r.MessageID {
		t.Fatalf("same key must be a duplicate: %+v %v", dup, err)
	}
	other, err := svc.SubmitNotice(ctx, "other-client", core.Notice{To: "0912345678", Text: "x", IdempotencyKey: "k1"})
	if err != nil || other.Duplicate {
		t.Fatalf("keys are per client: %+v %v", other, err)
	}
	// Text that cannot be GSM-7 even without diacritics goes as UCS-2 untouched.
	r2, err := svc.SubmitNotice(ctx, "c", core.Notice{To: "0912345678", Text: "Xin chào 👋", IdempotencyKey: "k2"})
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := svc.Message(ctx, r2.MessageID)
	if m2.Text != "Xin chào 👋" {
		t.Fatalf("UCS-2 text changed: %q", m2.Text)
	}
}

func TestSubmitOTPTextUsesTheOTPLane(t *testing.T) {
	svc, _ := newService(t)
	r, err := svc.SubmitOTPText(context.Background(), "0987654321", "Ma xac thuc VNeID cua ban la 123456", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := svc.Message(context.Background(), r.MessageID)
	if m.Priority != core.PriorityOTP || m.Kind != core.KindOTP || m.Validity != 5*time.Minute || m.Operator != "viettel" {
		t.Fatalf("otp message %+v", m)
	}
}

func TestSetPortedChangesRouting(t *testing.T) {
	ctx := context.Background()
	svc, st := newService(t)
	if _, err := svc.SetPorted(ctx, map[string]string{"0912345678": "nowhere"}); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("unknown operator accepted: %v", err)
	}
	if n, err := svc.SetPorted(ctx, map[string]string{"0912345678": "Viettel"}); err != nil || n != 1 {
		t.Fatalf("%d %v", n, err)
	}
	r, err := svc.SubmitNotice(ctx, "c", core.Notice{To: "0912345678", Text: "x", IdempotencyKey: "p"})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := svc.Message(ctx, r.MessageID)
	if m.Operator != "viettel" {
		t.Fatalf("ported number routed to %s", m.Operator)
	}
	stored, _ := st.Ported(ctx)
	if stored["84912345678"] != "viettel" {
		t.Fatalf("ported entry not stored: %v", stored)
	}
}
