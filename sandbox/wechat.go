package sandbox

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// errmsgs are WeChat's errmsg texts for the errcodes of reference §1.1.
// Codes WeChat gives no text for get a sandbox description.
var errmsgs = map[int]string{
	-1:    "system error",
	40001: "invalid credential, access_token is invalid or not latest",
	40002: "invalid grant_type",
	40003: "invalid openid",
	40013: "invalid appid",
	40029: "invalid code",
	40030: "invalid refresh_token",
	40125: "invalid appsecret",
	40163: "code been used",
	40164: "invalid ip, not in whitelist",
	40226: "code blocked",
	40243: "appsecret frozen (sandbox text)",
	41001: "access_token missing",
	41002: "appid missing",
	41003: "refresh_token missing",
	41004: "appsecret missing",
	41008: "missing code",
	41009: "missing openid",
	42001: "access_token expired",
	42002: "refresh_token expired",
	42003: "code expired",
	45009: "reach max api daily quota limit",
	40097: "invalid args",
	40169: "invalid length for scene",
	41030: "invalid page",
	45011: "api minute-quota reach limit mustslower retry next minute",
	47001: "data format error",
	40052: "invalid action name",
	40053: "invalid action info, please check document",
	48001: "api unauthorized",
	87008: "invalid sig_method",
	87009: "invalid signature",
	89503: "ip needs admin confirmation (sandbox text)",
}

// maxWeChatBody caps the JSON bodies of WeChat's POST endpoints.
const maxWeChatBody = 64 << 10

// okBody is the success answer of endpoints that return nothing else.
type okBody struct {
	Errcode int    `json:"errcode"`
	Errmsg  string `json:"errmsg"`
}

// readWeChatJSON decodes the JSON body of a POST endpoint into v as WeChat
// does (reference §1): unknown fields are ignored, query parameters never
// stand in for fields, and a body that is not one JSON object of the right
// field types answers 47001. An empty body leaves v zero, so that a caller
// who put the fields in the query gets the endpoint's "missing" errcode.
func readWeChatJSON(r *http.Request, v any) errcode {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWeChatBody+1))
	if err != nil || len(body) > maxWeChatBody {
		return 47001
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return 0
	}
	if err := json.Unmarshal(body, v); err != nil {
		return 47001
	}
	return 0
}

// errcode is a WeChat error answer: a handler returns one instead of a
// success body.
type errcode int

// errorBody is WeChat's error shape (reference §1): errcode is a JSON
// number, errmsg ends with a per-call rid.
type errorBody struct {
	Errcode int    `json:"errcode"`
	Errmsg  string `json:"errmsg"`
}

// wechatHandler serves one WeChat endpoint. It returns either an errcode
// or a value to encode as the success body.
type wechatHandler func(r *http.Request) any

// handleWeChat serves h at APIPrefix+path for the given methods. path is
// spelled as WeChat spells it ("/sns/jscode2session"); stats and faults are
// keyed by it. Every call is counted, then an injected fault for path (if
// any) runs instead of, or before, h.
func (s *Sandbox) handleWeChat(path string, h wechatHandler, methods ...string) {
	s.calls[path] = 0
	serve := func(w http.ResponseWriter, r *http.Request) {
		if f := s.beginCall(path); f != nil && s.runFault(w, r, path, f, func(code int) {
			s.writeWeChat(w, r, path, errcode(code))
		}) {
			return
		}
		s.writeWeChat(w, r, path, h(r))
	}
	for _, m := range methods {
		s.mux.HandleFunc(m+" "+APIPrefix+path, serve)
	}
}

// runFault plays f for one call to path: it waits DelayMS, then answers
// Status, or Errcode through answer. It reports whether it answered the call
// (or the caller went away while waiting); false means the call proceeds.
func (s *Sandbox) runFault(w http.ResponseWriter, r *http.Request, path string, f *Fault, answer func(code int)) bool {
	s.log.InfoContext(r.Context(), "sandbox fault", "path", path,
		"wechat_errcode", f.Errcode, "status", f.Status, "delay_ms", f.DelayMS,
		"body_bytes", len(f.Body), "content_type", f.ContentType)
	if f.DelayMS > 0 {
		t := time.NewTimer(time.Duration(f.DelayMS) * time.Millisecond)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	switch {
	case f.Status != 0:
		ct := f.ContentType
		switch {
		case ct != "":
		case len(f.Body) > 0:
			ct = "text/plain" // as WeChat serves its JSON (reference §1)
		default:
			ct = "text/plain; charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(f.Status)
		if len(f.Body) > 0 {
			w.Write(f.bodyBytes())
		} else {
			fmt.Fprintln(w, http.StatusText(f.Status))
		}
		return true
	case f.Errcode != 0:
		answer(f.Errcode)
		return true
	}
	return false
}

// beginCall counts a call to path and takes the next injected fault for
// it, if any.
func (s *Sandbox) beginCall(path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[path]++
	q := s.faults[path]
	if len(q) == 0 {
		return nil
	}
	f := *q[0]
	q[0].Count--
	if q[0].Count <= 0 {
		q = q[1:]
	}
	if len(q) == 0 {
		delete(s.faults, path)
	} else {
		s.faults[path] = q
	}
	return &f
}

// writeWeChat answers v the way WeChat does (reference §1, §7 item 1):
// HTTP 200, a JSON body served as text/plain, and for errors an errmsg
// carrying a " rid: …" suffix that changes per call.
func (s *Sandbox) writeWeChat(w http.ResponseWriter, r *http.Request, path string, v any) {
	code := 0
	switch e := v.(type) {
	case errcode:
		code = int(e)
		msg, ok := errmsgs[code]
		if !ok {
			msg = "sandbox error"
		}
		v = errorBody{Errcode: code, Errmsg: msg + ", rid: " + s.rid()}
	case refusal:
		code = int(e.code)
		v = errorBody{Errcode: code, Errmsg: e.msg + ", rid: " + s.rid()}
	case picture:
		// A mini program code: the bytes themselves, no JSON.
		w.Header().Set("Content-Type", "image/png")
		w.WriteHeader(http.StatusOK)
		w.Write(e)
		return
	}
	body, err := json.Marshal(v)
	if err != nil {
		// Only the sandbox's own types get here; a failure is a bug.
		s.log.ErrorContext(r.Context(), "sandbox encode answer", "path", path, "err", err)
		body = []byte(`{"errcode":-1,"errmsg":"system error, rid: ` + s.rid() + `"}`)
	}
	s.log.DebugContext(r.Context(), "sandbox wechat call", "path", path,
		"appid", r.URL.Query().Get("appid"), "wechat_errcode", code)
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// rid imitates WeChat's trace id "6437cc6f-48613c7c-0bdbbd0d" (reference
// §1): the hex unix time, then random hex.
func (s *Sandbox) rid() string {
	var b [8]byte
	s.mu.Lock()
	err := s.readRand(b[:])
	s.mu.Unlock()
	if err != nil {
		s.log.Error("sandbox rid", "err", err)
	}
	return fmt.Sprintf("%08x-%08x-%08x", uint32(s.now().Unix()),
		binary.BigEndian.Uint32(b[:4]), binary.BigEndian.Uint32(b[4:]))
}
