package store

import (
	"context"
	"time"

	"vneidgw/core"
)

// OTPQueueStore is the OTP store of a message Store: its IssueOTPWithSMS
// stores the code's record, charges the daily counters and queues the
// code's SMS in one express write of the Store's writer (one commit on the
// OTP's path instead of two, and never a code stored whose SMS was not
// queued). Its other methods are OTPStore's, on the same database.
type OTPQueueStore struct {
	*OTPStore
	s *Store
}

var _ core.OTPSMSIssuer = (*OTPQueueStore)(nil)

// OTPStore returns the OTP store on s's database that queues SMS through s.
func (s *Store) OTPStore() *OTPQueueStore {
	return &OTPQueueStore{OTPStore: NewOTPStore(s.db), s: s}
}

// batchRW is the writer's batch as an otpRW.
type batchRW struct{ b *batch }

func (r batchRW) get(k []byte) ([]byte, error) {
	v, ok, err := r.b.get(k)
	if !ok {
		return nil, err
	}
	return v, err
}

func (r batchRW) setTTL(k, v []byte, ttl time.Duration) error {
	r.b.setTTL(k, v, ttl)
	return nil
}

func (r batchRW) del(k []byte) error {
	r.b.del(k)
	return nil
}

// IssueOTPWithSMS implements core.OTPSMSIssuer.
//
// The record and the counters are read from the writer's view: its
// batches not yet committed over a snapshot that, under load, may miss the
// latest commits made outside the writer (snapshot.go). Every issue goes
// through the writer, so issues and daily charges are serialised exactly.
// A guess (UpdateOTP) that commits after that snapshot and before this
// write is overwritten by the new record, as if the guess had come first:
// it cannot change what the issue decides on (the cool-down runs from
// IssuedAt, which only issues write). A guess that read the record before
// this write fails with a conflict and is retried on the new one.
func (q *OTPQueueStore) IssueOTPWithSMS(ctx context.Context, key, day string, charges []core.DailyCharge, fn func(cur *core.OTPRecord) (*core.OTPRecord, error), sms *core.AcceptRequest) (core.AcceptResult, error) {
	s := q.s
	var reqs []core.AcceptRequest
	var msgs []*core.Message
	if sms != nil {
		reqs = []core.AcceptRequest{*sms}
		var err error
		if msgs, err = s.prepareAccept(reqs); err != nil {
			return core.AcceptResult{}, err
		}
	}
	results := make([]core.AcceptResult, len(reqs))
	k := otpKey(key)
	o := &op{items: 1 + len(charges) + len(reqs), class: classExpress, apply: func(b *batch) error {
		wrote, err := issueOTP(batchRW{b}, k, day, charges, fn)
		if err != nil || !wrote || len(reqs) == 0 {
			return err
		}
		return s.applyAccept(b, reqs, msgs, results)
	}}
	if err := s.submit(ctx, o); err != nil {
		return core.AcceptResult{}, err
	}
	if len(reqs) == 0 {
		return core.AcceptResult{}, nil
	}
	setQueueSeqs(reqs, msgs, results)
	sms.Message.QueueSeq = reqs[0].Message.QueueSeq
	return results[0], nil
}
