package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/wxauth/wxauth/internal/clienterr"
	"github.com/wxauth/wxauth/internal/login"
	"github.com/wxauth/wxauth/internal/oidc"
)

// The bind step of the OP's sign-in (docs/oidc.md "Registration
// bind_phone"): a person WeChat shows for the first time under
// registration bind_phone proves a phone by SMS on the OP's own page,
// then the login finishes as any other. The ticket stays in a sealed,
// SameSite=Lax cookie, never in the page, so no page of another site can
// post a send or a bind with it.

// opBindCookie carries the sealed bind ticket and the kept request's id.
const opBindCookie = "wxauth_op_bind"

// bindPage shows the phone form, or with phone the code form; msg, if
// set, says what went wrong.
func (s *Server) bindPage(w http.ResponseWriter, r *http.Request, status int, phone, msg string) {
	t := pageTexts[chinese(r)]
	pg := page{T: t, Title: t.BindTitle, Lead: t.BindLead, Message: msg}
	if phone == "" {
		pg.Form = &form{Action: oidc.PathBind, Hidden: map[string]string{"action": "send"}, ButtonID: "send-code", Button: t.SendCode,
			Inputs: []input{{ID: "phone", Name: "phone", Label: t.PhoneLabel, Type: "tel", Autocomplete: "tel", Value: "+86"}}}
	} else {
		pg.Lead = fmt.Sprintf(t.CodeLead, phone)
		pg.Form = &form{Action: oidc.PathBind, Hidden: map[string]string{"action": "bind", "phone": phone}, ButtonID: "bind", Button: t.BindButton,
			Inputs: []input{{ID: "sms-code", Name: "sms_code", Label: t.CodeLabel, Type: "text", Autocomplete: "one-time-code"}}}
	}
	s.writePage(w, r, status, pg)
}

// startBind keeps the ticket of a login waiting for its phone in the bind
// cookie and shows the phone form.
func (s *Server) startBind(w http.ResponseWriter, r *http.Request, ticket, requestID string) error {
	value, err := s.cfg.OIDC.SealBind(ticket, requestID)
	if err != nil {
		return err
	}
	s.setOPCookie(w, opBindCookie, value, login.TicketTTL)
	s.bindPage(w, r, http.StatusOK, "", "")
	return nil
}

// oidcBind is POST /oauth2/bind: action=send sends the SMS code to phone;
// action=bind proves it with sms_code and finishes the login (302 to the
// client with a code).
func (s *Server) oidcBind(w http.ResponseWriter, r *http.Request) error {
	p := s.cfg.OIDC
	if p == nil {
		return errOIDCOff
	}
	f, err := oauthForm(w, r)
	if errors.Is(err, errTooLarge) {
		return err
	}
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "The form is malformed.", "表单格式错误。")
		return nil
	}
	ck, err := r.Cookie(opBindCookie)
	var ticket, id string
	ok := err == nil
	if ok {
		ticket, id, ok = p.OpenBind(ck.Value)
	}
	if !ok {
		s.errorPage(w, r, http.StatusBadRequest, oidc.ErrNoPending.English, oidc.ErrNoPending.Chinese)
		return nil
	}
	phone := strings.TrimSpace(f.Get("phone"))
	ip := clientIP(r, s.cfg.TrustedProxyHeader)
	switch f.Get("action") {
	case "send":
		err := s.cfg.Login.SendCode(r.Context(), login.SendRequest{Ticket: ticket, Phone: phone, Purpose: login.PurposeBind, ClientIP: ip})
		if msg, shown := bindRefusal(err); shown {
			s.bindPage(w, r, http.StatusBadRequest, "", msg)
			return nil
		} else if err != nil {
			return err
		}
		s.bindPage(w, r, http.StatusOK, phone, "")
		return nil
	case "bind":
		if err := s.cfg.Limits.LoginAttempt(r.Context(), ip); err != nil {
			return err
		}
		res, err := s.cfg.Login.Bind(r.Context(), login.BindRequest{Ticket: ticket, Phone: phone, SMSCode: strings.TrimSpace(f.Get("sms_code"))})
		if msg, shown := bindRefusal(err); shown {
			s.bindPage(w, r, http.StatusBadRequest, phone, msg)
			return nil
		} else if err != nil {
			return err
		}
		s.setOPCookie(w, opBindCookie, "", 0)
		s.m.Logins.WithLabelValues(res.App, loginResult(res.IsNew)).Inc()
		return s.finishSignIn(w, r, res, id)
	default:
		s.bindPage(w, r, http.StatusBadRequest, "", "")
		return nil
	}
}

// bindRefusal is the sentence a refusal of the bind flow shows on the
// page: the client's sentence of a 400 made where it started. Anything
// else (limits, outages) is answered as everywhere.
func bindRefusal(err error) (string, bool) {
	var ce *clienterr.Error
	if err == nil || !errors.As(err, &ce) || ce.HTTPStatus() != http.StatusBadRequest {
		return "", false
	}
	return ce.Body().Description, true
}
