package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"vneidgw/core"
)

func otpSMS(id string) *core.AcceptRequest {
	return &core.AcceptRequest{Message: &core.Message{ID: id, Kind: core.KindOTP, Priority: core.PriorityOTP,
		To: "84912345678", Text: "Ma xac thuc VNeID cua ban la 123456", Operator: "viettel"}}
}

func newOTPRecord(*core.OTPRecord) (*core.OTPRecord, error) {
	now := time.Now()
	return &core.OTPRecord{Hash: []byte("h"), IssuedAt: now, ExpiresAt: now.Add(5 * time.Minute), KeepFor: 5 * time.Minute}, nil
}

// readOTPRecord reads key's record through UpdateOTP without changing it.
func readOTPRecord(t *testing.T, q *OTPQueueStore, key string) *core.OTPRecord {
	t.Helper()
	var got *core.OTPRecord
	if err := q.UpdateOTP(context.Background(), key, func(cur *core.OTPRecord) (*core.OTPRecord, bool, error) {
		got = cur
		return cur, false, nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestIssueOTPWithSMSOneWrite: the record, the daily charges and the SMS
// are written together, or none of them.
func TestIssueOTPWithSMSOneWrite(t *testing.T) {
	s := openStore(t, testConfig(t))
	q := s.OTPStore()
	ctx := context.Background()
	caps := []core.DailyCharge{{Key: "cap", Limit: 1}}

	res, err := q.IssueOTPWithSMS(ctx, "o/a", "d", caps, newOTPRecord, otpSMS("otp-1"))
	if err != nil || res.MessageID != "otp-1" {
		t.Fatalf("issue: %+v %v", res, err)
	}
	if readOTPRecord(t, q, "o/a") == nil {
		t.Fatal("no record after the issue")
	}
	if ms := next(t, s, []string{"viettel"}, 10); len(ms) != 1 || ms[0].ID != "otp-1" || ms[0].Kind != core.KindOTP {
		t.Fatalf("queued: %v", ids(ms))
	}

	// fn refuses (a cool-down): nothing written, no SMS.
	refuse := func(*core.OTPRecord) (*core.OTPRecord, error) { return nil, core.Errorf(core.ERATELIMIT, "cool-down") }
	if _, err := q.IssueOTPWithSMS(ctx, "o/b", "d", nil, refuse, otpSMS("otp-2")); core.ErrorCode(err) != core.ERATELIMIT {
		t.Fatalf("refused: %v", err)
	}
	// The daily cap is reached: nothing written, no SMS.
	if _, err := q.IssueOTPWithSMS(ctx, "o/c", "d", caps, newOTPRecord, otpSMS("otp-3")); core.ErrorCode(err) != core.ERATELIMIT {
		t.Fatalf("over the cap: %v", err)
	}
	// An SMS the store refuses: nothing written, the cap not charged.
	bad := otpSMS("")
	if _, err := q.IssueOTPWithSMS(ctx, "o/d", "d2", caps, newOTPRecord, bad); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("bad sms: %v", err)
	}
	for _, k := range []string{"o/b", "o/c", "o/d"} {
		if r := readOTPRecord(t, q, k); r != nil {
			t.Fatalf("%s: record written by a failed issue: %+v", k, r)
		}
	}
	for _, id := range []string{"otp-2", "otp-3"} {
		if _, err := s.Message(ctx, id); core.ErrorCode(err) != core.ENOTFOUND {
			t.Fatalf("%s stored by a failed issue: %v", id, err)
		}
	}
	if err := q.ChargeDaily(ctx, "d2", caps); err != nil {
		t.Fatalf("d2's cap was charged by the refused SMS: %v", err)
	}
	if ms := tryNext(t, s, []string{"viettel"}, 10); len(ms) != 0 {
		t.Fatalf("queued by failed issues: %v", ids(ms))
	}

	// A decoy (no SMS): the record and the charge, nothing queued.
	if _, err := q.IssueOTPWithSMS(ctx, "o/e", "d3", caps, newOTPRecord, nil); err != nil {
		t.Fatal(err)
	}
	if readOTPRecord(t, q, "o/e") == nil {
		t.Fatal("decoy: no record")
	}
	if err := q.ChargeDaily(ctx, "d3", caps); core.ErrorCode(err) != core.ERATELIMIT {
		t.Fatalf("decoy: cap not charged: %v", err)
	}
}

// TestIssueOTPWithSMSConcurrentCap: concurrent issues on one daily cap
// queue exactly as many SMS as the cap allows.
func TestIssueOTPWithSMSConcurrentCap(t *testing.T) {
	s := openStore(t, testConfig(t))
	q := s.OTPStore()
	ctx := context.Background()
	if n := passedConcurrently(t, 40, func(i int) error {
		_, err := q.IssueOTPWithSMS(ctx, fmt.Sprintf("o/%d", i), "d", []core.DailyCharge{{Key: "cap", Limit: 7}},
			newOTPRecord, otpSMS(fmt.Sprintf("otp-%02d", i)))
		return err
	}); n != 7 {
		t.Fatalf("%d issues passed a cap of 7", n)
	}
	if ms := next(t, s, []string{"viettel"}, 100); len(ms) != 7 {
		t.Fatalf("%d SMS queued, want 7", len(ms))
	}
}
