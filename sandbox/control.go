package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxControlBody caps control API request bodies.
const maxControlBody = 64 << 10

// controlError is the control API's error body, shaped like wxauth's own
// (docs/api.md): a code and a sentence for people.
type controlError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// controlHandler serves one control endpoint; a returned error is answered
// by errorStatus.
type controlHandler func(w http.ResponseWriter, r *http.Request) error

// handleControl serves h at "METHOD ControlPrefix+path".
func (s *Sandbox) handleControl(pattern string, h controlHandler) {
	method, path, _ := strings.Cut(pattern, " ")
	s.controlPaths[ControlPrefix+path] = true
	s.mux.HandleFunc(method+" "+ControlPrefix+path, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			status, code := errorStatus(err)
			writeJSON(w, status, controlError{Error: code, Description: err.Error()})
		}
	})
}

// controlNotFound answers control paths no pattern matched: 405 for a
// known path with another method, else 404.
func (s *Sandbox) controlNotFound(w http.ResponseWriter, r *http.Request) {
	if s.controlPaths[r.URL.Path] {
		writeJSON(w, http.StatusMethodNotAllowed, controlError{"method_not_allowed",
			fmt.Sprintf("%s is not served for %s", r.Method, r.URL.Path)})
		return
	}
	writeJSON(w, http.StatusNotFound, controlError{"not_found",
		fmt.Sprintf("no control endpoint %s", r.URL.Path)})
}

// errorStatus maps an error to its HTTP status and error code.
func errorStatus(err error) (int, string) {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, "conflict"
	default:
		return http.StatusBadRequest, "invalid_request"
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// decodeJSON reads one JSON object of at most maxControlBody bytes into v,
// rejecting unknown fields so that typos in tests fail loudly.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxControlBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fmt.Errorf("request body is larger than %d bytes", maxControlBody)
		}
		return fmt.Errorf("malformed JSON body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("malformed JSON body: data after the object")
	}
	return nil
}

// appJSON is an app as the control API shows it: never with its secret.
type appJSON struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	AppID   string `json:"appid"`
	Unbound bool   `json:"unbound,omitempty"`
	// IPWhitelist is the app's API IP whitelist, if it has one.
	IPWhitelist []string `json:"ip_whitelist,omitempty"`
	// Domains are the app's registered web domains (App.Domains).
	Domains []string `json:"domains,omitempty"`
	// Pages are a mini program's published pages (App.Pages).
	Pages []string `json:"pages,omitempty"`
	// SessionKey is shown for apps with a policy of their own.
	SessionKey *sessionKeyJSON `json:"session_key,omitempty"`
	// PushURL is an Official Account's push URL (App.PushURL); its
	// token and EncodingAESKey are never shown.
	PushURL string `json:"push_url,omitempty"`
}

func toAppJSON(a App) appJSON {
	out := appJSON{Name: a.Name, Kind: a.Kind, AppID: a.AppID, Unbound: a.Unbound, IPWhitelist: a.IPWhitelist, Domains: a.Domains, Pages: a.Pages, PushURL: a.PushURL}
	if a.SessionKey != nil {
		p := a.SessionKey.withDefaults()
		out.SessionKey = &sessionKeyJSON{RotateOnCode: p.RotateOnCode, MinRotation: p.MinRotation.String(), TTL: p.TTL.String()}
	}
	return out
}

// sessionKeyJSON is a [SessionKeyPolicy] in the control API: durations in
// Go's notation ("90s", "72h"); absent fields take WeChat's defaults.
type sessionKeyJSON struct {
	RotateOnCode *bool  `json:"rotate_on_code,omitempty"`
	MinRotation  string `json:"min_rotation,omitempty"`
	TTL          string `json:"ttl,omitempty"`
}

func (j sessionKeyJSON) policy() (*SessionKeyPolicy, error) {
	p := &SessionKeyPolicy{RotateOnCode: j.RotateOnCode}
	for _, d := range []struct {
		name string
		in   string
		out  *time.Duration
	}{{"min_rotation", j.MinRotation, &p.MinRotation}, {"ttl", j.TTL, &p.TTL}} {
		if d.in == "" {
			continue
		}
		v, err := time.ParseDuration(d.in)
		if err != nil {
			return nil, fmt.Errorf("session_key.%s %q is not a duration such as \"90s\" or \"72h\"", d.name, d.in)
		}
		*d.out = v
	}
	return p, nil
}

// listApps serves GET /sandbox/v1/apps (docs/sandbox.md).
func (s *Sandbox) listApps(w http.ResponseWriter, r *http.Request) error {
	apps := s.Apps()
	out := struct {
		Apps []appJSON `json:"apps"`
	}{Apps: make([]appJSON, 0, len(apps))}
	for _, a := range apps {
		out.Apps = append(out.Apps, toAppJSON(a))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// createApp serves POST /sandbox/v1/apps {"name", "kind", "appid",
// "secret", "unbound"?, "domains"?, "ip_whitelist"?, "session_key"?:
// {"rotate_on_code", "min_rotation", "ttl"}} (docs/sandbox.md): 201 with the
// app, secret left out.
func (s *Sandbox) createApp(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		appJSON
		Secret     string `json:"secret"`
		PushToken  string `json:"push_token"`
		PushAESKey string `json:"push_aes_key"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	a := App{Name: req.Name, Kind: req.Kind, AppID: req.AppID, Secret: req.Secret, Unbound: req.Unbound, IPWhitelist: req.IPWhitelist, Domains: req.Domains, Pages: req.Pages,
		PushURL: req.PushURL, PushToken: req.PushToken, PushAESKey: req.PushAESKey}
	if req.SessionKey != nil {
		p, err := req.SessionKey.policy()
		if err != nil {
			return err
		}
		a.SessionKey = p
	}
	if err := s.AddApp(a); err != nil {
		return err
	}
	if a.Name == "" {
		a.Name = a.AppID
	}
	writeJSON(w, http.StatusCreated, toAppJSON(a))
	return nil
}

// userJSON is a test user as the control API shows it.
type userJSON struct {
	Name     string            `json:"name"`
	Nickname string            `json:"nickname"`
	UnionID  string            `json:"unionid"`
	OpenIDs  map[string]string `json:"openids"`
	Phone    string            `json:"phone"`
	Snapshot string            `json:"snapshot,omitempty"`
}

func toUserJSON(u User) userJSON {
	return userJSON{Name: u.Name, Nickname: u.Nickname, UnionID: u.UnionID, OpenIDs: u.OpenIDs, Phone: u.Phone, Snapshot: u.Snapshot}
}

// listUsers serves GET /sandbox/v1/users (docs/sandbox.md).
func (s *Sandbox) listUsers(w http.ResponseWriter, r *http.Request) error {
	users := s.Users()
	out := struct {
		Users []userJSON `json:"users"`
	}{Users: make([]userJSON, 0, len(users))}
	for _, u := range users {
		out.Users = append(out.Users, toUserJSON(u))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// createUser serves POST /sandbox/v1/users {"name", "nickname"?,
// "snapshot"?} (docs/sandbox.md): 201 with the new user, or 200 with the
// existing one of that name, unchanged.
func (s *Sandbox) createUser(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name     string `json:"name"`
		Nickname string `json:"nickname"`
		Snapshot string `json:"snapshot"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	u, created, err := s.addUser(req.Name, UserOptions{Nickname: req.Nickname, Snapshot: req.Snapshot})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, toUserJSON(u))
	return nil
}

// codeControl serves a control endpoint that mints a code for one user of
// one app, {"appid", "user"} → {"code"} (docs/sandbox.md): POST
// /sandbox/v1/miniprogram/code with [Sandbox.IssueCode] (what wx.login()
// would give, replacing the session_key as the app's [SessionKeyPolicy]
// says), POST /sandbox/v1/app/code with [Sandbox.IssueAppCode] (what
// SendAuth would give in a mobile app).
func codeControl(issue func(appID, user string) (string, error)) controlHandler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req appUserRequest
		if err := decodeJSON(w, r, &req); err != nil {
			return err
		}
		if err := req.check(); err != nil {
			return err
		}
		code, err := issue(req.AppID, req.User)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, struct {
			Code string `json:"code"`
		}{code})
		return nil
	}
}

// appUserRequest is the body of the control endpoints about one user of
// one Mini Program.
type appUserRequest struct {
	AppID string `json:"appid"`
	User  string `json:"user"`
}

func (req appUserRequest) check() error {
	switch {
	case req.AppID == "":
		return errors.New("appid is missing")
	case req.User == "":
		return errors.New("user is missing")
	}
	return nil
}

// createPhoneCode serves POST /sandbox/v1/miniprogram/phonecode {"appid",
// "user", "phone"?} (docs/sandbox.md): the code the getPhoneNumber button
// would give that user, for the user's own number or for phone.
func (s *Sandbox) createPhoneCode(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		appUserRequest
		Phone string `json:"phone"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	code, err := s.IssuePhoneCode(req.AppID, req.User, req.Phone)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Code string `json:"code"`
	}{code})
	return nil
}

// createEncrypted serves POST /sandbox/v1/miniprogram/encrypted {"appid",
// "user", "kind": "phone"|"userinfo"} (docs/sandbox.md): {"encrypted_data",
// "iv", "raw_data", "signature"} made with the user's current session_key,
// 404 if no wx.login code was issued to the user in the app yet.
func (s *Sandbox) createEncrypted(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		appUserRequest
		Kind string `json:"kind"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	data, err := s.Encrypted(req.AppID, req.User, req.Kind)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, data)
	return nil
}

// rotateSessionKey serves POST /sandbox/v1/miniprogram/rotate {"appid",
// "user"} (docs/sandbox.md): 204, and the user's session_key is replaced
// now; 404 if no wx.login code was issued to the user in the app yet.
func (s *Sandbox) rotateSessionKey(w http.ResponseWriter, r *http.Request) error {
	var req appUserRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	if err := s.RotateSessionKey(req.AppID, req.User); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// invalidateAppTokens serves POST /sandbox/v1/apptoken/invalidate
// {"appid"}: 204, and every app access token of the app answers 40001 from
// now on, as if it leaked and was refreshed elsewhere.
func (s *Sandbox) invalidateAppTokens(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		AppID string `json:"appid"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.AppID == "" {
		return errors.New("appid is missing")
	}
	if err := s.InvalidateAppTokens(req.AppID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// createFault serves POST /sandbox/v1/faults (docs/sandbox.md): 204, and
// the next count calls to path misbehave as [Fault] describes. Unlike
// [Sandbox.InjectFault] it rejects paths the sandbox does not serve and
// faults that would change nothing.
func (s *Sandbox) createFault(w http.ResponseWriter, r *http.Request) error {
	var f Fault
	if err := decodeJSON(w, r, &f); err != nil {
		return err
	}
	switch {
	case !s.isWeChatPath(f.Path):
		return fmt.Errorf("path %q is not a WeChat path the sandbox serves (spell it as WeChat does, e.g. /sns/jscode2session)", f.Path)
	case f.Status != 0 && (f.Status < 200 || f.Status > 599):
		return fmt.Errorf("status %d is not an HTTP status 200-599", f.Status)
	case f.DelayMS < 0:
		return errors.New("delay_ms is negative")
	case f.Count < 0:
		return errors.New("count is negative")
	case len(f.Body) > 0 && f.Errcode != 0:
		return errors.New("fault sets both body and errcode: put the errcode in the body")
	case f.ContentType != "" && len(f.Body) == 0 && f.Status == 0:
		return errors.New("content_type needs a body or a status")
	case f.Errcode == 0 && f.Status == 0 && f.DelayMS == 0 && len(f.Body) == 0:
		return errors.New("fault sets none of errcode, status, body and delay_ms")
	}
	s.InjectFault(f)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// stats serves GET /sandbox/v1/stats (docs/sandbox.md).
func (s *Sandbox) stats(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, struct {
		Calls map[string]int `json:"calls"`
	}{s.Stats()})
	return nil
}
