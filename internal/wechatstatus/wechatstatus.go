package wechatstatus

import (
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/wxauth/wxauth/wechat"
)

// Problem is WeChat's last refusal of one app that an operator must act on.
type Problem struct {
	// App is the app's name in wxauth's configuration (its appid when the
	// configuration does not know it).
	App string `json:"app"`
	// AppID is the app's WeChat appid.
	AppID string `json:"appid"`
	// Endpoint is the WeChat path refused, e.g. "/cgi-bin/stable_token".
	Endpoint string `json:"endpoint"`
	// Errcode is WeChat's errcode; 0 for an answer that was not WeChat's.
	Errcode int `json:"wechat_errcode"`
	// EgressIP is the address WeChat saw, when its errmsg names it.
	EgressIP string `json:"egress_ip,omitempty"`
	// Action says what to do ([wechat.OperatorAction]).
	Action string `json:"action"`
	// Since is when this refusal was first seen since the app last worked;
	// Last when it was last seen.
	Since time.Time `json:"since"`
	Last  time.Time `json:"last"`
}

// Recorder keeps the current Problem of each app. It is safe for
// concurrent use. The zero Recorder is not usable: use [New].
type Recorder struct {
	names map[string]string // appid → app name
	now   func() time.Time
	log   *slog.Logger

	mu    sync.Mutex
	byApp map[string]*Problem
}

// New returns a Recorder. names maps appids to the configuration's app
// names; now nil means time.Now, log nil discards.
func New(names map[string]string, now func() time.Time, log *slog.Logger) *Recorder {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{names: names, now: now, log: log, byApp: make(map[string]*Problem)}
}

// Observe takes one finished WeChat call; pass it (with others) as
// wechat.Config.Observe. A call that names no app is ignored. A refusal of
// class [wechat.ErrConfiguration] becomes the app's Problem, logged at
// Error when new or changed; any success for the app clears it, logged
// at Info.
func (r *Recorder) Observe(c wechat.Call) {
	if c.AppID == "" {
		return
	}
	name := r.names[c.AppID]
	if name == "" {
		name = c.AppID
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.byApp[c.AppID]
	switch {
	case c.Err == nil:
		if old != nil {
			delete(r.byApp, c.AppID)
			r.log.Info("wechat accepts the app again", "app", name, "appid", c.AppID, "endpoint", c.Endpoint)
		}
	case errors.Is(c.Err, wechat.ErrConfiguration):
		now := r.now()
		p := Problem{App: name, AppID: c.AppID, Endpoint: c.Endpoint, Errcode: c.Errcode,
			EgressIP: wechat.EgressIP(c.Err), Action: wechat.OperatorAction(c.Err), Since: now, Last: now}
		if old != nil && old.Errcode == p.Errcode && old.Endpoint == p.Endpoint && old.EgressIP == p.EgressIP {
			old.Last = now
			return
		}
		r.byApp[c.AppID] = &p
		r.log.Error("wechat refuses the app: an operator must act", "app", name, "appid", c.AppID,
			"endpoint", c.Endpoint, "wechat_errcode", c.Errcode, "egress_ip", p.EgressIP, "action", p.Action, "err", c.Err)
	}
}

// Problems returns the current problems, by app name.
func (r *Recorder) Problems() []Problem {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Problem, 0, len(r.byApp))
	for _, p := range r.byApp {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].App < out[j].App })
	return out
}
