package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// prefixes spreads phones over every operator.
var benchPrefixes = [...]string{"91", "32", "90", "52", "59", "87", "86", "81", "70", "96", "94", "93"}

func benchPhone(i int) string {
	return "84" + benchPrefixes[i%len(benchPrefixes)] + fmt.Sprintf("%07d", i/len(benchPrefixes))
}

var (
	families = [...]string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"}
	middles  = [...]string{"Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Xuân", "Bảo"}
	givens   = [...]string{"An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng", "Hương", "Khánh", "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Phúc", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Uyên", "Việt", "Yến", "Đạt"}
)

// approvalLine builds line i of a bulk request: a valid approval for a
// distinct person and phone.
func approvalLine(buf *bytes.Buffer, run string, i int) {
	name := families[i%10] + " " + middles[(i/10)%10] + " " + givens[(i/100)%len(givens)]
	year := 1950 + i%60
	sex, digit := "male", 0
	if i%2 == 1 {
		sex, digit = "female", 1
	}
	if year >= 2000 {
		digit += 2
	}
	id := fmt.Sprintf("001%d%02d%06d", digit, year%100, i%1000000)
	fmt.Fprintf(buf, `{"application_id":"%s-%d","id_number":"%s","full_name":"%s","date_of_birth":"%d-%02d-%02d","sex":"%s","phone":"%s","level":%d}`+"\n",
		run, i, id, name, year, 1+i%12, 1+i%28, sex, benchPhone(i), 1+i%2)
}

// postNDJSON sends one bulk request and returns the accepted count.
func postNDJSON(hc *fasthttp.HostClient, token string, body []byte) (int, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + hc.Addr + "/api/v1/approvals")
	req.Header.SetMethod("POST")
	req.Header.SetContentType("application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+token)
	req.SetBodyRaw(body)
	if err := hc.DoTimeout(req, resp, 5*time.Minute); err != nil {
		return 0, err
	}
	if resp.StatusCode() != 202 {
		return 0, fmt.Errorf("bulk: status %d: %.300s", resp.StatusCode(), resp.Body())
	}
	var out struct {
		Accepted int `json:"accepted"`
		Rejected int `json:"rejected"`
		Errors   []struct {
			Line    int    `json:"line"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(resp.Body(), &out); err != nil {
		return 0, err
	}
	if out.Rejected > 0 {
		return out.Accepted, fmt.Errorf("bulk: %d lines rejected, first: %+v", out.Rejected, out.Errors[0])
	}
	return out.Accepted, nil
}

// postJSON posts body to path and returns the status and the time taken.
func postJSON(hc *fasthttp.HostClient, token, path string, body []byte, idem string) (int, time.Duration, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + hc.Addr + path)
	req.Header.SetMethod("POST")
	req.Header.SetContentType("application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	req.SetBodyRaw(body)
	t0 := time.Now()
	err := hc.DoTimeout(req, resp, 30*time.Second)
	return resp.StatusCode(), time.Since(t0), err
}

// singles sends n notices, one request each, from conc workers, and returns
// each request's latency in seconds.
func singles(hc *fasthttp.HostClient, token, run string, n, conc int, progress func()) ([]float64, error) {
	lat := make([]float64, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	next := make(chan int, conc)
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				body := []byte(`{"to":"` + benchPhone(500000+i) + `","text":"Thong bao VNeID so ` + strconv.Itoa(i) + `: ho so cua ban dang duoc xu ly."}`)
				code, d, err := postJSON(hc, token, "/api/v1/messages", body, run+"-n-"+strconv.Itoa(i))
				if err == nil && code != 202 {
					err = fmt.Errorf("notice: status %d", code)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
				lat[i] = d.Seconds()
				progress()
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return lat, firstErr
}
