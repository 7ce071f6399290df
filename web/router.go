package web

import (
	"strings"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/pprofhandler"

	"vneidgw/core"
)

// handlerFunc answers one matched request.
type handlerFunc func(s *Server, r *request)

// route is one path pattern with its handlers by method.
type route struct {
	pattern string
	auth    bool // bearer API key required
	methods map[string]handlerFunc
	allow   string // Allow header for 405
}

// Route patterns used as metric and log labels.
const (
	routeUnmatched  = "unmatched"
	routeMessageID  = "/api/v1/messages/{id}"
	routeAccount    = "/api/v1/accounts/{id_number}"
	accountsPrefix  = "/api/v1/accounts/"
	pprofPrefix     = "/debug/pprof/"
	messagesPrefix  = "/api/v1/messages/"
	apiPrefix       = "/api/v1/"
	maxMessageIDLen = 64
)

func (s *Server) buildRoutes() {
	add := func(pattern string, auth bool, methods map[string]handlerFunc) {
		rt := &route{pattern: pattern, auth: auth, methods: methods}
		if h, ok := methods[fasthttp.MethodGet]; ok {
			if _, ok := methods[fasthttp.MethodHead]; !ok {
				methods[fasthttp.MethodHead] = h
			}
		}
		var allow []string
		for _, m := range []string{fasthttp.MethodGet, fasthttp.MethodHead, fasthttp.MethodPost, fasthttp.MethodPut, fasthttp.MethodDelete} {
			if _, ok := methods[m]; ok {
				allow = append(allow, m)
			}
		}
		rt.allow = strings.Join(allow, ", ")
		s.routes = append(s.routes, rt)
	}
	add("/", false, map[string]handlerFunc{fasthttp.MethodGet: (*Server).handleLanding})
	add("/healthz", false, map[string]handlerFunc{fasthttp.MethodGet: (*Server).handleHealthz})
	add("/readyz", false, map[string]handlerFunc{fasthttp.MethodGet: (*Server).handleReadyz})
	add("/metrics", false, map[string]handlerFunc{fasthttp.MethodGet: (*Server).handleMetrics})
	add("/api/doc", false, map[string]handlerFunc{fasthttp.MethodGet: (*Server).handleAPIDoc})
	add("/api/v1/approvals", true, map[string]handlerFunc{fasthttp.MethodPost: (*Server).handleApprovals})
	add("/api/v1/messages", true, map[string]handlerFunc{
		fasthttp.MethodPost: (*Server).handleNotice,
		fasthttp.MethodGet:  (*Server).handleListMessages,
	})
	add(routeMessageID, true, map[string]handlerFunc{fasthttp.MethodGet: (*Server).handleGetMessage})
	add("/api/v1/ported", true, map[string]handlerFunc{fasthttp.MethodPost: (*Server).handlePorted})
	if s.otp != nil {
		add("/api/v1/otp", true, map[string]handlerFunc{fasthttp.MethodPost: (*Server).handleOTPIssue})
		add("/api/v1/otp/verify", true, map[string]handlerFunc{fasthttp.MethodPost: (*Server).handleOTPVerify})
	}
	if s.accounts != nil {
		add(routeAccount, true, map[string]handlerFunc{fasthttp.MethodGet: (*Server).handleAccount})
	}
	s.pprofRoute = &route{pattern: pprofPrefix, methods: map[string]handlerFunc{
		fasthttp.MethodGet: func(_ *Server, r *request) { pprofhandler.PprofHandler(r.ctx) },
	}, allow: fasthttp.MethodGet}
	if s.cfg.Demo && s.inbox != nil {
		add("/demo/api/inbox", false, map[string]handlerFunc{fasthttp.MethodGet: (*Server).handleDemoInbox})
	}
	s.exact = make(map[string]*route, len(s.routes))
	for _, rt := range s.routes {
		if rt.pattern == routeMessageID {
			s.idRoute = rt
			continue
		}
		if rt.pattern == routeAccount {
			s.accountRoute = rt
			continue
		}
		s.exact[rt.pattern] = rt
	}
}

// match finds the route of path and the {id} parameter if any.
func (s *Server) match(path []byte) (*route, string) {
	if s.cfg.Pprof && strings.HasPrefix(string(path), pprofPrefix) {
		return s.pprofRoute, ""
	}
	if rt, ok := s.exact[string(path)]; ok {
		return rt, ""
	}
	if id, ok := strings.CutPrefix(string(path), messagesPrefix); ok && validMessageID(id) {
		return s.idRoute, id
	}
	if id, ok := strings.CutPrefix(string(path), accountsPrefix); ok && s.accountRoute != nil && id != "" && len(id) <= 32 {
		return s.accountRoute, id
	}
	return nil, ""
}

// validMessageID accepts the id forms a message can have: 1 to 64 letters,
// digits, '-' and '_'. Anything else cannot exist and is a 404.
func validMessageID(id string) bool {
	if id == "" || len(id) > maxMessageIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// dispatch routes r: unknown path 404, wrong method 405 with Allow,
// missing or bad credentials 401, then the handler.
func (s *Server) dispatch(r *request) {
	rt, param := s.match(r.ctx.Path())
	if rt == nil {
		r.route = routeUnmatched
		s.renderErrorStatus(r, fasthttp.StatusNotFound, core.ENOTFOUND, "no such route", nil)
		return
	}
	r.route, r.param = rt.pattern, param
	h, ok := rt.methods[string(r.ctx.Method())]
	if !ok {
		r.ctx.Response.Header.Set("Allow", rt.allow)
		s.renderErrorStatus(r, fasthttp.StatusMethodNotAllowed, core.EINVALID, "method not allowed; allowed: "+rt.allow, nil)
		return
	}
	if rt.auth && !s.authenticate(r) {
		return
	}
	h(s, r)
}

// authenticate checks the bearer token and sets r.key, or answers 401.
func (s *Server) authenticate(r *request) bool {
	h := r.ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(string(h[:len(prefix)]), prefix) {
		s.renderError(r, core.Errorf(core.EUNAUTHORIZED, "missing bearer token (Authorization: Bearer <API key>)"))
		return false
	}
	token := strings.TrimSpace(string(h[len(prefix):]))
	// No request timeout here: a cache hit does no I/O and a miss is one
	// key-store read; the server's stop still ends it.
	key, err := s.keys.Authenticate(s.baseCtx, token)
	if err != nil {
		s.renderError(r, err)
		return false
	}
	r.key = key
	return true
}
