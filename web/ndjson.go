package web

import (
	"bytes"
	"context"
	"fmt"
	"sort"

	"vneidgw/core"
)

const (
	// maxLineBytes caps one NDJSON line; a longer line is refused on its own.
	maxLineBytes = 64 << 10
	// submitChunk is how many applications go to SubmitApprovals at once.
	submitChunk = 1000
)

// submitFunc is MessageService.SubmitApprovals.
type submitFunc func(ctx context.Context, clientID string, apps []*core.Application) ([]core.ApprovalResult, error)

// lineResult is one accepted (or duplicate) line of a bulk upload.
type lineResult struct {
	Line          int    `json:"line"`
	ApplicationID string `json:"application_id"`
	MessageID     string `json:"message_id"`
	Duplicate     bool   `json:"duplicate"`
}

// lineError is one refused line of a bulk upload.
type lineError struct {
	Line          int    `json:"line"`
	ApplicationID string `json:"application_id,omitempty"`
	Code          string `json:"code"`
	Message       string `json:"message"`
}

// bulkSummary is the 202 answer to an NDJSON upload. Every non-blank line
// is in exactly one of Results and Errors; Accepted+Duplicates = len(Results),
// Rejected = len(Errors).
type bulkSummary struct {
	Accepted   int          `json:"accepted"`
	Duplicates int          `json:"duplicates"`
	Rejected   int          `json:"rejected"`
	Results    []lineResult `json:"results"`
	Errors     []lineError  `json:"errors"`
}

// nextLine returns the line starting at body[off:], without its "\n" (and a
// "\r" before it), and the offset of the next line.
func nextLine(body []byte, off int) (line []byte, next int) {
	rest := body[off:]
	i := bytes.IndexByte(rest, '\n')
	if i < 0 {
		line, next = rest, len(body)
	} else {
		line, next = rest[:i], off+i+1
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, next
}

func blank(line []byte) bool {
	for _, c := range line {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

// countLines returns the number of non-blank lines of body.
func countLines(body []byte) int {
	n := 0
	for off := 0; off < len(body); {
		var line []byte
		line, off = nextLine(body, off)
		if !blank(line) {
			n++
		}
	}
	return n
}

// decodeApplication parses one NDJSON line into an application. Fields the
// gateway sets itself are refused.
func decodeApplication(line []byte) (*core.Application, error) {
	a := new(core.Application)
	if err := decodeStrict(line, a); err != nil {
		return nil, err
	}
	switch {
	case a.ClientID != "":
		return a, core.Errorf(core.EINVALID, "client_id: set by the gateway, must not be sent")
	case a.MessageID != "":
		return a, core.Errorf(core.EINVALID, "message_id: set by the gateway, must not be sent")
	case !a.ReceivedAt.IsZero():
		return a, core.Errorf(core.EINVALID, "received_at: set by the gateway, must not be sent")
	}
	return a, nil
}

// processNDJSON parses body line by line (blank lines are skipped but
// counted in line numbers), hands valid applications to submit in chunks
// of submitChunk and returns the per-line outcome. More than maxLines
// non-blank lines is ETOOLARGE before anything is submitted. A submit
// (store) failure stops the upload and is returned with how far it got:
// lines before it may be stored, and a resubmission is safe because
// approvals are idempotent on application_id.
func processNDJSON(ctx context.Context, body []byte, maxLines int, clientID string, submit submitFunc) (*bulkSummary, error) {
	if n := countLines(body); n > maxLines {
		return nil, core.Errorf(core.ETOOLARGE, "%d lines: at most %d per request", n, maxLines)
	}
	sum := &bulkSummary{Results: make([]lineResult, 0, 64), Errors: make([]lineError, 0)}
	apps := make([]*core.Application, 0, submitChunk)
	lines := make([]int, 0, submitChunk)
	lastLine := 0
	flush := func() error {
		if len(apps) == 0 {
			return nil
		}
		res, err := submit(ctx, clientID, apps)
		if err != nil {
			code := core.ErrorCode(err)
			if code == core.EINTERNAL || code == core.EUNAVAILABLE {
				code = core.EUNAVAILABLE
			}
			// The cause stays out of the caller's message (it is logged).
			return &core.Error{Code: code, Err: err, Message: fmt.Sprintf(
				"storing approvals failed at line %d (earlier lines may be stored); resubmit the upload: approvals are idempotent on application_id", lines[0])}
		}
		if len(res) != len(apps) {
			return core.Errorf(core.EINTERNAL, "submit answered %d results for %d applications", len(res), len(apps))
		}
		for i, r := range res {
			if r.Err != nil {
				sum.Errors = append(sum.Errors, lineError{Line: lines[i], ApplicationID: r.ApplicationID,
					Code: core.ErrorCode(r.Err), Message: safeMessage(r.Err)})
				continue
			}
			sum.Results = append(sum.Results, lineResult{Line: lines[i], ApplicationID: r.ApplicationID,
				MessageID: r.MessageID, Duplicate: r.Duplicate})
			if r.Duplicate {
				sum.Duplicates++
			} else {
				sum.Accepted++
			}
		}
		apps, lines = apps[:0], lines[:0]
		return nil
	}
	for off := 0; off < len(body); {
		var line []byte
		line, off = nextLine(body, off)
		lastLine++
		if blank(line) {
			continue
		}
		if len(line) > maxLineBytes {
			sum.Errors = append(sum.Errors, lineError{Line: lastLine, Code: core.ETOOLARGE,
				Message: fmt.Sprintf("line longer than %d bytes", maxLineBytes)})
			continue
		}
		a, err := decodeApplication(line)
		if err != nil {
			le := lineError{Line: lastLine, Code: core.ErrorCode(err), Message: safeMessage(err)}
			if a != nil {
				le.ApplicationID = truncate(a.ApplicationID, 128)
			}
			sum.Errors = append(sum.Errors, le)
			continue
		}
		apps = append(apps, a)
		lines = append(lines, lastLine)
		if len(apps) == submitChunk {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	sort.Slice(sum.Errors, func(i, j int) bool { return sum.Errors[i].Line < sum.Errors[j].Line })
	sum.Rejected = len(sum.Errors)
	return sum, nil
}

// safeMessage is the caller-facing text of a per-line error.
func safeMessage(err error) string {
	_, msg := classify(err)
	return msg
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
