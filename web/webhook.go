package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"vneidgw/core"
)

// Webhook headers.
const (
	HeaderTimestamp = "X-Vneidgw-Timestamp"
	HeaderSignature = "X-Vneidgw-Signature"
	signaturePrefix = "sha256="
)

// WebhookConfig tunes the WebhookSender. Zero values take the defaults in
// the comments.
type WebhookConfig struct {
	URL         string        // receiver of every report; "" = only per-message callback URLs
	Secret      string        // HMAC-SHA256 key of X-Vneidgw-Signature; required
	BatchMax    int           // reports per POST (200)
	Concurrency int           // POSTs in flight (4)
	Timeout     time.Duration // one POST, connect to response (10s)
	RetryMin    time.Duration // first back-off (1s)
	RetryMax    time.Duration // back-off cap (10m)
}

// WebhookSender delivers final-status reports from the outbox to the
// webhook URL and to each report's callback URL, signed and retried with
// exponential back-off until every target has answered 2xx. Delivery is at
// least once: receivers deduplicate on message_id + status.
type WebhookSender struct {
	cfg     WebhookConfig
	outbox  core.ReportOutbox
	log     zerolog.Logger
	metrics *webhookMetrics
	client  *fasthttp.Client
	now     func() time.Time

	// delivered remembers, for reports with several targets, the targets
	// that already accepted them, so a retry goes only to the others. Only
	// Run's goroutine touches it; it is lost on restart (then the report
	// goes to every target again, which at-least-once allows).
	delivered map[uint64]map[string]bool
}

// NewWebhookSender checks cfg and returns a sender; call Run to start it.
func NewWebhookSender(cfg WebhookConfig, outbox core.ReportOutbox, log zerolog.Logger, reg prometheus.Registerer) (*WebhookSender, error) {
	if outbox == nil {
		return nil, core.Errorf(core.EINVALID, "webhook: outbox is required")
	}
	if cfg.Secret == "" {
		return nil, core.Errorf(core.EINVALID, "webhook: secret is required")
	}
	if cfg.URL != "" && !validTargetURL(cfg.URL) {
		return nil, core.Errorf(core.EINVALID, "webhook: url must be an absolute http or https URL")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newWebhookMetrics(reg)
	if err != nil {
		return nil, core.Errorf(core.EINTERNAL, "webhook: metrics: %w", err)
	}
	return &WebhookSender{
		cfg:     cfg,
		outbox:  outbox,
		log:     log.With().Str("component", "webhook").Logger(),
		metrics: m,
		client: &fasthttp.Client{
			Name:                     "vneidgw-webhook",
			ReadTimeout:              cfg.Timeout,
			WriteTimeout:             cfg.Timeout,
			MaxConnsPerHost:          cfg.Concurrency * 2,
			MaxResponseBodySize:      64 << 10,
			DisablePathNormalizing:   true,
			NoDefaultUserAgentHeader: false,
		},
		now:       time.Now,
		delivered: make(map[uint64]map[string]bool),
	}, nil
}

// Run delivers reports until ctx ends, then waits for POSTs in flight and
// returns nil. Outbox failures are logged and retried with back-off.
func (w *WebhookSender) Run(ctx context.Context) error {
	defer w.client.CloseIdleConnections()
	storeBackoff := time.Duration(0)
	for {
		reports, err := w.outbox.PendingReports(ctx, w.cfg.BatchMax*w.cfg.Concurrency)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			storeBackoff = min(max(2*storeBackoff, 100*time.Millisecond), 30*time.Second)
			w.log.Error().Err(err).Dur("backoff", storeBackoff).Msg("reading the report outbox")
			if !sleep(ctx, storeBackoff) {
				return nil
			}
			continue
		}
		storeBackoff = 0
		if !w.deliver(ctx, reports) && !sleep(ctx, time.Second) {
			return nil
		}
	}
}

// job is one POST: a batch of reports for one target.
type job struct {
	target string
	kind   string // metric label: webhook or callback
	idx    []int  // indexes into the reports being delivered
	ok     bool
}

// deliver sends one outbox batch to its targets and acks or reschedules
// every report. It returns false if the outbox refused the outcome (the
// caller then pauses before asking again).
func (w *WebhookSender) deliver(ctx context.Context, reports []core.Report) bool {
	w.metrics.pending.Set(float64(len(reports)))
	defer w.metrics.pending.Set(0)

	targets := make([][]string, len(reports))
	byTarget := make(map[string][]int)
	var order []string // targets in first-seen order, for stable batching
	for i := range reports {
		r := &reports[i]
		var ts []string
		if r.CallbackURL != "" {
			if validTargetURL(r.CallbackURL) {
				ts = append(ts, r.CallbackURL)
			} else {
				w.log.Warn().Str("message_id", r.MessageID).Msg("report callback_url is not an http(s) URL; skipped")
			}
		}
		if w.cfg.URL != "" && w.cfg.URL != r.CallbackURL {
			ts = append(ts, w.cfg.URL)
		}
		targets[i] = ts
		done := w.delivered[r.Seq]
		for _, t := range ts {
			if done[t] {
				continue
			}
			if _, seen := byTarget[t]; !seen {
				order = append(order, t)
			}
			byTarget[t] = append(byTarget[t], i)
		}
	}

	var jobs []*job
	for _, t := range order {
		kind := "callback"
		if t == w.cfg.URL {
			kind = "webhook"
		}
		idx := byTarget[t]
		for len(idx) > 0 {
			n := min(len(idx), w.cfg.BatchMax)
			jobs = append(jobs, &job{target: t, kind: kind, idx: idx[:n:n]})
			idx = idx[n:]
		}
	}

	sem := make(chan struct{}, w.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, j := range jobs {
		if ctx.Err() != nil {
			break // not sent: rescheduled below like a failure
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			j.ok = w.post(j.target, j.kind, reports, j.idx)
		}()
	}
	wg.Wait()

	for _, j := range jobs {
		if !j.ok {
			continue
		}
		for _, i := range j.idx {
			seq := reports[i].Seq
			if w.delivered[seq] == nil {
				w.delivered[seq] = make(map[string]bool, 2)
			}
			w.delivered[seq][j.target] = true
		}
	}

	now := w.now()
	var acks []uint64
	retries := make(map[int][]core.Report) // by attempts: one back-off per group
	for i := range reports {
		r := reports[i]
		done := true
		for _, t := range targets[i] {
			if !w.delivered[r.Seq][t] {
				done = false
				break
			}
		}
		if done {
			acks = append(acks, r.Seq)
			if !r.At.IsZero() {
				w.metrics.delay.Observe(now.Sub(r.At).Seconds())
			}
			continue
		}
		retries[r.Attempts] = append(retries[r.Attempts], r)
	}

	// Record the outcome even when ctx has just ended: it is what happened.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	ok := true
	if len(acks) > 0 {
		if err := w.outbox.AckReports(sctx, acks); err != nil {
			w.log.Error().Err(err).Int("reports", len(acks)).Msg("acknowledging delivered reports")
			ok = false
		} else {
			for _, seq := range acks {
				delete(w.delivered, seq)
			}
		}
	}
	for attempts, rs := range retries {
		if err := w.outbox.RetryReports(sctx, rs, now.Add(w.backoff(attempts))); err != nil {
			w.log.Error().Err(err).Int("reports", len(rs)).Msg("rescheduling undelivered reports")
			ok = false
		}
	}
	return ok
}

// post sends reports[idx] to target and reports whether it answered 2xx.
func (w *WebhookSender) post(target, kind string, reports []core.Report, idx []int) bool {
	batch := make([]*core.Report, len(idx))
	for k, i := range idx {
		batch[k] = &reports[i]
	}
	body, err := json.Marshal(struct {
		Reports []*core.Report `json:"reports"`
	}{batch})
	if err != nil {
		w.log.Error().Err(err).Msg("encoding reports")
		return false
	}
	ts := strconv.FormatInt(w.now().Unix(), 10)

	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(target)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(w.cfg.Secret, ts, body))
	req.SetBodyRaw(body)

	start := time.Now()
	err = w.client.DoTimeout(req, resp, w.cfg.Timeout)
	w.metrics.post.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	status := resp.StatusCode()
	if err == nil && status >= 200 && status < 300 {
		w.metrics.sent.WithLabelValues(kind).Add(float64(len(idx)))
		return true
	}
	w.metrics.failed.WithLabelValues(kind).Add(float64(len(idx)))
	ev := w.log.Warn().Str("target", kind).Str("host", hostOf(target)).Int("reports", len(idx))
	if err != nil {
		ev = ev.Err(err)
	} else {
		ev = ev.Int("status", status)
	}
	ev.Msg("webhook delivery failed; will retry")
	return false
}

// backoff returns the wait before the next attempt of a report that has
// failed attempts times before: RetryMin doubled per attempt, capped at
// RetryMax, with ±20 % jitter so a receiver coming back is not hit by
// everything at once.
func (w *WebhookSender) backoff(attempts int) time.Duration {
	return retryDelay(w.cfg.RetryMin, w.cfg.RetryMax, attempts)
}

// retryDelay is lo doubled per earlier attempt, capped at hi, with ±10 %
// jitter, never below lo/2.
func retryDelay(lo, hi time.Duration, attempts int) time.Duration {
	d := lo
	for i := 0; i < attempts && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	jitter := time.Duration(rand.Int64N(int64(d)/5+1)) - d/10
	return max(d+jitter, lo/2)
}

// withDefaults fills the zero fields of c and checks the rest.
func (c WebhookConfig) withDefaults() (WebhookConfig, error) {
	if c.BatchMax <= 0 {
		c.BatchMax = 200
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.RetryMin <= 0 {
		c.RetryMin = time.Second
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 10 * time.Minute
	}
	if c.RetryMax < c.RetryMin {
		return c, core.Errorf(core.EINVALID, "webhook: RetryMax %s is below RetryMin %s", c.RetryMax, c.RetryMin)
	}
	return c, nil
}

// Sign returns the X-Vneidgw-Signature value of body sent at timestamp:
// "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body).
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature reports whether header (an X-Vneidgw-Signature value) is
// the signature of body sent at timestamp under secret. It compares in
// constant time; checking that the timestamp is recent is the receiver's
// choice.
func VerifySignature(secret string, timestamp string, body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), signaturePrefix)
	if !ok || secret == "" || timestamp == "" {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// validTargetURL accepts absolute http and https URLs only.
func validTargetURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

// hostOf is the host of a URL for logs (never the path or query, which
// may carry a receiver's token).
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return ""
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
