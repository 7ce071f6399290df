package store

import (
	"context"
	"testing"
	"time"

	"vneidgw/core"
)

// acceptAndLease accepts one message with parts parts and leases it.
func acceptAndLease(t *testing.T, s *Store, id string, parts int) *core.Message {
	t.Helper()
	mustAccept(t, s, []core.AcceptRequest{{Message: newMessage(id, "viettel", core.KindOTP, parts)}})
	ms := next(t, s, []string{"viettel"}, 1)
	if len(ms) != 1 || ms[0].ID != id {
		t.Fatalf("lease %v", ids(ms))
	}
	return ms[0]
}

func TestPendingDLRAppliedOnSubmit(t *testing.T) {
	s := openStore(t, testConfig(t))
	acceptAndLease(t, s, "p1", 1)
	// The receipt overtakes the submit_sm_resp.
	mustRecord(t, s, dlr("0000ABC", core.StatusDelivered))
	if m := mustMessage(t, s, "p1"); m.Status != core.StatusQueued {
		t.Fatalf("before submit: %s", m.Status)
	}
	mustRecord(t, s, submitted("p1", 1, "abc"))
	m := mustMessage(t, s, "p1")
	if m.Status != core.StatusDelivered || m.Parts[0].Status != core.StatusDelivered {
		t.Fatalf("after submit: %+v", m)
	}
	// The pending receipt is consumed.
	if err := s.db.View(func(txn *badgerTxn) error {
		_, err := txn.Get(pendingDLRKey("viettel", "abc"))
		if err == nil {
			t.Error("pending DLR still stored")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestPendingDLRSameBatch(t *testing.T) {
	s := openStore(t, testConfig(t))
	acceptAndLease(t, s, "p2", 1)
	mustRecord(t, s, dlr("77", core.StatusUndeliverable), submitted("p2", 1, "77"))
	if m := mustMessage(t, s, "p2"); m.Status != core.StatusUndeliverable {
		t.Fatalf("status %s", m.Status)
	}
}

func TestDLRIDForms(t *testing.T) {
	for _, tc := range []struct {
		name, submit, receipt string
	}{
		{"same", "A1B2C3", "a1b2c3"},
		{"hex submit, decimal receipt", "1A2B", "6699"},
		{"decimal submit, hex receipt", "000123", "7B"},
		{"decimal both, leading zeros", "0042", "42"},
		{"hex with leading zeros", "00ff", "255"},
		{"long decimal", "12345678901234567890123", "29d42b64e76714244cb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, testConfig(t))
			acceptAndLease(t, s, "m", 1)
			mustRecord(t, s, submitted("m", 1, tc.submit))
			mustRecord(t, s, dlr(tc.receipt, core.StatusDelivered))
			if m := mustMessage(t, s, "m"); m.Status != core.StatusDelivered {
				t.Fatalf("status %s", m.Status)
			}
		})
	}
}

func TestSMSCIDVariants(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"000", []string{"0"}},
		{"0042", []string{"42", "2a", "66"}},
		{"ABCDEF", []string{"abcdef", "11259375"}},
		{"msg-1", []string{"msg-1"}},
	} {
		got := smscIDVariants(tc.in)
		if len(got) != len(tc.want) {
			t.Errorf("%q: %v", tc.in, got)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%q: %v", tc.in, got)
			}
		}
	}
}

func TestUnknownSettledByPhone(t *testing.T) {
	s := openStore(t, testConfig(t))
	acceptAndLease(t, s, "u1", 2)
	t0 := time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC)
	mustRecord(t, s,
		core.Event{Kind: core.EventUnknown, MessageID: "u1", Part: 2, At: t0},
		submitted("u1", 1, "s1"),
	)
	m := mustMessage(t, s, "u1")
	if m.Status != core.StatusUnknown || m.Parts[1].Status != core.StatusUnknown {
		t.Fatalf("%s %+v", m.Status, m.Parts)
	}
	// Left the queue: submitted + unknown.
	if b := s.Backlog()["viettel"]; b != [3]int{} {
		t.Fatalf("backlog %v", b)
	}
	// A second message to the same phone, unknown later.
	acceptAndLease(t, s, "u2", 1)
	mustRecord(t, s, core.Event{Kind: core.EventUnknown, MessageID: "u2", Part: 1, At: t0.Add(time.Minute)})

	mustRecord(t, s, dlr("s1", core.StatusDelivered))
	// Receipt for an id nobody knows, from the handset: settles the oldest
	// unknown part (u1 part 2).
	e := dlr("zz9", core.StatusDelivered)
	e.Phone = "84912345678"
	mustRecord(t, s, e)
	m = mustMessage(t, s, "u1")
	if m.Status != core.StatusDelivered || m.Parts[1].SMSCID != "zz9" {
		t.Fatalf("u1 %s %+v", m.Status, m.Parts)
	}
	if m2 := mustMessage(t, s, "u2"); m2.Status != core.StatusUnknown {
		t.Fatalf("u2 %s", m2.Status)
	}
	// Redelivery of the same receipt resolves through the correlation key
	// now, and changes nothing (u2 stays unknown).
	mustRecord(t, s, e)
	if m2 := mustMessage(t, s, "u2"); m2.Status != core.StatusUnknown {
		t.Fatalf("u2 after redelivery %s", m2.Status)
	}
	// A late submit_sm_resp for u2 settles its unknown part as submitted.
	mustRecord(t, s, submitted("u2", 1, "s2"))
	if m2 := mustMessage(t, s, "u2"); m2.Status != core.StatusSubmitted {
		t.Fatalf("u2 after late resp %s", m2.Status)
	}
	// No unknown index entries left.
	id, _, err := func() (string, int, error) {
		txn := s.db.NewTransaction(false)
		defer txn.Discard()
		b := &batch{s: s, rtx: txn, ov: map[string]ovEntry{}}
		return b.oldestUnknown("84912345678")
	}()
	if err != nil || id != "" {
		t.Fatalf("unknown index left: %q %v", id, err)
	}
}

func TestRejectedAndWorstStatus(t *testing.T) {
	s := openStore(t, testConfig(t))
	acceptAndLease(t, s, "w", 3)
	mustRecord(t, s, submitted("w", 1, "1"), submitted("w", 2, "2"), submitted("w", 3, "3"))
	mustRecord(t, s, dlr("1", core.StatusDelivered), dlr("2", core.StatusExpired))
	if m := mustMessage(t, s, "w"); m.Status != core.StatusSubmitted {
		t.Fatalf("status %s", m.Status)
	}
	e := dlr("3", core.StatusUndeliverable)
	e.ErrorCode = "001"
	mustRecord(t, s, e)
	m := mustMessage(t, s, "w")
	if m.Status != core.StatusUndeliverable {
		t.Fatalf("status %s", m.Status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	reps, err := s.PendingReports(ctx, 5)
	if err != nil || len(reps) != 1 || reps[0].Status != core.StatusUndeliverable || reps[0].ErrorCode != "001" {
		t.Fatalf("%+v %v", reps, err)
	}

	// Rejected by the SMSC: final at once, even with other parts pending.
	acceptAndLease(t, s, "rj", 2)
	mustRecord(t, s, submitted("rj", 1, "r1"), core.Event{Kind: core.EventRejected, MessageID: "rj", Part: 2, SMPPStatus: 0x0B})
	m = mustMessage(t, s, "rj")
	if m.Status != core.StatusRejected || m.Parts[1].Status != core.StatusRejected {
		t.Fatalf("rj %s %+v", m.Status, m.Parts)
	}
	// A late DLR for part 1 of a final message is ignored.
	mustRecord(t, s, dlr("r1", core.StatusDelivered))
	if m2 := mustMessage(t, s, "rj"); m2.Status != core.StatusRejected || len(m2.History) != len(m.History) {
		t.Fatalf("late dlr changed rj: %+v", m2)
	}
}

func TestRecordSkipsUnknownMessagesAndValidates(t *testing.T) {
	s := openStore(t, testConfig(t))
	mustRecord(t, s, submitted("nope", 1, "1"))
	if err := s.Record(context.Background(), []core.Event{{Kind: 99, MessageID: "x"}}); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("got %v", err)
	}
	if err := s.Record(context.Background(), []core.Event{{Kind: core.EventDLR}}); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("got %v", err)
	}
}
