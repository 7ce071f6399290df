package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"vneidgw/core"
)

// TestCommittedOpAnsweredWhileWriterApplies: a committed op is answered by
// the finisher even while the writer goroutine is busy applying a later
// (here: blocked) batch.
func TestCommittedOpAnsweredWhileWriterApplies(t *testing.T) {
	s := openStore(t, testConfig(t))
	ctx := context.Background()
	applied := make(chan struct{})
	a := &op{items: 1, apply: func(b *batch) error {
		b.set([]byte("t/a"), []byte("1"))
		close(applied)
		return nil
	}}
	aDone := make(chan error, 1)
	go func() { aDone <- s.submit(ctx, a) }()
	<-applied

	release := make(chan struct{})
	blocked := &op{items: 1, apply: func(b *batch) error {
		<-release
		b.set([]byte("t/b"), []byte("2"))
		return nil
	}}
	bDone := make(chan error, 1)
	go func() { bDone <- s.submit(ctx, blocked) }()

	select {
	case err := <-aDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("a committed op waited for the writer to finish applying the next batch")
	}
	close(release)
	if err := <-bDone; err != nil {
		t.Fatal(err)
	}
}

// TestNextRangeLeavesOtherLanes: the main sender's range skips the OTP
// lane, the express sender's takes only it.
func TestNextRangeLeavesOtherLanes(t *testing.T) {
	s := openStore(t, testConfig(t))
	mustAccept(t, s, []core.AcceptRequest{
		{Message: newMessage("a1", "vina", core.KindApproval, 1)},
		{Message: newMessage("o1", "vina", core.KindOTP, 1)},
		{Message: newMessage("n1", "vina", core.KindNotice, 1)},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	main, err := s.NextRange(ctx, []string{"vina"}, core.PriorityOTP+1, core.NumPriorities-1, 10)
	if err != nil || !slices.Equal(ids(main), []string{"n1", "a1"}) {
		t.Fatalf("main range: %v %v", ids(main), err)
	}
	otp, err := s.NextRange(ctx, []string{"vina"}, core.PriorityOTP, core.PriorityOTP, 10)
	if err != nil || !slices.Equal(ids(otp), []string{"o1"}) {
		t.Fatalf("otp range: %v %v", ids(otp), err)
	}
}
