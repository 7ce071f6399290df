package web

import (
	"time"

	"github.com/valyala/fasthttp"

	"vneidgw/core"
)

// acceptAnswer is the 202 answer to one approval or one notice.
type acceptAnswer struct {
	MessageID string `json:"message_id"`
	Duplicate bool   `json:"duplicate"`
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
	sum, err := processNDJSON(ctx, body, s.cfg.MaxNDJSONLines, r.key.ID, s.msgs.SubmitApprovals)
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
