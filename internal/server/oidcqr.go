package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/wxauth/wxauth/internal/login"
	"github.com/wxauth/wxauth/internal/oidc"
)

// The sign-in page's mini program code (docs/oidc.md "The sign-in page"):
// on a desktop, a client whose login names a mini program shows a QR
// login ticket's picture. Its poll token stays server-side, sealed in the
// cookie wxauth_op_qr with the kept request's id; the page's one script
// follows GET /oauth2/qr/status (same origin, bound by that cookie) and,
// once the phone confirmed, posts to /oauth2/qr/complete, which takes the
// login once and finishes the sign-in as /oauth2/callback does.

// opQRCookie carries the sealed oidc.QRState.
const opQRCookie = "wxauth_op_qr"

// qrScript follows the ticket by long poll and submits the completion
// form at a final status or a refusal; the server decides what comes
// next. A limit or an outage is retried. Its hash is the page's only
// script-src.
const qrScript = `(function(){var s=document.getElementById("qr-status"),f=document.getElementById("qr-form"),a="",` +
	`u="` + oidc.PathQRStatus + `?ticket="+encodeURIComponent(f.elements.ticket.value);` +
	`function poll(){fetch(u+(a?"&after="+a:""),{credentials:"same-origin",cache:"no-store"}).then(function(r){` +
	`if(r.status===429||r.status>=500){setTimeout(poll,5000);return}if(!r.ok){f.submit();return}` +
	`return r.json().then(function(d){a=d.status;var m=s.getAttribute("data-"+a);if(m){s.textContent=m}` +
	`if(a==="confirmed"||a==="canceled"||a==="expired"){f.submit()}else{poll()}})},function(){setTimeout(poll,3000)})}poll()})();`

var qrScriptHash = func() string {
	sum := sha256.Sum256([]byte(qrScript))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// qrBlock is the code on a page: its ticket (the code's scene, public),
// its picture, and where the page posts once the phone confirmed.
type qrBlock struct {
	Ticket, Image, Complete string
}

func newQRBlock(ticket string) *qrBlock {
	return &qrBlock{Ticket: ticket, Image: "/v1/qrlogin/" + ticket + "/image", Complete: oidc.PathQRComplete}
}

// signInPage shows the sign-in of kept request id on a browser outside
// WeChat: a new mini program code when the client's login names a mini
// program, the website app's button when it has one, or on a phone (or
// with neither) the message to open the link in WeChat. msg, if set, is
// a note above them; ticket, if set, is the code to show again instead of
// a new one.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request, id string, c *oidc.Client, msg, ticket string) error {
	t := pageTexts[chinese(r)]
	name := c.Name
	if name == "" {
		name = c.ID
	}
	pg := page{T: t, Title: fmt.Sprintf(t.SignInTitle, name), Message: msg}
	web := s.loginApp(c, login.KindWebsite)
	mp := ""
	if len(c.Login) > 0 { // named only: a default would change every client's page
		mp = s.loginApp(c, login.KindMiniProgram)
	}
	if mobile(r.UserAgent()) || web == "" && mp == "" {
		pg.Lead = t.OpenInWeChat
		s.writePage(w, r, http.StatusOK, pg)
		return nil
	}
	if web != "" {
		pg.Lead, pg.Link, pg.LinkID, pg.LinkText = t.SignInLead, oidc.PathWeChatStart+"?request="+url.QueryEscape(id), "wechat-login", t.WeChatButton
	}
	if mp != "" && ticket != "" {
		pg.QR, pg.Lead = newQRBlock(ticket), t.QRLead
	} else if mp != "" {
		ip := clientIP(r, s.cfg.TrustedProxyHeader)
		tk, err := s.cfg.Login.CreateQR(r.Context(), login.QRRequest{App: mp, UserAgent: r.UserAgent(), ClientIP: ip})
		if err != nil {
			return s.loginFailedPage(w, r, err)
		}
		value, err := s.cfg.OIDC.SealQR(oidc.QRState{Ticket: tk.Ticket, PollToken: tk.PollToken, Request: id})
		if err != nil {
			return err
		}
		s.setOPCookie(w, opQRCookie, value, tk.ExpiresIn)
		pg.QR, pg.Lead = newQRBlock(tk.Ticket), t.QRLead
	}
	if pg.QR != nil && web != "" {
		pg.Or = t.QROr
	}
	s.writePage(w, r, http.StatusOK, pg)
	return nil
}

// qrCookie reads the code's cookie for the page showing ticket; ok false
// for none, a forged one, or one of another page: a later sign-in in
// this browser replaced it, and this page must not complete that one.
func (s *Server) qrCookie(r *http.Request, ticket string) (oidc.QRState, bool) {
	ck, err := r.Cookie(opQRCookie)
	if err != nil {
		return oidc.QRState{}, false
	}
	st, ok := s.cfg.OIDC.OpenQR(ck.Value)
	if !ok || subtle.ConstantTimeCompare([]byte(st.Ticket), []byte(ticket)) != 1 {
		return oidc.QRState{}, false
	}
	return st, true
}

type oidcQRStatusResponse struct {
	Status    string `json:"status"`
	ExpiresIn int64  `json:"expires_in"`
}

// oidcQRStatus is GET /oauth2/qr/status: the status of this browser's
// code (JSON), at once, or with after= once it differs (long poll). It
// never delivers the login: that is /oauth2/qr/complete's.
func (s *Server) oidcQRStatus(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.OIDC == nil {
		return errOIDCOff
	}
	after := r.URL.Query().Get("after")
	switch after {
	case "", login.QRWaiting, login.QRScanned, login.QRConfirmed, login.QRCanceled, login.QRExpired:
	default:
		return errInvalidRequest(`"after" is a status: waiting, scanned, confirmed, canceled or expired`)
	}
	if err := s.cfg.Limits.QRLoginRead(r.Context(), clientIP(r, s.cfg.TrustedProxyHeader)); err != nil {
		return err
	}
	st, ok := s.qrCookie(r, r.URL.Query().Get("ticket"))
	if !ok {
		return login.ErrInvalidQRTicket
	}
	wait := qrLongPoll
	if after == "" {
		wait = 0
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(qrLongPoll + 10*time.Second))
	qs, err := s.cfg.Login.WatchQR(r.Context(), st.Ticket, st.PollToken, after, wait)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, oidcQRStatusResponse{Status: qs.Status, ExpiresIn: int64(qs.ExpiresIn / time.Second)})
	return nil
}

// oidcQRComplete is POST /oauth2/qr/complete: the page's form. A
// confirmed code's login is taken once and the sign-in finishes as after
// a WeChat login (finishSignIn: OP cookie, code, 302 to the client); a
// code canceled on the phone returns to the client with access_denied,
// as a person declining in WeChat does; an expired or used one gets a
// new code while the kept request lives; a code not yet confirmed shows
// the page again.
func (s *Server) oidcQRComplete(w http.ResponseWriter, r *http.Request) error {
	p := s.cfg.OIDC
	if p == nil {
		return errOIDCOff
	}
	if err := s.cfg.Limits.LoginAttempt(r.Context(), clientIP(r, s.cfg.TrustedProxyHeader)); err != nil {
		return err
	}
	f, err := oauthForm(w, r)
	if errors.Is(err, errTooLarge) {
		return err
	}
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "The form is malformed.", "表单格式错误。")
		return nil
	}
	st, ok := s.qrCookie(r, f.Get("ticket"))
	if !ok {
		s.errorPage(w, r, http.StatusBadRequest, oidc.ErrNoPending.English, oidc.ErrNoPending.Chinese)
		return nil
	}
	taken, err := s.cfg.Login.TakeQR(r.Context(), st.Ticket, st.PollToken)
	switch {
	case errors.Is(err, login.ErrInvalidQRTicket), err == nil && taken.Status == login.QRExpired:
		return s.freshCode(w, r, st.Request)
	case err != nil:
		return s.loginFailedPage(w, r, err)
	}
	switch taken.Status {
	case login.QRConfirmed:
		s.setOPCookie(w, opQRCookie, "", 0)
		res := taken.Result
		if res.BindTicket != "" {
			s.m.Logins.WithLabelValues("oidc", "bind_required").Inc()
			return s.startBind(w, r, res.BindTicket, st.Request)
		}
		s.m.Logins.WithLabelValues(res.Tokens.Session.App, loginResult(res.IsNew)).Inc()
		return s.finishSignIn(w, r, res, st.Request)
	case login.QRCanceled:
		s.setOPCookie(w, opQRCookie, "", 0)
		req, _, err := p.Pending(r.Context(), st.Request, true)
		if err != nil {
			return s.pendingFailed(w, r, err)
		}
		http.Redirect(w, r, p.ErrorRedirect(req, &oidc.Error{Code: oidc.CodeAccessDenied, Description: "the person canceled the login on the phone"}), http.StatusFound)
		return nil
	}
	// Waiting or scanned: the button was pressed early (no script).
	_, c, err := p.Pending(r.Context(), st.Request, false)
	if err != nil {
		return s.pendingFailed(w, r, err)
	}
	return s.signInPage(w, r, st.Request, c, pageTexts[chinese(r)].QRNotYet, st.Ticket)
}

// freshCode answers a code that expired (or was taken meanwhile) with the
// sign-in page and a new code, while kept request id lives.
func (s *Server) freshCode(w http.ResponseWriter, r *http.Request, id string) error {
	_, c, err := s.cfg.OIDC.Pending(r.Context(), id, false)
	if err != nil {
		return s.pendingFailed(w, r, err)
	}
	return s.signInPage(w, r, id, c, pageTexts[chinese(r)].QRFresh, "")
}
