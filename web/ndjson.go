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

// prepareFunc is the first stage of a submit, run as soon as a chunk is
// parsed (MessageService.PrepareApprovals: validation and message
// building); the storeFunc it returns is the second stage, run in the
// background one chunk at a time in line order (StoreApprovals).
type prepareFunc func(clientID string, apps []*core.Application) storeFunc

type storeFunc func(ctx context.Context) ([]core.ApprovalResult, error)

// submitStages runs all of submit in the second stage.
func submitStages(submit submitFunc) prepareFunc {
	return func(clientID string, apps []*core.Application) storeFunc {
		return func(ctx context.Context) ([]core.ApprovalResult, error) { return submit(ctx, clientID, apps) }
	}
}

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
	if !fastApplication(line, a) {
		*a = core.Application{}
		if err := decodeStrict(line, a); err != nil {
			return nil, err
		}
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
//
// Chunks are pipelined: while chunk N is stored (most of which is waiting
// for its durable writes) the next chunk is parsed and prepared. The store
// stages still run one after another in line order, so the outcome is the
// same as submitting each chunk in turn.
func processNDJSON(ctx context.Context, body []byte, maxLines int, clientID string, prepare prepareFunc) (*bulkSummary, error) {
	n := countLines(body)
	if n > maxLines {
		return nil, core.Errorf(core.ETOOLARGE, "%d lines: at most %d per request", n, maxLines)
	}
	sum := &bulkSummary{Results: make([]lineResult, 0, n), Errors: make([]lineError, 0)}
	p := &ndjsonPipeline{ctx: ctx, clientID: clientID, prepare: prepare, sum: sum}
	cur := newNDJSONChunk()
	lastLine := 0
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
		cur.apps = append(cur.apps, a)
		cur.lines = append(cur.lines, lastLine)
		if len(cur.apps) == submitChunk {
			var err error
			if cur, err = p.start(cur); err != nil {
				return nil, err
			}
		}
	}
	if _, err := p.start(cur); err != nil {
		return nil, err
	}
	if err := p.wait(); err != nil {
		return nil, err
	}
	sort.Slice(sum.Errors, func(i, j int) bool { return sum.Errors[i].Line < sum.Errors[j].Line })
	sum.Rejected = len(sum.Errors)
	return sum, nil
}

// ndjsonChunk is up to submitChunk applications and their line numbers.
type ndjsonChunk struct {
	apps  []*core.Application
	lines []int
}

func newNDJSONChunk() *ndjsonChunk {
	return &ndjsonChunk{apps: make([]*core.Application, 0, submitChunk), lines: make([]int, 0, submitChunk)}
}

// ndjsonPipeline prepares chunks in the caller's goroutine, stores them
// one at a time in the background and merges their results into sum in
// order.
type ndjsonPipeline struct {
	ctx      context.Context
	clientID string
	prepare  prepareFunc
	sum      *bulkSummary
	inflight *ndjsonChunk
	done     chan submitOutcome
	spare    *ndjsonChunk
}

type submitOutcome struct {
	res []core.ApprovalResult
	err error
}

// start prepares c, waits for the chunk in flight and merges it, then
// stores c in the background. It returns an empty chunk to fill next.
func (p *ndjsonPipeline) start(c *ndjsonChunk) (*ndjsonChunk, error) {
	var store storeFunc
	if len(c.apps) > 0 {
		store = p.prepare(p.clientID, c.apps)
	}
	if err := p.wait(); err != nil {
		return nil, err
	}
	if store == nil {
		return c, nil
	}
	if p.done == nil {
		p.done = make(chan submitOutcome, 1)
	}
	p.inflight = c
	go func() {
		res, err := store(p.ctx)
		p.done <- submitOutcome{res, err}
	}()
	next := p.spare
	if next == nil {
		next = newNDJSONChunk()
	}
	p.spare = nil
	return next, nil
}

// wait waits for the chunk in flight, if any, and merges its results.
func (p *ndjsonPipeline) wait() error {
	c := p.inflight
	if c == nil {
		return nil
	}
	out := <-p.done
	p.inflight = nil
	if err := p.merge(c, out.res, out.err); err != nil {
		return err
	}
	c.apps, c.lines = c.apps[:0], c.lines[:0]
	p.spare = c
	return nil
}

func (p *ndjsonPipeline) merge(c *ndjsonChunk, res []core.ApprovalResult, err error) error {
	sum := p.sum
	if err != nil {
		code := core.ErrorCode(err)
		if code == core.EINTERNAL || code == core.EUNAVAILABLE {
			code = core.EUNAVAILABLE
		}
		// The cause stays out of the caller's message (it is logged).
		return &core.Error{Code: code, Err: err, Message: fmt.Sprintf(
			"storing approvals failed at line %d (earlier lines may be stored); resubmit the upload: approvals are idempotent on application_id", c.lines[0])}
	}
	if len(res) != len(c.apps) {
		return core.Errorf(core.EINTERNAL, "submit answered %d results for %d applications", len(res), len(c.apps))
	}
	for i, r := range res {
		if r.Err != nil {
			sum.Errors = append(sum.Errors, lineError{Line: c.lines[i], ApplicationID: r.ApplicationID,
				Code: core.ErrorCode(r.Err), Message: safeMessage(r.Err)})
			continue
		}
		sum.Results = append(sum.Results, lineResult{Line: c.lines[i], ApplicationID: r.ApplicationID,
			MessageID: r.MessageID, Duplicate: r.Duplicate})
		if r.Duplicate {
			sum.Duplicates++
		} else {
			sum.Accepted++
		}
	}
	return nil
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
