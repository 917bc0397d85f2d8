package sandbox

import (
	"encoding/json"
	"maps"
	"strings"
)

// Fault makes the next Count calls to one WeChat endpoint misbehave
// (reference §7 item 9). A fault runs before the endpoint's own logic, so a
// faulted jscode2session does not consume its code.
type Fault struct {
	// Path is the WeChat path as WeChat spells it, without APIPrefix:
	// "/sns/jscode2session".
	Path string `json:"path"`
	// Errcode, if not zero and Status is zero, is answered as a WeChat
	// error (HTTP 200, errcode and errmsg), e.g. -1, 45011, 40226, 45009.
	Errcode int `json:"errcode"`
	// Status, if not zero, is answered as that HTTP status with a short
	// text body (or Body) instead of any WeChat answer. Values outside
	// 200–599 mean 500.
	Status int `json:"status"`
	// Body, if set, is answered instead of any WeChat answer, with HTTP
	// Status (zero means 200), to replay an answer seen in the wild: a JSON
	// object, array, number, true, false or null is sent byte for byte as
	// given; a JSON string is sent as its text, so "" is an empty body and
	// "<html>…" a proxy's page. Errcode is then ignored.
	Body json.RawMessage `json:"body,omitempty"`
	// ContentType is the Content-Type of a Body or Status answer. Empty
	// means "text/plain" for a Body, as WeChat serves its JSON (reference
	// §1), and "text/plain; charset=utf-8" for a Status text.
	ContentType string `json:"content_type,omitempty"`
	// DelayMS delays the answer by that many milliseconds of real time, or
	// until the caller gives up. With Errcode and Status zero the call then
	// proceeds normally. Negative means zero.
	DelayMS int `json:"delay_ms"`
	// Count is how many calls the fault affects. Zero or negative means 1.
	Count int `json:"count"`
}

// InjectFault queues f for f.Path. Faults for one path apply in the order
// injected, each for its Count calls. Unknown paths are accepted but never
// called.
func (s *Sandbox) InjectFault(f Fault) {
	if !strings.HasPrefix(f.Path, "/") {
		f.Path = "/" + f.Path
	}
	if f.Count <= 0 {
		f.Count = 1
	}
	if f.DelayMS < 0 {
		f.DelayMS = 0
	}
	if f.Status != 0 && (f.Status < 200 || f.Status > 599) {
		f.Status = 500
	}
	if len(f.Body) > 0 && f.Status == 0 {
		f.Status = 200
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[f.Path] = append(s.faults[f.Path], &f)
}

// Stats returns how often each WeChat path was called since start,
// faulted and failed calls included. Every served path is present, with 0
// if never called.
func (s *Sandbox) Stats() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// isWeChatPath reports whether path is a WeChat endpoint the sandbox
// serves.
func (s *Sandbox) isWeChatPath(path string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.calls[path]
	return ok
}

// bodyBytes is the answer Body stands for: a JSON string's text, any other
// JSON value as given.
func (f *Fault) bodyBytes() []byte {
	var text string
	if err := json.Unmarshal(f.Body, &text); err == nil {
		return []byte(text)
	}
	return f.Body
}
