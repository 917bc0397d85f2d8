package server

import (
	"net/http"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/login"
)

// smsSendRequest is the body of POST /v1/sms/send.
type smsSendRequest struct {
	BindTicket string `json:"bind_ticket"`
	Phone      string `json:"phone"`
	Purpose    string `json:"purpose"`
}

// smsSend is POST /v1/sms/send (docs/api.md "Binding"): 204 once the
// code is on its way. Only JSON, only for a bind ticket: no page of
// another site can make us send.
func (s *Server) smsSend(w http.ResponseWriter, r *http.Request) error {
	var req smsSendRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Phone == "" || req.Purpose == "" {
		return errInvalidRequest(`"phone" and "purpose" are required`)
	}
	err := s.cfg.Login.SendCode(r.Context(), login.SendRequest{
		Ticket: req.BindTicket, Phone: req.Phone, Purpose: req.Purpose, ClientIP: clientIP(r, s.cfg.TrustedProxyHeader),
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// bindRequest is the body of POST /v1/bind.
type bindRequest struct {
	BindTicket string `json:"bind_ticket"`
	Phone      string `json:"phone"`
	SMSCode    string `json:"sms_code"`
	PhoneCode  string `json:"phone_code"`
}

// bindResponse is the token response plus the login's return_to.
type bindResponse struct {
	api.TokenResponse
	ReturnTo string `json:"return_to,omitempty"`
}

// bindPhone is POST /v1/bind (docs/api.md "Binding"): the login that
// issued the ticket, finished once the phone is proven.
func (s *Server) bindPhone(w http.ResponseWriter, r *http.Request) error {
	var req bindRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	res, err := s.cfg.Login.Bind(r.Context(), login.BindRequest{
		Ticket: req.BindTicket, Phone: req.Phone, SMSCode: req.SMSCode, PhoneCode: req.PhoneCode,
	})
	if err != nil {
		return err
	}
	s.m.Logins.WithLabelValues(res.App, loginResult(res.IsNew)).Inc()
	writeJSON(w, http.StatusOK, bindResponse{TokenResponse: res.Tokens.Response(userBrief(res.User), res.IsNew), ReturnTo: res.ReturnTo})
	return nil
}
