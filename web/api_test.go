package web

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"vneidgw/core"
)

const ndjsonType = "application/x-ndjson"

func TestAuthFailures(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	routes := []struct{ method, path, ct string }{
		{"POST", "/api/v1/approvals", "application/json"},
		{"POST", "/api/v1/messages", "application/json"},
		{"GET", "/api/v1/messages?phone=0912345678", ""},
		{"GET", "/api/v1/messages/abc", ""},
		{"POST", "/api/v1/ported", "text/csv"},
	}
	creds := []struct {
		name string
		opt  reqOpt
	}{
		{"missing", noAuth()},
		{"basic scheme", withHeader("Authorization", "Basic dXNlcjpwYXNz")},
		{"empty bearer", withHeader("Authorization", "Bearer ")},
		{"malformed token", withHeader("Authorization", "Bearer nope")},
		{"unknown key id", withHeader("Authorization", "Bearer "+core.APIKeyToken("0123456789abcdef", "secretsecretsecretsecret"))},
		{"wrong secret", withHeader("Authorization", "Bearer "+e.token[:len(e.token)-2]+"xx")},
	}
	for _, rt := range routes {
		for _, c := range creds {
			t.Run(rt.method+rt.path+"/"+c.name, func(t *testing.T) {
				r := e.do(rt.method, rt.path, rt.ct, []byte(`{}`), c.opt)
				if r.status != 401 || r.errCode(t) != core.EUNAUTHORIZED {
					t.Fatalf("got %d %s", r.status, r.body)
				}
				if !strings.HasPrefix(r.header["Www-Authenticate"], "Bearer") {
					t.Fatalf("no WWW-Authenticate: %v", r.header)
				}
			})
		}
	}
	if n := e.queued(); n != 0 {
		t.Fatalf("%d messages queued by unauthenticated requests", n)
	}
	// Lower-case scheme is fine.
	r := e.do("GET", "/api/v1/messages/nope", "", nil, withHeader("Authorization", "bearer "+e.token))
	if r.status != 404 {
		t.Fatalf("lower-case bearer: got %d %s", r.status, r.body)
	}
}

func TestRoutingAndHeaders(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	cases := []struct {
		name, method, path string
		status             int
		allow              string
		code               string
	}{
		{"unknown route", "GET", "/nope", 404, "", core.ENOTFOUND},
		{"unknown api route", "GET", "/api/v1/nope", 404, "", core.ENOTFOUND},
		{"nested id", "GET", "/api/v1/messages/a/b", 404, "", core.ENOTFOUND},
		{"bad id chars", "GET", "/api/v1/messages/a%2Eb", 404, "", core.ENOTFOUND},
		{"approvals GET", "GET", "/api/v1/approvals", 405, "POST", core.EINVALID},
		{"messages DELETE", "DELETE", "/api/v1/messages", 405, "GET, HEAD, POST", core.EINVALID},
		{"healthz POST", "POST", "/healthz", 405, "GET, HEAD", core.EINVALID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(c.method, c.path, "", nil)
			if r.status != c.status || r.errCode(t) != c.code {
				t.Fatalf("got %d %s", r.status, r.body)
			}
			if r.header["Allow"] != c.allow {
				t.Fatalf("Allow = %q, want %q", r.header["Allow"], c.allow)
			}
			if !strings.HasPrefix(r.header["Content-Type"], "application/json") {
				t.Fatalf("content type %q", r.header["Content-Type"])
			}
		})
	}
	for _, path := range []string{"/", "/healthz", "/readyz", "/metrics", "/api/doc", "/nope", "/api/v1/approvals"} {
		r := e.do("GET", path, "", nil)
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
			if r.header[k] != v {
				t.Errorf("%s: %s = %q, want %q", path, k, r.header[k], v)
			}
		}
		if !strings.Contains(r.header["Content-Security-Policy"], "default-src 'none'") {
			t.Errorf("%s: CSP %q", path, r.header["Content-Security-Policy"])
		}
	}
}

func TestLandingHealthMetrics(t *testing.T) {
	ready := error(nil)
	e := newEnv(t, Config{}, func(d *Deps) { d.Ready = func() error { return ready } })
	r := e.do("GET", "/", "", nil, noAuth())
	if r.status != 200 || !bytes.Contains(r.body, []byte(`href="/healthz"`)) || !bytes.Contains(r.body, []byte(`href="/api/doc"`)) {
		t.Fatalf("landing: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/doc", "", nil, noAuth()); r.status != 200 || !bytes.Contains(r.body, []byte("POST /api/v1/approvals")) {
		t.Fatalf("doc: %d", r.status)
	}
	if r := e.do("GET", "/healthz", "", nil, noAuth()); r.status != 200 || string(r.body) != "ok" {
		t.Fatalf("healthz: %d %q", r.status, r.body)
	}
	if r := e.do("GET", "/readyz", "", nil, noAuth()); r.status != 200 {
		t.Fatalf("readyz: %d %q", r.status, r.body)
	}
	ready = fmt.Errorf("smpp binds down")
	if r := e.do("GET", "/readyz", "", nil, noAuth()); r.status != 503 || !bytes.Contains(r.body, []byte("smpp binds down")) {
		t.Fatalf("readyz not ready: %d %q", r.status, r.body)
	}
	r = e.do("GET", "/metrics", "", nil, noAuth())
	if r.status != 200 {
		t.Fatalf("metrics: %d", r.status)
	}
	for _, want := range []string{`vneidgw_http_requests_total{code="200",route="/healthz"}`, `vneidgw_http_request_duration_seconds_bucket{route="/readyz"`} {
		if !bytes.Contains(r.body, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// The request log names the route pattern, never the query or body.
	e.do("GET", "/api/v1/messages?phone=0912345678", "", nil)
	log := e.logBuf.String()
	if !strings.Contains(log, `"route":"/api/v1/messages"`) || strings.Contains(log, "0912345678") {
		t.Fatalf("request log: %s", log)
	}
}

func TestDemoInbox(t *testing.T) {
	inbox := func(phone string) any { return map[string]string{"phone": phone} }
	on := newEnv(t, Config{Demo: true}, func(d *Deps) { d.Inbox = inbox })
	r := on.do("GET", "/demo/api/inbox?phone=0912345678", "", nil, noAuth())
	if r.status != 200 || string(r.body) != `{"phone":"84912345678"}` {
		t.Fatalf("demo inbox: %d %s", r.status, r.body)
	}
	if r := on.do("GET", "/demo/api/inbox?phone=12", "", nil, noAuth()); r.status != 400 {
		t.Fatalf("bad phone: %d %s", r.status, r.body)
	}
	off := newEnv(t, Config{}, func(d *Deps) { d.Inbox = inbox })
	if r := off.do("GET", "/demo/api/inbox?phone=0912345678", "", nil, noAuth()); r.status != 404 {
		t.Fatalf("demo route outside demo mode: %d", r.status)
	}
}

func TestApprovalSingle(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	body := mustJSON(t, app(1))
	r := e.do("POST", "/api/v1/approvals", "application/json; charset=utf-8", body)
	if r.status != 202 {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	var first acceptAnswer
	r.json(t, &first)
	if first.MessageID == "" || first.Duplicate {
		t.Fatalf("answer %+v", first)
	}
	// Repeat: duplicate, same message, nothing new queued.
	r = e.do("POST", "/api/v1/approvals", "application/json", body)
	var again acceptAnswer
	r.json(t, &again)
	if r.status != 202 || !again.Duplicate || again.MessageID != first.MessageID {
		t.Fatalf("repeat: %d %+v", r.status, again)
	}
	if n := e.queued(); n != 1 {
		t.Fatalf("%d messages queued, want 1", n)
	}
	// The queued message announces the approval.
	r = e.do("GET", "/api/v1/messages/"+first.MessageID, "", nil)
	var m core.Message
	r.json(t, &m)
	if r.status != 200 || m.Kind != core.KindApproval || m.To != "84912000001" || m.ApplicationID != "APP-0000001" ||
		!strings.Contains(m.Text, "NGUYEN VAN AN") || m.Status != core.StatusQueued || len(m.History) == 0 {
		t.Fatalf("message: %d %+v", r.status, m)
	}

	bad := func(mut func(map[string]any)) []byte {
		a := app(2)
		mut(a)
		return mustJSON(t, a)
	}
	cases := []struct {
		name, ct string
		body     []byte
		status   int
		code     string
		msg      string
	}{
		{"invalid id number", "application/json", bad(func(a map[string]any) { a["id_number"] = "12" }), 400, core.EINVALID, "id_number"},
		{"bad phone", "application/json", bad(func(a map[string]any) { a["phone"] = "0241234567" }), 400, core.EINVALID, ""},
		{"level as string", "application/json", bad(func(a map[string]any) { a["level"] = "2" }), 400, core.EINVALID, "level"},
		{"unknown field", "application/json", bad(func(a map[string]any) { a["nickname"] = "x" }), 400, core.EINVALID, "nickname"},
		{"client_id sent", "application/json", bad(func(a map[string]any) { a["client_id"] = "other" }), 400, core.EINVALID, "client_id"},
		{"syntax error", "application/json", []byte(`{"application_id":`), 400, core.EINVALID, "JSON"},
		{"array", "application/json", []byte(`[{}]`), 400, core.EINVALID, "object"},
		{"trailing data", "application/json", append(bad(func(map[string]any) {}), []byte(` {}`)...), 400, core.EINVALID, "after"},
		{"empty body", "application/json", []byte(``), 400, core.EINVALID, "empty"},
		{"form content type", "application/x-www-form-urlencoded", []byte(`a=b`), 415, core.EINVALID, "Content-Type"},
		{"no content type", "", []byte(`{}`), 415, core.EINVALID, "Content-Type"},
		{"bad callback", "application/json", bad(func(a map[string]any) { a["callback_url"] = "ftp://x" }), 400, core.EINVALID, "callback_url"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("POST", "/api/v1/approvals", c.ct, c.body)
			var eb errorBody
			r.json(t, &eb)
			if r.status != c.status || eb.Error.Code != c.code || !strings.Contains(eb.Error.Message, c.msg) {
				t.Fatalf("got %d %s", r.status, r.body)
			}
		})
	}
	if n := e.queued(); n != 1 {
		t.Fatalf("%d messages queued after refusals, want 1", n)
	}
}

func TestApprovalsNDJSONMixed(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	long := app(9)
	long["full_name"] = strings.Repeat("a", maxLineBytes)
	badID := app(3)
	badID["id_number"] = "001190000003" // century digit says female born 1990s? sex male: mismatch
	body := bytes.Join([][]byte{
		mustJSON(t, app(1)),                // 1 ok
		[]byte(`{"application_id": "X"`),   // 2 syntax
		mustJSON(t, badID),                 // 3 invalid
		[]byte(""),                         // 4 blank
		[]byte("   \r"),                    // 5 blank
		mustJSON(t, app(6)),                // 6 ok
		mustJSON(t, long),                  // 7 too long
		mustJSON(t, app(1)),                // 8 duplicate of line 1
		[]byte(`null`),                     // 9 not an object
		append(mustJSON(t, app(10)), '\r'), // 10 ok, CRLF
	}, []byte("\n")) // no final newline
	r := e.do("POST", "/api/v1/approvals", ndjsonType, body)
	if r.status != 202 {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	var sum bulkSummary
	r.json(t, &sum)
	if sum.Accepted != 3 || sum.Duplicates != 1 || sum.Rejected != 4 {
		t.Fatalf("counts %+v", sum)
	}
	wantOK := map[int]bool{1: false, 6: false, 8: true, 10: false}
	if len(sum.Results) != len(wantOK) {
		t.Fatalf("results %+v", sum.Results)
	}
	for _, res := range sum.Results {
		dup, ok := wantOK[res.Line]
		if !ok || dup != res.Duplicate || res.MessageID == "" || res.ApplicationID == "" {
			t.Fatalf("result %+v", res)
		}
	}
	if sum.Results[0].MessageID != sum.Results[2].MessageID {
		t.Fatalf("duplicate line 8 should answer line 1's message: %+v", sum.Results)
	}
	wantErr := []struct {
		line int
		code string
		msg  string
	}{{2, core.EINVALID, "JSON"}, {3, core.EINVALID, "id_number"}, {7, core.ETOOLARGE, "line longer"}, {9, core.EINVALID, "object"}}
	if len(sum.Errors) != len(wantErr) {
		t.Fatalf("errors %+v", sum.Errors)
	}
	for i, w := range wantErr {
		got := sum.Errors[i]
		if got.Line != w.line || got.Code != w.code || !strings.Contains(got.Message, w.msg) {
			t.Errorf("error %d = %+v, want line %d %s ~%q", i, got, w.line, w.code, w.msg)
		}
	}
	if n := e.queued(); n != 3 {
		t.Fatalf("%d messages queued, want 3", n)
	}
	// The invalid ID number is never echoed, not even in the answer.
	if bytes.Contains(r.body, []byte("001190000003")) {
		t.Fatal("answer echoes an ID number")
	}
}

func TestApprovalsNDJSONLimits(t *testing.T) {
	e := newEnv(t, Config{MaxNDJSONLines: 10, MaxBodyBytes: 8 << 10}, nil)
	t.Run("too many lines", func(t *testing.T) {
		r := e.do("POST", "/api/v1/approvals", ndjsonType, validBody(t, 1, 11))
		if r.status != 413 || r.errCode(t) != core.ETOOLARGE {
			t.Fatalf("got %d %s", r.status, r.body)
		}
		if n := e.queued(); n != 0 {
			t.Fatalf("%d queued, want 0", n)
		}
	})
	t.Run("limit exactly", func(t *testing.T) {
		body := append(validBody(t, 1, 10), "\n\n\n"...) // blank lines do not count
		r := e.do("POST", "/api/v1/approvals", ndjsonType, body)
		var sum bulkSummary
		r.json(t, &sum)
		if r.status != 202 || sum.Accepted != 10 {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
	t.Run("body over limit", func(t *testing.T) {
		before := e.queued()
		body := bytes.Repeat([]byte(" "), 9<<10)
		r := e.do("POST", "/api/v1/approvals", ndjsonType, body)
		if r.status != 413 || r.errCode(t) != core.ETOOLARGE || r.header["Connection"] != "close" {
			t.Fatalf("got %d %v %s", r.status, r.header, r.body)
		}
		if e.queued() != before {
			t.Fatal("queued something")
		}
	})
	t.Run("chunked body over limit", func(t *testing.T) {
		// On a raw connection: the server answers 413 and closes as soon as
		// the limit is passed, so a client still writing the rest of the
		// body may see its write fail (fasthttp's Client then reports
		// "connection closed" without reading the answer). The answer is
		// what is tested here.
		body := validBody(t, 100, 60) // ~11 KiB
		conn, err := e.ln.Dial()
		if err != nil {
			t.Fatal(err)
		}
		var req fasthttp.Request
		req.SetRequestURI("http://vneidgw.test/api/v1/approvals")
		req.Header.SetMethod("POST")
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.SetContentType(ndjsonType)
		req.SetBodyStream(bytes.NewReader(body), -1)
		wrote := make(chan struct{})
		go func() {
			defer close(wrote)
			w := bufio.NewWriter(conn)
			if req.Write(w) == nil {
				_ = w.Flush() // may fail once the server has closed
			}
		}()
		defer func() { conn.Close(); <-wrote }()
		var res fasthttp.Response
		if err := res.Read(bufio.NewReader(conn)); err != nil {
			t.Fatal(err)
		}
		if res.StatusCode() != 413 || !res.ConnectionClose() {
			t.Fatalf("got %d %s", res.StatusCode(), res.Body())
		}
	})
	t.Run("single JSON over 64 KiB", func(t *testing.T) {
		e2 := newEnv(t, Config{}, nil)
		a := app(1)
		a["full_name"] = strings.Repeat("a", 70<<10)
		r := e2.do("POST", "/api/v1/approvals", "application/json", mustJSON(t, a))
		if r.status != 413 {
			t.Fatalf("got %d %s", r.status, r.body)
		}
		// The connection was closed, the client reconnects: the next request works.
		if r := e2.do("GET", "/healthz", "", nil); r.status != 200 {
			t.Fatalf("after 413: %d", r.status)
		}
	})
}

func TestApprovalsNDJSONStoreFailure(t *testing.T) {
	st := newMemStore()
	st.failFrom = 2 // the second chunk fails
	e := newEnvWith(t, Config{}, st, st.queued, nil)
	r := e.do("POST", "/api/v1/approvals", ndjsonType, validBody(t, 1, submitChunk+10))
	if r.status != 503 || r.errCode(t) != core.EUNAVAILABLE || r.header["Retry-After"] == "" {
		t.Fatalf("got %d %v %s", r.status, r.header, r.body)
	}
	if !bytes.Contains(r.body, []byte("resubmit")) || bytes.Contains(r.body, []byte("deadline")) {
		t.Fatalf("message: %s", r.body)
	}
	if !strings.Contains(e.logBuf.String(), "deadline exceeded") {
		t.Fatalf("the cause is not logged: %s", e.logBuf.String())
	}
	// Resubmitting after the store recovers: the first chunk is duplicate.
	st.mu.Lock()
	st.failFrom = 0
	st.mu.Unlock()
	r = e.do("POST", "/api/v1/approvals", ndjsonType, validBody(t, 1, submitChunk+10))
	var sum bulkSummary
	r.json(t, &sum)
	if r.status != 202 || sum.Duplicates != submitChunk || sum.Accepted != 10 {
		t.Fatalf("resubmit: %d %+v", r.status, sum.Accepted)
	}
}

func TestNotice(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	body := []byte(`{"to":"+84 91 234 5678","text":"Xin chào","reference":"ref-1","callback_url":"https://idp.example/cb"}`)
	r := e.do("POST", "/api/v1/messages", "application/json", body, withHeader("Idempotency-Key", "k1"))
	var first acceptAnswer
	r.json(t, &first)
	if r.status != 202 || first.MessageID == "" || first.Duplicate {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	r = e.do("POST", "/api/v1/messages", "application/json", body, withHeader("Idempotency-Key", "k1"))
	var again acceptAnswer
	r.json(t, &again)
	if r.status != 202 || !again.Duplicate || again.MessageID != first.MessageID {
		t.Fatalf("repeat: %d %s", r.status, r.body)
	}
	if n := e.queued(); n != 1 {
		t.Fatalf("%d queued, want 1", n)
	}
	r = e.do("GET", "/api/v1/messages/"+first.MessageID, "", nil)
	var m core.Message
	r.json(t, &m)
	if m.Kind != core.KindNotice || m.To != "84912345678" || m.Reference != "ref-1" || m.Text != "Xin chao" {
		t.Fatalf("message %+v", m)
	}
	cases := []struct {
		name, ct, key string
		body          string
		status        int
		msg           string
	}{
		{"no idempotency key", "application/json", "", `{"to":"0912345678","text":"x"}`, 400, "Idempotency-Key"},
		{"bad phone", "application/json", "k2", `{"to":"12345","text":"x"}`, 400, ""},
		{"empty text", "application/json", "k3", `{"to":"0912345678","text":"  "}`, 400, "text"},
		{"unknown field", "application/json", "k4", `{"to":"0912345678","text":"x","priority":1}`, 400, "priority"},
		{"bad json", "application/json", "k5", `{"to":`, 400, "JSON"},
		{"text content type", "text/plain", "k6", `hello`, 415, "application/json"},
		{"huge text", "application/json", "k7", `{"to":"0912345678","text":"` + strings.Repeat("x", 60<<10) + `"}`, 413, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var opts []reqOpt
			if c.key != "" {
				opts = append(opts, withHeader("Idempotency-Key", c.key))
			}
			r := e.do("POST", "/api/v1/messages", c.ct, []byte(c.body), opts...)
			var eb errorBody
			r.json(t, &eb)
			if r.status != c.status || !strings.Contains(eb.Error.Message, c.msg) {
				t.Fatalf("got %d %s", r.status, r.body)
			}
		})
	}
	if n := e.queued(); n != 1 {
		t.Fatalf("%d queued after refusals, want 1", n)
	}
}

func TestGetAndListMessages(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	var ids []string
	for i := range 7 {
		r := e.do("POST", "/api/v1/messages", "application/json", []byte(`{"to":"0987654321","text":"n"}`),
			withHeader("Idempotency-Key", fmt.Sprintf("key-%d", i)))
		var a acceptAnswer
		r.json(t, &a)
		ids = append(ids, a.MessageID)
	}
	e.do("POST", "/api/v1/messages", "application/json", []byte(`{"to":"0912345678","text":"other phone"}`), withHeader("Idempotency-Key", "o"))

	if r := e.do("GET", "/api/v1/messages/"+strings.Repeat("z", 26), "", nil); r.status != 404 || r.errCode(t) != core.ENOTFOUND {
		t.Fatalf("unknown id: %d %s", r.status, r.body)
	}
	// Page through, 3 at a time, newest first.
	var got []string
	cursor := ""
	for page := 0; page < 10; page++ {
		r := e.do("GET", "/api/v1/messages?phone=84987654321&limit=3&cursor="+cursor, "", nil)
		if r.status != 200 {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		var l messageList
		r.json(t, &l)
		if len(l.Messages) > 3 {
			t.Fatalf("page of %d", len(l.Messages))
		}
		for _, m := range l.Messages {
			got = append(got, m.ID)
		}
		if l.NextCursor == "" {
			break
		}
		cursor = l.NextCursor
	}
	if len(got) != len(ids) {
		t.Fatalf("listed %d messages, want %d", len(got), len(ids))
	}
	for i := range ids {
		if got[i] != ids[len(ids)-1-i] {
			t.Fatalf("order: got %v, want newest first of %v", got, ids)
		}
	}
	r := e.do("GET", "/api/v1/messages?phone=0911111111", "", nil)
	if r.status != 200 || !bytes.Contains(r.body, []byte(`{"messages":[],"next_cursor":""}`)) {
		t.Fatalf("empty list: %d %s", r.status, r.body)
	}
	for _, q := range []string{"", "?phone=", "?phone=abc", "?phone=0987654321&limit=0", "?phone=0987654321&limit=x"} {
		if r := e.do("GET", "/api/v1/messages"+q, "", nil); r.status != 400 {
			t.Errorf("%q: %d %s", q, r.status, r.body)
		}
	}
	if r := e.do("GET", "/api/v1/messages?phone=0987654321&limit=100000", "", nil); r.status != 200 {
		t.Errorf("large limit is capped, not refused: %d", r.status)
	}
}

func TestPorted(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	csv := "msisdn,operator\n0912345678,mobifone\n+84987654321 , vinaphone\n"
	r := e.do("POST", "/api/v1/ported", "text/csv", []byte(csv))
	if r.status != 200 || string(r.body) != `{"updated":2}` {
		t.Fatalf("csv: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/api/v1/ported", "application/json", []byte(`{"0321234567":"gmobile"}`))
	if r.status != 200 || string(r.body) != `{"updated":1}` {
		t.Fatalf("json: %d %s", r.status, r.body)
	}
	// Routing follows the table.
	r = e.do("POST", "/api/v1/messages", "application/json", []byte(`{"to":"0912345678","text":"x"}`), withHeader("Idempotency-Key", "p"))
	var a acceptAnswer
	r.json(t, &a)
	var m core.Message
	e.do("GET", "/api/v1/messages/"+a.MessageID, "", nil).json(t, &m)
	if m.Operator != core.OperatorMobifone {
		t.Fatalf("ported number routed to %q", m.Operator)
	}
	stored, err := e.store.Ported(context.Background())
	if err != nil || stored["84912345678"] != "mobifone" || stored["84321234567"] != "gmobile" {
		t.Fatalf("stored ported table %v %v", stored, err)
	}
	for _, c := range []struct{ ct, body string }{
		{"text/csv", "0912345678"},
		{"text/csv", "0912345678,nosuchoperator"},
		{"application/json", `{"0912345678":1}`},
		{"application/json", `["0912345678"]`},
	} {
		if r := e.do("POST", "/api/v1/ported", c.ct, []byte(c.body)); r.status != 400 {
			t.Errorf("%s %q: %d %s", c.ct, c.body, r.status, r.body)
		}
	}
	if r := e.do("POST", "/api/v1/ported", "application/xml", []byte(`<x/>`)); r.status != 415 {
		t.Errorf("xml: %d", r.status)
	}
}

// TestKeepAliveAfterEarlyAnswer: a POST answered before its body was read
// (401) leaves the connection usable or closes it, never poisons it.
func TestKeepAliveAfterEarlyAnswer(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	for i := range 5 {
		r := e.do("POST", "/api/v1/approvals", "application/json", mustJSON(t, app(i)), noAuth())
		if r.status != 401 {
			t.Fatalf("%d: %d", i, r.status)
		}
		if r := e.do("GET", "/healthz", "", nil); r.status != 200 {
			t.Fatalf("%d: healthz after 401: %d", i, r.status)
		}
	}
}

// TestApprovalsNDJSONChunks: an upload over several submit chunks keeps
// line numbers and counts straight across them.
func TestApprovalsNDJSONChunks(t *testing.T) {
	e := newEnv(t, Config{}, nil)
	const n = 2*submitChunk + 500
	lines := bytes.Split(bytes.TrimSuffix(validBody(t, 1, n), []byte("\n")), []byte("\n"))
	bad := map[int]bool{1: true, submitChunk: true, submitChunk + 1: true, n: true}
	for l := range bad {
		lines[l-1] = []byte(`{"application_id":"broken"`)
	}
	r := e.do("POST", "/api/v1/approvals", ndjsonType, ndjson(lines...))
	var sum bulkSummary
	r.json(t, &sum)
	if r.status != 202 || sum.Accepted != n-len(bad) || sum.Rejected != len(bad) || len(sum.Results) != n-len(bad) {
		t.Fatalf("got %d accepted %d rejected %d", r.status, sum.Accepted, sum.Rejected)
	}
	for _, le := range sum.Errors {
		if !bad[le.Line] {
			t.Fatalf("unexpected error %+v", le)
		}
	}
	prev := 0
	for _, res := range sum.Results {
		if res.Line <= prev || bad[res.Line] || res.ApplicationID != fmt.Sprintf("APP-%07d", res.Line) {
			t.Fatalf("result %+v after line %d", res, prev)
		}
		prev = res.Line
	}
	if q := e.queued(); q != n-len(bad) {
		t.Fatalf("%d queued, want %d", q, n-len(bad))
	}
}
