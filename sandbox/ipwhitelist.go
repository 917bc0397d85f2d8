package sandbox

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// ipGuarded lists, per app kind, the endpoints WeChat checks against the
// app's API IP whitelist (reference §1.1 40164): for a Mini Program, whose
// whitelist is optional, the AppSecret APIs; for an Official Account every
// server API, OAuth code exchange included. Website apps (Open Platform)
// have no whitelist WeChat documents.
var ipGuarded = map[string]map[string]bool{
	KindMiniProgram: {
		"/cgi-bin/token":        true,
		"/cgi-bin/stable_token": true,
		"/sns/jscode2session":   true,
	},
	KindOfficialAccount: {
		"/cgi-bin/token":            true,
		"/cgi-bin/stable_token":     true,
		"/sns/oauth2/access_token":  true,
		"/sns/oauth2/refresh_token": true,
		"/sns/userinfo":             true,
		"/sns/auth":                 true,
		"/cgi-bin/qrcode/create":    true,
	},
}

// refusal is a WeChat error answer whose errmsg says more than the
// errcode's fixed text, as 40164's names the caller's address.
type refusal struct {
	code errcode
	msg  string
}

// parseIPWhitelist checks an app's whitelist: addresses ("203.0.113.7",
// "2001:db8::1") or CIDR prefixes ("203.0.113.0/24").
func parseIPWhitelist(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("IPWhitelist entry %q is not an IP address or CIDR prefix", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// checkIPLocked answers 40164 when app has an IP whitelist, WeChat guards
// the endpoint r calls for app's kind, and the caller's address is not
// listed; else nil. The errmsg names the address as WeChat's does:
// "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist".
func (s *Sandbox) checkIPLocked(r *http.Request, app *App) any {
	if len(app.IPWhitelist) == 0 || !ipGuarded[app.Kind][strings.TrimPrefix(r.URL.Path, APIPrefix)] {
		return nil
	}
	allowed, _ := parseIPWhitelist(app.IPWhitelist) // checked by AddApp
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err == nil {
		addr = addr.Unmap()
		for _, p := range allowed {
			if p.Contains(addr) {
				return nil
			}
		}
	}
	msg := "invalid ip " + host + ", not in whitelist"
	if addr.Is4() {
		msg = "invalid ip " + host + " ipv6 ::ffff:" + host + ", not in whitelist"
	}
	return refusal{code: 40164, msg: msg}
}

// SetIPWhitelist replaces the IP whitelist of app appID, as an operator
// does in WeChat's console; nil removes it. Unknown apps fail with
// [ErrNotFound].
func (s *Sandbox) SetIPWhitelist(appID string, list []string) error {
	if _, err := parseIPWhitelist(list); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	app, ok := s.apps[appID]
	if !ok {
		return fmt.Errorf("app %q: %w", appID, ErrNotFound)
	}
	if len(list) > 0 && ipGuarded[app.Kind] == nil {
		return fmt.Errorf("IPWhitelist: a %s has no IP whitelist on WeChat", app.Kind)
	}
	app.IPWhitelist = slices.Clone(list)
	return nil
}
