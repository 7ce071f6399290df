package web

import (
	"bytes"
	"context"
	"testing"

	"vneidgw/core"
)

// validatingSubmit stands in for SubmitApprovals without a store: real
// validation, duplicates by application id within the call's lifetime.
func validatingSubmit() submitFunc {
	seen := map[string]string{}
	return func(ctx context.Context, clientID string, apps []*core.Application) ([]core.ApprovalResult, error) {
		out := make([]core.ApprovalResult, len(apps))
		for i, a := range apps {
			out[i] = core.ApprovalResult{Line: i + 1, ApplicationID: a.ApplicationID}
			if err := a.Validate(); err != nil {
				out[i].Err = err
				continue
			}
			if id, ok := seen[a.ApplicationID]; ok {
				out[i].MessageID, out[i].Duplicate = id, true
				continue
			}
			id := core.NewID(a.ReceivedAt)
			seen[a.ApplicationID] = id
			out[i].MessageID = id
		}
		return out, nil
	}
}

// FuzzNDJSONBody: no input panics the bulk parser, and every non-blank line
// is answered exactly once (a result or an error) with its own line number.
func FuzzNDJSONBody(f *testing.F) {
	line := `{"application_id":"A-1","id_number":"001090000001","full_name":"Nguyễn Văn An","date_of_birth":"1990-05-17","sex":"male","phone":"0912000001","level":2}`
	f.Add([]byte(line + "\n"))
	f.Add([]byte(line + "\n" + line + "\n\n{\"application_id\":\n" + `{"level":"x"}` + "\r\n" + `null` + "\n[]\n"))
	f.Add([]byte(line + ` {}` + "\n \t\r\n" + `{"nickname":1}`))
	f.Add([]byte("\n\n\n"))
	f.Add([]byte(`{"client_id":"x","application_id":"A-2"}`))
	const maxLines = 50
	f.Fuzz(func(t *testing.T, body []byte) {
		sum, err := processNDJSON(context.Background(), body, maxLines, "client", submitStages(validatingSubmit()))
		var want []int
		for i, l := range bytes.Split(body, []byte("\n")) {
			if len(bytes.Trim(l, " \t\r")) > 0 {
				want = append(want, i+1)
			}
		}
		if err != nil {
			if core.ErrorCode(err) != core.ETOOLARGE || len(want) <= maxLines {
				t.Fatalf("error %v for %d lines", err, len(want))
			}
			return
		}
		if len(want) > maxLines {
			t.Fatalf("%d lines accepted over the limit of %d", len(want), maxLines)
		}
		got := map[int]int{}
		for _, r := range sum.Results {
			got[r.Line]++
			if r.MessageID == "" {
				t.Fatalf("result without message id: %+v", r)
			}
		}
		for _, e := range sum.Errors {
			got[e.Line]++
			if e.Code == "" || e.Message == "" || e.Code == core.EINTERNAL {
				t.Fatalf("bad line error %+v", e)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%d lines answered, want %d (%v vs %v)", len(got), len(want), got, want)
		}
		for _, n := range want {
			if got[n] != 1 {
				t.Fatalf("line %d answered %d times", n, got[n])
			}
		}
		if sum.Accepted+sum.Duplicates != len(sum.Results) || sum.Rejected != len(sum.Errors) {
			t.Fatalf("counts %d+%d/%d, %d/%d", sum.Accepted, sum.Duplicates, len(sum.Results), sum.Rejected, len(sum.Errors))
		}
		for i := 1; i < len(sum.Errors); i++ {
			if sum.Errors[i-1].Line >= sum.Errors[i].Line {
				t.Fatal("errors not in line order")
			}
		}
	})
}
