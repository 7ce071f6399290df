package web

import (
	_ "embed"

	"github.com/valyala/fasthttp"

	"vneidgw/core"
)

//go:embed api.md
var apiDoc []byte

const landingPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>vneidgw</title></head>
<body>
<h1>vneidgw</h1>
<p>SMS/USSD gateway for VNeID account activation.</p>
<ul>
<li><a href="/api/doc">JSON API description</a></li>
<li><a href="/healthz">/healthz</a> (liveness)</li>
<li><a href="/readyz">/readyz</a> (readiness)</li>
<li><a href="/metrics">/metrics</a> (Prometheus)</li>
</ul>
<p>Hotline 1900.0368</p>
</body></html>
`

func (s *Server) handleLanding(r *request) {
	r.ctx.SetStatusCode(fasthttp.StatusOK)
	r.ctx.SetContentType("text/html; charset=utf-8")
	r.ctx.SetBodyString(landingPage)
}

func (s *Server) handleAPIDoc(r *request) {
	r.ctx.SetStatusCode(fasthttp.StatusOK)
	r.ctx.SetContentType("text/markdown; charset=utf-8")
	r.ctx.SetBody(apiDoc)
}

// handleHealthz answers 200 "ok" while the process serves at all.
func (s *Server) handleHealthz(r *request) {
	r.ctx.SetStatusCode(fasthttp.StatusOK)
	r.ctx.SetContentType("text/plain; charset=utf-8")
	r.ctx.SetBodyString("ok")
}

// handleReadyz answers 200 when Ready() is nil and 503 with its reason
// otherwise.
func (s *Server) handleReadyz(r *request) {
	r.ctx.SetContentType("text/plain; charset=utf-8")
	if s.ready != nil {
		if err := s.ready(); err != nil {
			r.ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
			r.ctx.SetBodyString("not ready: " + err.Error())
			return
		}
	}
	r.ctx.SetStatusCode(fasthttp.StatusOK)
	r.ctx.SetBodyString("ready")
}

func (s *Server) handleMetrics(r *request) { s.promH(r.ctx) }

// handleDemoInbox answers GET /demo/api/inbox?phone=… with the simulated
// handset's inbox (Demo mode only; never registered otherwise).
func (s *Server) handleDemoInbox(r *request) {
	phone, err := core.NormalizeMSISDN(string(r.ctx.QueryArgs().Peek("phone")))
	if err != nil {
		s.renderError(r, err)
		return
	}
	s.writeJSON(r, fasthttp.StatusOK, s.inbox(phone))
}
