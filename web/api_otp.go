package web

import (
	"github.com/valyala/fasthttp"

	"vneidgw/core"
)

// otpRequest is the body of POST /api/v1/otp and /api/v1/otp/verify.
type otpRequest struct {
	Phone   string `json:"phone"`
	Purpose string `json:"purpose"`
	Code    string `json:"code"`
}

// decodeOTPRequest reads and checks an OTP body; wantCode says whether a
// code must be present.
func (s *Server) decodeOTPRequest(r *request, wantCode bool) (otpRequest, bool) {
	var in otpRequest
	if mt := mediaType(r.ctx); mt != "application/json" {
		s.unsupportedMediaType(r, "application/json")
		return in, false
	}
	body, err := readBody(r, smallBodyBytes)
	if err == nil {
		err = decodeStrict(body, &in)
	}
	if err == nil && !core.OTPPurpose(in.Purpose).Valid() {
		err = core.Errorf(core.EINVALID, "purpose: want activation, password_reset or api")
	}
	if err == nil && wantCode && in.Code == "" {
		err = core.Errorf(core.EINVALID, "code: required")
	}
	if err == nil && !wantCode && in.Code != "" {
		err = core.Errorf(core.EINVALID, "code: not expected here (use /api/v1/otp/verify)")
	}
	if err != nil {
		s.renderError(r, err)
		return in, false
	}
	return in, true
}

// handleOTPIssue answers POST /api/v1/otp {phone, purpose}: a new code is
// sent to the phone in the OTP lane (202), subject to the cool-down and the
// daily caps (429). The identity system is one trusted client, so no
// per-client-address cap applies here; per-phone and per-purpose caps do.
func (s *Server) handleOTPIssue(r *request) {
	in, ok := s.decodeOTPRequest(r, false)
	if !ok {
		return
	}
	ctx, cancel := s.requestContext(requestTimeout)
	defer cancel()
	if err := s.otp.Issue(ctx, in.Phone, core.OTPPurpose(in.Purpose), ""); err != nil {
		s.renderError(r, err)
		return
	}
	s.writeJSON(r, fasthttp.StatusAccepted, map[string]string{"status": "sent"})
}

// handleOTPVerify answers POST /api/v1/otp/verify {phone, purpose, code}:
// 200 for the right code (which is then used up), a 4xx JSON error otherwise.
func (s *Server) handleOTPVerify(r *request) {
	in, ok := s.decodeOTPRequest(r, true)
	if !ok {
		return
	}
	ctx, cancel := s.requestContext(requestTimeout)
	defer cancel()
	if err := s.otp.Verify(ctx, in.Phone, core.OTPPurpose(in.Purpose), in.Code, ""); err != nil {
		s.renderError(r, err)
		return
	}
	s.writeJSON(r, fasthttp.StatusOK, map[string]string{"status": "verified"})
}

// handleAccount answers GET /api/v1/accounts/{id_number} with the account's
// state only.
func (s *Server) handleAccount(r *request) {
	ctx, cancel := s.requestContext(requestTimeout)
	defer cancel()
	state, err := s.accounts.AccountState(ctx, r.param)
	if err != nil {
		s.renderError(r, err)
		return
	}
	s.writeJSON(r, fasthttp.StatusOK, map[string]string{"state": string(state)})
}
