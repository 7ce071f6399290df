package web

import (
	"context"
	"time"
	"vneidgw/internal/jsonenc"

	"github.com/valyala/fasthttp"

	"vneidgw/core"
)

// acceptAnswer is the 202 answer to one approval or one notice.
type acceptAnswer struct {
	MessageID string `json:"message_id"`
	Duplicate bool   `json:"duplicate"`
}

// appendJSON appends a as json.Marshal writes it.
func (a acceptAnswer) appendJSON(b []byte) []byte {
	b = append(b, `{"message_id":`...)
	b = jsonenc.AppendString(b, a.MessageID)
	if a.Duplicate {
		return append(b, `,"duplicate":true}`...)
	}
	return append(b, `,"duplicate":false}`...)
}

// handleApprovals answers POST /api/v1/approvals: one application as
// application/json, or many as application/x-ndjson.
func (s *Server) handleApprovals(r *request) {
	switch mediaType(r.ctx) {
	case "application/json":
		s.approveOne(r)
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines":
		s.approveBulk(r)
	default:
		s.unsupportedMediaType(r, "application/json (one application) or application/x-ndjson (one per line)")
	}
}

func (s *Server) approveOne(r *request) {
	body, err := readBody(r, smallBodyBytes)
	if err != nil {
		s.renderError(r, err)
		return
	}
	a, err := decodeApplication(body)
	if err != nil {
		s.renderError(r, err)
		return
	}
	ctx, cancel := s.requestContext(requestTimeout)
	defer cancel()
	res, err := s.msgs.SubmitApprovals(ctx, r.key.ID, []*core.Application{a})
	if err != nil {
		s.renderError(r, err)
		return
	}
	if len(res) != 1 {
		s.renderError(r, core.Errorf(core.EINTERNAL, "submit answered %d results for 1 application", len(res)))
		return
	}
	if res[0].Err != nil {
		s.metrics.ndjson.WithLabelValues("rejected").Inc()
		s.renderError(r, res[0].Err)
		return
	}
	if res[0].Duplicate {
		s.metrics.ndjson.WithLabelValues("duplicate").Inc()
	} else {
		s.metrics.ndjson.WithLabelValues("accepted").Inc()
	}
	s.writeJSON(r, fasthttp.StatusAccepted, acceptAnswer{MessageID: res[0].MessageID, Duplicate: res[0].Duplicate})
}

func (s *Server) approveBulk(r *request) {
	if !s.acquireBulk() {
		s.renderError(r, core.Errorf(core.ERATELIMIT, "too many bulk uploads in progress; retry later"))
		return
	}
	defer s.releaseBulk()
	body, err := readBody(r, s.cfg.MaxBodyBytes)
	if err != nil {
		s.renderError(r, err)
		return
	}
	ctx, cancel := s.requestContext(bulkTimeout)
	defer cancel()
	sum, err := processNDJSON(ctx, body, s.cfg.MaxNDJSONLines, r.key.ID, s.prepareApprovals())
	if err != nil {
		s.renderError(r, err)
		return
	}
	s.metrics.ndjson.WithLabelValues("accepted").Add(float64(sum.Accepted))
	s.metrics.ndjson.WithLabelValues("duplicate").Add(float64(sum.Duplicates))
	s.metrics.ndjson.WithLabelValues("rejected").Add(float64(sum.Rejected))
	s.log.Info().Str("client", r.key.ID).Int("accepted", sum.Accepted).Int("duplicates", sum.Duplicates).
		Int("rejected", sum.Rejected).Msg("approvals upload")
	s.writeJSON(r, fasthttp.StatusAccepted, sum)
}

// prepareApprovals returns the stages of a bulk submit: the message
// service's PrepareApprovals and StoreApprovals when it has them, else all
// of SubmitApprovals in the store stage.
func (s *Server) prepareApprovals() prepareFunc {
	type stages interface {
		PrepareApprovals(clientID string, apps []*core.Application) *core.PreparedApprovals
		StoreApprovals(ctx context.Context, p *core.PreparedApprovals) ([]core.ApprovalResult, error)
	}
	st, ok := s.msgs.(stages)
	if !ok {
		return submitStages(s.msgs.SubmitApprovals)
	}
	return func(clientID string, apps []*core.Application) storeFunc {
		p := st.PrepareApprovals(clientID, apps)
		return func(ctx context.Context) ([]core.ApprovalResult, error) { return st.StoreApprovals(ctx, p) }
	}
}

// acquireBulk takes a bulk-upload slot, waiting up to bulkWait.
func (s *Server) acquireBulk() bool {
	select {
	case s.bulkSem <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(bulkWait)
	defer t.Stop()
	select {
	case s.bulkSem <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-s.baseCtx.Done():
		return false
	}
}

func (s *Server) releaseBulk() { <-s.bulkSem }
