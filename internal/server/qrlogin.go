package server

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/login"
)

// The QR login endpoints (docs/api.md "QR login", docs/qrlogin.md): the
// PC browser creates a ticket, shows its picture and follows it; the mini
// program scans, confirms or cancels it with its own session.

// qrLongPoll is how long a long poll waits for a change; qrKeepAlive how
// often an event stream without news sends a comment.
const (
	qrLongPoll  = 25 * time.Second
	qrKeepAlive = 15 * time.Second
)

type qrCreateRequest struct {
	App string `json:"app"`
}

type qrCreateResponse struct {
	Ticket    string `json:"ticket"`
	PollToken string `json:"poll_token"`
	// ImageURL is relative to this server.
	ImageURL  string `json:"image_url"`
	ExpiresIn int64  `json:"expires_in"`
}

// qrCreate is POST /v1/qrlogin: a new ticket, counted against the
// client address like a browser login started (each keeps a record).
func (s *Server) qrCreate(w http.ResponseWriter, r *http.Request) error {
	var req qrCreateRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.App == "" {
		return errInvalidRequest(`"app" is required: the mini program the code opens`)
	}
	ip := clientIP(r, s.cfg.TrustedProxyHeader)
	if err := s.cfg.Limits.Authorize(r.Context(), ip); err != nil {
		return err
	}
	tk, err := s.cfg.Login.CreateQR(r.Context(), login.QRRequest{App: req.App, UserAgent: r.UserAgent(), ClientIP: ip})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, qrCreateResponse{Ticket: tk.Ticket, PollToken: tk.PollToken,
		ImageURL: "/v1/qrlogin/" + tk.Ticket + "/image", ExpiresIn: int64(tk.ExpiresIn / time.Second)})
	return nil
}

// qrImage is GET /v1/qrlogin/{ticket}/image: the picture to scan,
// cacheable by the browser for the ticket's remaining lifetime.
func (s *Server) qrImage(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Limits.QRLoginRead(r.Context(), clientIP(r, s.cfg.TrustedProxyHeader)); err != nil {
		return err
	}
	pic, ct, maxAge, err := s.cfg.Login.QRImage(r.Context(), r.PathValue("ticket"))
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "private, max-age="+strconv.Itoa(int(maxAge/time.Second)))
	h.Set("Content-Length", strconv.Itoa(len(pic)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(pic)
	return nil
}

// qrScanResponse tells the phone who asks to log in.
type qrScanResponse struct {
	App       string    `json:"app"`
	Browser   string    `json:"browser"`
	Place     string    `json:"place,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresIn int64     `json:"expires_in"`
}

// qrUser is the mini program session of a scan, confirm or cancel.
func qrUser(r *http.Request) login.QRUser {
	c := claimsFrom(r)
	return login.QRUser{UserID: c.Subject, App: c.App}
}

// qrScan is POST /v1/qrlogin/{ticket}/scan.
func (s *Server) qrScan(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.cfg.Login.ScanQR(r.Context(), r.PathValue("ticket"), qrUser(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, qrScanResponse{App: sc.App, Browser: sc.Browser, Place: sc.Place,
		CreatedAt: sc.CreatedAt.UTC(), ExpiresIn: int64(sc.ExpiresIn / time.Second)})
	return nil
}

// qrStatusResponse is a ticket's state for the browser; Login, with
// confirmed only, is the token response or the bind answer the other
// login endpoints give.
type qrStatusResponse struct {
	Status    string `json:"status"`
	ExpiresIn int64  `json:"expires_in"`
	Login     any    `json:"login,omitempty"`
}

func qrStatus(st login.QRState) qrStatusResponse {
	out := qrStatusResponse{Status: st.Status, ExpiresIn: int64(st.ExpiresIn / time.Second)}
	switch {
	case st.Tokens != nil:
		out.Login = st.Tokens
	case st.BindTicket != "":
		out.Login = api.BindRequired{BindRequired: true, BindTicket: st.BindTicket}
	}
	return out
}

// qrConfirm is POST /v1/qrlogin/{ticket}/confirm.
func (s *Server) qrConfirm(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Login.ConfirmQR(r.Context(), r.PathValue("ticket"), qrUser(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, qrStatusResponse{Status: login.QRConfirmed})
	return nil
}

// qrCancel is POST /v1/qrlogin/{ticket}/cancel.
func (s *Server) qrCancel(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Login.CancelQR(r.Context(), r.PathValue("ticket"), qrUser(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, qrStatusResponse{Status: login.QRCanceled})
	return nil
}

// qrFollow is GET /v1/qrlogin/{ticket} with the poll token as bearer: an
// event stream when asked for text/event-stream, else a long poll.
func (s *Server) qrFollow(w http.ResponseWriter, r *http.Request) error {
	poll, ok := bearerToken(r)
	if !ok {
		return login.ErrQRPollToken
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
	ticket := r.PathValue("ticket")
	if wantsEventStream(r) {
		return s.qrStream(w, r, ticket, poll)
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(qrLongPoll + 10*time.Second))
	wait := qrLongPoll
	if after == "" {
		wait = 0
	}
	st, err := s.cfg.Login.FollowQR(r.Context(), ticket, poll, after, wait)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, qrStatus(st))
	return nil
}

func wantsEventStream(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/event-stream" {
			return true
		}
	}
	return false
}

// qrStream sends the ticket's statuses as Server-Sent Events until a
// final one (confirmed, canceled, expired), with a comment when nothing
// changes for qrKeepAlive. A failure before the first event answers as
// JSON; after it, as an "error" event that ends the stream.
func (s *Server) qrStream(w http.ResponseWriter, r *http.Request, ticket, poll string) error {
	rc := http.NewResponseController(w)
	deadline := func() { _ = rc.SetWriteDeadline(time.Now().Add(s.cfg.StreamWriteTimeout)) }
	last := ""
	for {
		st, err := s.cfg.Login.FollowQR(r.Context(), ticket, poll, last, qrKeepAlive)
		if err != nil {
			if last == "" {
				return err
			}
			e, _ := translate(err)
			b, _ := json.Marshal(e)
			deadline()
			fmt.Fprintf(w, "event: error\ndata: %s\n\n", b)
			_ = rc.Flush()
			s.log.DebugContext(r.Context(), "QR login stream ended by an error", "err", err)
			return nil
		}
		if last == "" {
			h := w.Header()
			h.Set("Content-Type", "text/event-stream")
			h.Set("Cache-Control", "no-store")
			h.Set("X-Accel-Buffering", "no")
			w.WriteHeader(http.StatusOK)
		}
		deadline()
		if st.Status == last {
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
			continue
		}
		b, err := json.Marshal(qrStatus(st))
		if err != nil {
			return nil
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", st.Status, b); err != nil || rc.Flush() != nil {
			return nil
		}
		if st.Final() {
			return nil
		}
		last = st.Status
	}
}
