package web

import (
	"bytes"

	"github.com/valyala/fasthttp"

	"vneidgw/core"
)

// handlePorted answers POST /api/v1/ported: ported-number entries as CSV
// (text/csv, msisdn,operator per row) or a JSON object {msisdn: operator}.
// The whole upload is refused if one entry is wrong.
func (s *Server) handlePorted(r *request) {
	mt := mediaType(r.ctx)
	if mt != "text/csv" && mt != "application/json" {
		s.unsupportedMediaType(r, "text/csv or application/json")
		return
	}
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
	var entries map[string]string
	if mt == "text/csv" {
		entries, err = core.ParsePortedCSV(bytes.NewReader(body))
		if err != nil && core.ErrorCode(err) == core.EINTERNAL { // a csv syntax error: the caller's
			err = core.Errorf(core.EINVALID, "ported CSV: %v", err)
		}
	} else {
		err = decodeStrict(body, &entries)
	}
	if err != nil {
		s.renderError(r, err)
		return
	}
	ctx, cancel := s.requestContext(bulkTimeout)
	defer cancel()
	n, err := s.msgs.SetPorted(ctx, entries)
	if err != nil {
		s.renderError(r, err)
		return
	}
	s.log.Info().Str("client", r.key.ID).Int("entries", n).Msg("ported numbers updated")
	s.writeJSON(r, fasthttp.StatusOK, struct {
		Updated int `json:"updated"`
	}{n})
}
