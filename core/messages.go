package core

import (
	"context"
	"net/url"
	"strings"
	"time"
)

// MessageServiceConfig wires a MessageService.
type MessageServiceConfig struct {
	Store  MessageStore
	Ported PortedStore // may be nil: ported-number updates then live in memory only
	Router *Router
	// Accounts, if set, turns every accepted approval into an account
	// waiting for activation (the ActivationService), before its SMS is
	// queued: an application whose phone already holds another ID number's
	// account is refused and sends nothing.
	Accounts AccountCreator
	Sender   string           // source address of every SMS, "VneID"
	Now      func() time.Time // nil = time.Now
}

// AccountCreator makes approved applications accounts (ActivationService).
type AccountCreator interface {
	CreateFromApplications(ctx context.Context, apps []*Application) ([]error, error)
}

// MessageService turns upstream requests (approvals, notices, OTP texts)
// into queued messages. It is the one place that validates, normalises,
// routes and encodes before anything is stored.
type MessageService struct {
	store    MessageStore
	ported   PortedStore
	router   *Router
	accounts AccountCreator
	sender   string
	now      func() time.Time
}

// NewMessageService checks cfg and returns the service.
func NewMessageService(cfg MessageServiceConfig) (*MessageService, error) {
	if cfg.Store == nil || cfg.Router == nil {
		return nil, Errorf(EINVALID, "message service: store and router are required")
	}
	if cfg.Sender == "" {
		cfg.Sender = "VneID"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &MessageService{store: cfg.Store, ported: cfg.Ported, router: cfg.Router, accounts: cfg.Accounts, sender: cfg.Sender, now: cfg.Now}, nil
}

// ApprovalResult answers one application of SubmitApprovals.
type ApprovalResult struct {
	Line          int // 1-based position in the request
	ApplicationID string
	MessageID     string
	Duplicate     bool
	Err           error // EINVALID: the application was refused and nothing was stored for it
}

// SubmitApprovals validates every application (normalising it in place),
// stores the valid ones and queues their approval SMS in one durable write.
// Per-application refusals are in the results; the error return is only
// for a store failure, in which case nothing of this call is guaranteed
// stored and the caller should retry (it is idempotent on application id).
//
// It is PrepareApprovals followed by StoreApprovals.
func (s *MessageService) SubmitApprovals(ctx context.Context, clientID string, apps []*Application) ([]ApprovalResult, error) {
	return s.StoreApprovals(ctx, s.PrepareApprovals(clientID, apps))
}

// PreparedApprovals is a batch of applications validated and turned into
// messages by PrepareApprovals, not yet stored.
type PreparedApprovals struct {
	results []ApprovalResult
	reqs    []AcceptRequest
	index   []int // reqs[i] answers results[index[i]]
}

// PrepareApprovals is the part of SubmitApprovals that needs no storage:
// validation, normalisation (in place) and building the approval SMS. A
// bulk upload prepares the next batch while the previous one is stored.
func (s *MessageService) PrepareApprovals(clientID string, apps []*Application) *PreparedApprovals {
	results := make([]ApprovalResult, len(apps))
	reqs := make([]AcceptRequest, 0, len(apps))
	index := make([]int, 0, len(apps))
	now := s.now()
	for i, a := range apps {
		results[i].Line = i + 1
		if a == nil {
			results[i].Err = Errorf(EINVALID, "empty application")
			continue
		}
		results[i].ApplicationID = a.ApplicationID
		if err := a.Validate(); err != nil {
			results[i].Err = err
			continue
		}
		if err := validateCallbackURL(a.CallbackURL); err != nil {
			results[i].Err = err
			continue
		}
		a.ClientID = clientID
		a.ReceivedAt = now
		m, err := s.newMessage(KindApproval, a.Phone, ApprovalText(a.FullName), now)
		if err != nil {
			results[i].Err = err
			continue
		}
		m.ApplicationID = a.ApplicationID
		m.ClientID = clientID
		m.CallbackURL = a.CallbackURL
		a.MessageID = m.ID
		reqs = append(reqs, AcceptRequest{Message: m, Application: a})
		index = append(index, i)
	}
	return &PreparedApprovals{results: results, reqs: reqs, index: index}
}

// StoreApprovals is the storage part of SubmitApprovals: the accounts (when
// the service creates them), then the applications and their queued SMS in
// one durable write. After a failure it may be called again with the same
// p (approvals are idempotent on application id).
func (s *MessageService) StoreApprovals(ctx context.Context, p *PreparedApprovals) ([]ApprovalResult, error) {
	results := append([]ApprovalResult(nil), p.results...) // p stays as prepared
	reqs, index := p.reqs, p.index
	if s.accounts != nil && len(reqs) > 0 {
		apps := make([]*Application, len(reqs))
		for j, r := range reqs {
			apps[j] = r.Application
		}
		errs, err := s.accounts.CreateFromApplications(ctx, apps)
		if err != nil {
			return nil, err
		}
		kept, keptIndex := make([]AcceptRequest, 0, len(reqs)), make([]int, 0, len(index))
		for j, r := range reqs {
			if errs[j] != nil {
				results[index[j]].Err = errs[j]
				continue
			}
			kept, keptIndex = append(kept, r), append(keptIndex, index[j])
		}
		reqs, index = kept, keptIndex
	}
	if len(reqs) == 0 {
		return results, nil
	}
	accepted, err := s.store.Accept(ctx, reqs)
	if err != nil {
		return nil, err
	}
	for j, r := range accepted {
		results[index[j]].MessageID = r.MessageID
		results[index[j]].Duplicate = r.Duplicate
	}
	return results, nil
}

// Notice is a free-text SMS requested by the upstream system.
type Notice struct {
	To, Text, CallbackURL, Reference, IdempotencyKey string
}

// SubmitNotice queues a notice. The idempotency key is required: a repeat
// with the same key (per client) returns the first message and sends nothing.
func (s *MessageService) SubmitNotice(ctx context.Context, clientID string, n Notice) (AcceptResult, error) {
	if n.IdempotencyKey == "" || len(n.IdempotencyKey) > 128 {
		return AcceptResult{}, Errorf(EINVALID, "idempotency key: required, at most 128 characters")
	}
	if len(n.Reference) > 128 {
		return AcceptResult{}, Errorf(EINVALID, "reference: at most 128 characters")
	}
	if err := validateCallbackURL(n.CallbackURL); err != nil {
		return AcceptResult{}, err
	}
	return s.submit(ctx, KindNotice, clientID, n, 0)
}

// SubmitOTPText queues an OTP text in the otp lane with an SMPP validity
// equal to the code's lifetime. Used by the OTP service; the text is never
// logged.
func (s *MessageService) SubmitOTPText(ctx context.Context, phone, text string, validity time.Duration) (AcceptResult, error) {
	return s.submit(ctx, KindOTP, "", Notice{To: phone, Text: text}, validity)
}

// NewOTPMessage builds (without queueing) the message SubmitOTPText would
// queue, for a store that queues it in the same write as the code's record
// (OTPSMSIssuer).
func (s *MessageService) NewOTPMessage(phone, text string, validity time.Duration) (*Message, error) {
	to, err := NormalizeMSISDN(phone)
	if err != nil {
		return nil, err
	}
	m, err := s.newMessage(KindOTP, to, text, s.now())
	if err != nil {
		return nil, err
	}
	m.Validity = validity
	return m, nil
}

// SubmitSystemNotice queues a notice generated by the gateway itself (a
// generated password, a lock notice). No idempotency key.
func (s *MessageService) SubmitSystemNotice(ctx context.Context, phone, text string) (AcceptResult, error) {
	return s.submit(ctx, KindNotice, "", Notice{To: phone, Text: text}, 0)
}

func (s *MessageService) submit(ctx context.Context, kind Kind, clientID string, n Notice, validity time.Duration) (AcceptResult, error) {
	to, err := NormalizeMSISDN(n.To)
	if err != nil {
		return AcceptResult{}, err
	}
	m, err := s.newMessage(kind, to, n.Text, s.now())
	if err != nil {
		return AcceptResult{}, err
	}
	m.ClientID = clientID
	m.CallbackURL = n.CallbackURL
	m.Reference = n.Reference
	m.Validity = validity
	res, err := s.store.Accept(ctx, []AcceptRequest{{Message: m, IdempotencyKey: n.IdempotencyKey}})
	if err != nil {
		return AcceptResult{}, err
	}
	return res[0], nil
}

// newMessage builds a queued message to a normalised number: the text as it
// will be sent, its parts, its route.
func (s *MessageService) newMessage(kind Kind, to, text string, now time.Time) (*Message, error) {
	// Only the number of parts is kept: the gateway encodes the text when
	// it sends. prepareText measures exactly as EncodeText splits (as
	// CountParts does), without building the parts, in the pass that
	// checks the text is GSM-7.
	text, n := prepareText(strings.TrimSpace(text))
	if text == "" {
		return nil, Errorf(EINVALID, "text: empty")
	}
	if n > MaxParts {
		return nil, Errorf(ETOOLARGE, "text: needs %d SMS parts, at most %d allowed", n, MaxParts)
	}
	id := NewID(now)
	ref := concatRef(id)
	blk := new(messageBlock)
	var parts []PartState
	if n <= len(blk.parts) {
		parts = blk.parts[:n:n]
	} else {
		parts = make([]PartState, n)
	}
	for i := range parts {
		parts[i].Status = StatusQueued
	}
	blk.hops[0] = Hop{Status: StatusQueued, At: now}
	blk.m = Message{
		ID:        id,
		Kind:      kind,
		Priority:  PriorityOf(kind),
		To:        to,
		Sender:    s.sender,
		Text:      text,
		Operator:  s.router.Route(to),
		ConcatRef: ref,
		CreatedAt: now,
		Status:    StatusQueued,
		Parts:     parts,
		History:   blk.hops[:],
	}
	return &blk.m, nil
}

// messageBlock is a new message with room for its parts (an approval
// takes two) and its first hop, allocated together: one allocation per
// message instead of three. The slices are full, so an append moves out
// of the block rather than over a neighbour.
type messageBlock struct {
	m     Message
	parts [2]PartState
	hops  [1]Hop
}

// Message returns a message by id.
func (s *MessageService) Message(ctx context.Context, id string) (*Message, error) {
	if id == "" || len(id) > 64 {
		return nil, Errorf(ENOTFOUND, "message not found")
	}
	return s.store.Message(ctx, id)
}

// MessagesByPhone lists a phone's messages newest first; phone may be in any
// form NormalizeMSISDN accepts.
func (s *MessageService) MessagesByPhone(ctx context.Context, phone, cursor string, limit int) ([]*Message, string, error) {
	p, err := NormalizeMSISDN(phone)
	if err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		limit = 50
	}
	if limit > 500 {
		limit = 500
	}
	return s.store.MessagesByPhone(ctx, p, cursor, limit)
}

// SetPorted validates ported-number entries (any number form → operator),
// stores them and applies them to routing. It returns how many were set.
func (s *MessageService) SetPorted(ctx context.Context, entries map[string]string) (int, error) {
	clean := make(map[string]string, len(entries))
	known := make(map[string]bool)
	for _, op := range s.router.Operators() {
		known[op] = true
	}
	for num, op := range entries {
		n, err := NormalizeMSISDN(num)
		if err != nil {
			return 0, err
		}
		op = strings.ToLower(strings.TrimSpace(op))
		if !known[op] {
			return 0, Errorf(EINVALID, "ported %s: unknown operator %q", MaskMSISDN(n), op)
		}
		clean[n] = op
	}
	if s.ported != nil {
		if err := s.ported.PutPorted(ctx, clean); err != nil {
			return 0, err
		}
	}
	s.router.SetPorted(clean)
	return len(clean), nil
}

// concatRef derives the 8-bit concatenation reference from the message id,
// so retries and restarts reuse the same reference.
func concatRef(id string) uint8 {
	// FNV-1a 32 (hash/fnv's New32a), inline: no hasher or []byte to allocate.
	const offset32, prime32 = 2166136261, 16777619
	h := uint32(offset32)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= prime32
	}
	return uint8(h)
}

func validateCallbackURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(raw) > 512 {
		return Errorf(EINVALID, "callback_url: want an absolute http(s) URL of at most 512 characters")
	}
	return nil
}
