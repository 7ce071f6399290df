package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/valyala/fasthttp"

	"vneidgw/core"
)

// readBody returns the request body if it is at most limit bytes. A body
// announced larger by Content-Length is refused (ETOOLARGE) before any of
// it is read; a chunked body is read up to limit+1 bytes and refused then.
func readBody(r *request, limit int) ([]byte, error) {
	ctx := r.ctx
	cl := ctx.Request.Header.ContentLength()
	if cl > limit {
		return nil, tooLarge(limit)
	}
	stream := ctx.RequestBodyStream()
	if stream == nil { // not served with StreamRequestBody: the body is in memory already
		r.bodyRead = true
		b := ctx.Request.Body()
		if len(b) > limit {
			return nil, tooLarge(limit)
		}
		return b, nil
	}
	if cl >= 0 { // known length: one exact allocation
		b := make([]byte, cl)
		if _, err := io.ReadFull(stream, b); err != nil {
			ctx.SetConnectionClose()
			return nil, core.Errorf(core.EINVALID, "reading request body: %w", err)
		}
		r.bodyRead = true
		return b, nil
	}
	var buf bytes.Buffer // chunked: read up to one byte over the limit
	n, err := buf.ReadFrom(io.LimitReader(stream, int64(limit)+1))
	if n > int64(limit) {
		return nil, tooLarge(limit)
	}
	if err != nil {
		ctx.SetConnectionClose()
		return nil, core.Errorf(core.EINVALID, "reading request body: %w", err)
	}
	r.bodyRead = true
	return buf.Bytes(), nil
}

func tooLarge(limit int) error {
	return core.Errorf(core.ETOOLARGE, "request body over %d bytes", limit)
}

// mediaType returns the lower-cased media type of the request without
// parameters ("application/json; charset=utf-8" → "application/json").
func mediaType(ctx *fasthttp.RequestCtx) string {
	ct := string(ctx.Request.Header.ContentType())
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// unsupportedMediaType answers 415 naming the accepted types.
func (s *Server) unsupportedMediaType(r *request, accepted string) {
	s.renderErrorStatus(r, fasthttp.StatusUnsupportedMediaType, core.EINVALID,
		"Content-Type must be "+accepted, nil)
}

// decodeStrict decodes one JSON object from b into v: unknown fields,
// trailing data and a non-object are errors (EINVALID, with a message fit
// for the caller).
func decodeStrict(b []byte, v any) error {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i == len(b) {
		return core.Errorf(core.EINVALID, "empty body: want a JSON object")
	}
	if b[i] != '{' {
		return core.Errorf(core.EINVALID, "want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return core.Errorf(core.EINVALID, "%s", jsonErrorText(err))
	}
	for j := int(dec.InputOffset()); j < len(b); j++ {
		if !isSpace(b[j]) {
			return core.Errorf(core.EINVALID, "unexpected data after the JSON object")
		}
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// jsonErrorText turns an encoding/json error into a short caller-facing
// text that names the field, never echoing values.
func jsonErrorText(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "value"
		}
		return fmt.Sprintf("%s: want a JSON %s, got %s", field, jsonKind(te.Type.Kind().String()), te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "invalid JSON: unexpected end of input"
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}

// jsonKind names a Go kind the way a JSON caller thinks of it.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	}
	return kind
}
