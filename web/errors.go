package web

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"vneidgw/core"
)

// defaultRetryAfter is the Retry-After given with 429 and 503 answers when
// the error does not say better.
const defaultRetryAfter = 5 * time.Second

// RetryAfterError may be implemented by an error (anywhere in its chain) to
// say when the caller should try again; the renderer puts it in Retry-After.
type RetryAfterError interface {
	error
	RetryAfter() time.Duration
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// statusOf maps a core error code to its HTTP status. Semantic validation
// errors are 400 like syntax errors: one status for "your input is wrong".
func statusOf(code string) int {
	switch code {
	case core.EINVALID:
		return fasthttp.StatusBadRequest
	case core.ENOTFOUND:
		return fasthttp.StatusNotFound
	case core.ECONFLICT:
		return fasthttp.StatusConflict
	case core.EUNAUTHORIZED:
		return fasthttp.StatusUnauthorized
	case core.EFORBIDDEN:
		return fasthttp.StatusForbidden
	case core.ERATELIMIT:
		return fasthttp.StatusTooManyRequests
	case core.ETOOLARGE:
		return fasthttp.StatusRequestEntityTooLarge
	case core.EUNAVAILABLE:
		return fasthttp.StatusServiceUnavailable
	default:
		return fasthttp.StatusInternalServerError
	}
}

// classify returns the code and caller-safe message of err. Context
// deadlines count as unavailable; anything without a code is internal and
// its detail never leaves the log.
func classify(err error) (code, msg string) {
	if errors.Is(err, context.DeadlineExceeded) && core.ErrorCode(err) == core.EINTERNAL {
		return core.EUNAVAILABLE, "timed out; retry later"
	}
	code = core.ErrorCode(err)
	if code == core.EINTERNAL {
		return code, "internal error"
	}
	return code, core.ErrorMessage(err)
}

// renderError writes err as {"error":{"code","message"}} with the status of
// its code. It is the only place that turns an error into a response.
func (s *Server) renderError(r *request, err error) {
	code, msg := classify(err)
	s.renderErrorStatus(r, statusOf(code), code, msg, err)
}

// renderErrorStatus writes an error answer with an explicit status (404 for
// an unknown route, 405, 415) and logs what the caller must not see.
func (s *Server) renderErrorStatus(r *request, status int, code, msg string, cause error) {
	ctx := r.ctx
	switch status {
	case fasthttp.StatusUnauthorized:
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="vneidgw"`)
	case fasthttp.StatusTooManyRequests, fasthttp.StatusServiceUnavailable:
		after := defaultRetryAfter
		var ra RetryAfterError
		if errors.As(cause, &ra) && ra.RetryAfter() > 0 {
			after = ra.RetryAfter()
		}
		secs := int((after + time.Second - 1) / time.Second)
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(secs))
	case fasthttp.StatusRequestEntityTooLarge:
		// The rest of the body is not read: the connection cannot be reused.
		ctx.SetConnectionClose()
	}
	if status >= 500 && cause != nil {
		r.err = cause // logged with the request event
	}
	if msg == "" {
		msg = fasthttp.StatusMessage(status)
	}
	s.writeJSON(r, status, errorBody{Error: errorDetail{Code: code, Message: msg}})
}
