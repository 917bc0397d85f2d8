package wechat

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// OAuth scopes of the authorize URLs (reference §5.1, §6).
const (
	// ScopeBase asks silently for the user's openid only (Official
	// Account).
	ScopeBase = "snsapi_base"
	// ScopeUserInfo asks for consent to read the user's profile with
	// [Client.OAuthUserInfo] (Official Account).
	ScopeUserInfo = "snsapi_userinfo"
	// ScopeLogin is the only scope of website QR login.
	ScopeLogin = "snsapi_login"
)

// maxState is the longest state WeChat accepts, in bytes (reference §5.1).
const maxState = 128

// AuthorizeParams are the parameters of [Client.AuthorizeURL].
type AuthorizeParams struct {
	// AppID is the Official Account's appid, or with Website the website
	// app's (Open Platform) appid. Required.
	AppID string
	// RedirectURI is where WeChat sends the browser back with code and
	// state (reference §5.2): an absolute http or https URL without a
	// fragment, whose domain is the one configured for the app. It may
	// have a query. Required.
	RedirectURI string
	// Scope is ScopeBase or ScopeUserInfo for an Official Account, and
	// ScopeLogin for a website. Empty is an error, except with Website
	// where it means ScopeLogin.
	Scope string
	// State is echoed back to RedirectURI, to bind the callback to the
	// browser that started it (CSRF protection, reference §6). Required
	// (WeChat's page refuses an empty one with error 10013, §5.1): 1 to
	// 128 bytes of [a-zA-Z0-9] only.
	State string
	// Website selects website QR login (/connect/qrconnect, reference §6),
	// opened in a desktop browser, instead of the Official Account's
	// /connect/oauth2/authorize opened inside WeChat (§5.1).
	Website bool
	// ForcePopup adds forcePopup=true: the consent popup is shown even
	// where WeChat would authorize silently (reference §5.1). Official
	// Account only: an error with Website.
	ForcePopup bool
}

// AuthorizeURL returns the URL of WeChat's authorization page for p, under
// [Config.OpenBase]: /connect/oauth2/authorize for an Official Account
// (reference §5.1), /connect/qrconnect with Website (§6). The browser is
// sent there; WeChat sends it back to p.RedirectURI with a code for
// [Client.OAuthExchange].
//
// The parameters come in the order of the reference, each value
// query-escaped, and the URL ends with #wechat_redirect: WeChat matches the
// URL strictly, and a page with its parameters in another order fails to
// open (§5.1). Invalid parameters are [ErrInvalidRequest]; the error does
// not quote the state.
func (c *Client) AuthorizeURL(p AuthorizeParams) (string, error) {
	if err := p.check(); err != nil {
		return "", fmt.Errorf("%w: authorize url: %v", ErrInvalidRequest, err)
	}
	path, scope := "/connect/oauth2/authorize", p.Scope
	if p.Website {
		path = "/connect/qrconnect"
		if scope == "" {
			scope = ScopeLogin
		}
	}
	var b strings.Builder
	b.WriteString(c.openBase)
	b.WriteString(path)
	b.WriteString("?appid=")
	b.WriteString(url.QueryEscape(p.AppID))
	b.WriteString("&redirect_uri=")
	b.WriteString(url.QueryEscape(p.RedirectURI))
	b.WriteString("&response_type=code&scope=")
	b.WriteString(url.QueryEscape(scope))
	b.WriteString("&state=")
	b.WriteString(url.QueryEscape(p.State))
	if p.ForcePopup {
		b.WriteString("&forcePopup=true")
	}
	b.WriteString("#wechat_redirect")
	return b.String(), nil
}

// check validates p against reference §5.1 and §6.
func (p AuthorizeParams) check() error {
	if p.AppID == "" {
		return errors.New("empty app ID")
	}
	if err := checkRedirectURI(p.RedirectURI); err != nil {
		return err
	}
	switch {
	case p.Website && p.Scope != "" && p.Scope != ScopeLogin:
		return fmt.Errorf("scope %q: website login takes %s only", p.Scope, ScopeLogin)
	case !p.Website && p.Scope != ScopeBase && p.Scope != ScopeUserInfo:
		return fmt.Errorf("scope %q: must be %s or %s", p.Scope, ScopeBase, ScopeUserInfo)
	case p.Website && p.ForcePopup:
		return errors.New("forcePopup is for Official Accounts only")
	case p.State == "":
		return errors.New("empty state")
	case len(p.State) > maxState:
		return fmt.Errorf("state of %d bytes: at most %d", len(p.State), maxState)
	}
	for i := 0; i < len(p.State); i++ {
		if !isAlnum(p.State[i]) {
			return errors.New("state: only a-z, A-Z and 0-9 allowed")
		}
	}
	return nil
}

func checkRedirectURI(raw string) error {
	if raw == "" {
		return errors.New("empty redirect URI")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("redirect URI: not a URL") // unquoted: it may hold a password
	case u.User != nil:
		return errors.New("redirect URI: must not hold user info")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("redirect URI %q: scheme must be http or https", raw)
	case u.Host == "":
		return fmt.Errorf("redirect URI %q: no host", raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fmt.Errorf("redirect URI %q: must not have a fragment", raw)
	}
	return nil
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
