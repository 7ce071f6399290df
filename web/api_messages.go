package web

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"vneidgw/core"
)

// Paging of GET /api/v1/messages.
const (
	defaultListLimit = 50
	maxListLimit     = 500
)

// noticeRequest is the body of POST /api/v1/messages.
type noticeRequest struct {
	To          string `json:"to"`
	Text        string `json:"text"`
	CallbackURL string `json:"callback_url"`
	Reference   string `json:"reference"`
}

// handleNotice answers POST /api/v1/messages: one free-text SMS, made
// idempotent by the required Idempotency-Key header.
func (s *Server) handleNotice(r *request) {
	if mt := mediaType(r.ctx); mt != "application/json" {
		s.unsupportedMediaType(r, "application/json")
		return
	}
	key := string(r.ctx.Request.Header.Peek("Idempotency-Key"))
	if key == "" {
		s.renderError(r, core.Errorf(core.EINVALID, "Idempotency-Key header: required"))
		return
	}
	body, err := readBody(r, smallBodyBytes)
	if err != nil {
		s.renderError(r, err)
		return
	}
	var in noticeRequest
	if !fastNotice(body, &in) {
		in = noticeRequest{}
		if err := decodeStrict(body, &in); err != nil {
			s.renderError(r, err)
			return
		}
	}
	ctx, cancel := s.requestContext(requestTimeout)
	defer cancel()
	res, err := s.msgs.SubmitNotice(ctx, r.key.ID, core.Notice{
		To: in.To, Text: in.Text, CallbackURL: in.CallbackURL, Reference: in.Reference, IdempotencyKey: key,
	})
	if err != nil {
		s.renderError(r, err)
		return
	}
	s.writeJSON(r, fasthttp.StatusAccepted, acceptAnswer{MessageID: res.MessageID, Duplicate: res.Duplicate})
}

// handleGetMessage answers GET /api/v1/messages/{id} with the whole
// message: the caller is the identity system, nothing is masked.
func (s *Server) handleGetMessage(r *request) {
	ctx, cancel := s.requestContext(requestTimeout)
	defer cancel()
	m, err := s.msgs.Message(ctx, r.param)
	if err != nil {
		s.renderError(r, err)
		return
	}
	s.writeJSON(r, fasthttp.StatusOK, m)
}

// messageList is the answer of GET /api/v1/messages.
type messageList struct {
	Messages   []*core.Message `json:"messages"`
	NextCursor string          `json:"next_cursor"`
}

// handleListMessages answers GET /api/v1/messages?phone=&cursor=&limit=.
func (s *Server) handleListMessages(r *request) {
	args := r.ctx.QueryArgs()
	phone := string(args.Peek("phone"))
	if phone == "" {
		s.renderError(r, core.Errorf(core.EINVALID, "phone: required"))
		return
	}
	limit := defaultListLimit
	if v := args.Peek("limit"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 {
			s.renderError(r, core.Errorf(core.EINVALID, "limit: want a whole number from 1 to %d", maxListLimit))
			return
		}
		limit = min(n, maxListLimit)
	}
	cursor := string(args.Peek("cursor"))
	if len(cursor) > 256 {
		s.renderError(r, core.Errorf(core.EINVALID, "cursor: too long"))
		return
	}
	ctx, cancel := s.requestContext(requestTimeout)
	defer cancel()
	msgs, next, err := s.msgs.MessagesByPhone(ctx, phone, cursor, limit)
	if err != nil {
		s.renderError(r, err)
		return
	}
	if msgs == nil {
		msgs = []*core.Message{}
	}
	s.writeJSON(r, fasthttp.StatusOK, messageList{Messages: msgs, NextCursor: next})
}
