package login

import (
	"fmt"
	"slices"
)

// Kind is what sort of WeChat application an app is; each kind has its
// own way of logging in.
type Kind string

// The kinds of app, defined once: configuration, the login flows and the
// server all use these.
const (
	// KindMiniProgram logs in with wx.login codes (jscode2session).
	KindMiniProgram Kind = "miniprogram"
	// KindOfficialAccount logs in inside WeChat's browser through OAuth
	// (connect/oauth2/authorize, snsapi_base or snsapi_userinfo).
	KindOfficialAccount Kind = "official_account"
	// KindWebsite logs in on a desktop browser by scanning a QR code
	// (connect/qrconnect, snsapi_login).
	KindWebsite Kind = "website"
	// KindMobileApp logs in from an iOS or Android app through the WeChat
	// SDK's SendAuth (an Open Platform mobile app, reference §6.1).
	KindMobileApp Kind = "mobile_app"
)

// Kinds lists every kind, in the order the docs give them.
func Kinds() []Kind {
	return []Kind{KindMiniProgram, KindOfficialAccount, KindWebsite, KindMobileApp}
}

// ParseKind reads a configured kind.
func ParseKind(s string) (Kind, bool) {
	k := Kind(s)
	return k, slices.Contains(Kinds(), k)
}

// browser reports whether apps of this kind log in through WeChat's OAuth
// pages.
func (k Kind) browser() bool { return k == KindOfficialAccount || k == KindWebsite }

// App is one configured WeChat application.
type App struct {
	// Name is the app's key in the configuration and in requests.
	Name   string
	Kind   Kind
	AppID  string
	Secret string
	// Domains are the hosts registered on WeChat for an Official Account
	// or website app's pages (reference §5.1, §6): WeChat returns the
	// browser only to these, exactly. Empty: not known, not checked
	// (`serve` requires them; development relies on the sandbox).
	Domains []string
	// QRPage is the mini program page a QR login's code opens
	// (qrlogin_page, "pages/qrlogin/index"); empty: the home page.
	// QREnvVersion is the version it opens (qrlogin_env_version:
	// release, trial, develop); empty: release.
	QRPage, QREnvVersion string
	// PushToken and PushAESKey are an Official Account's server
	// configuration on WeChat (docs/follow-login.md): the token that
	// signs WeChat's pushes and the EncodingAESKey of safe mode. Empty
	// PushToken: the app takes no pushes; empty PushAESKey: plaintext
	// pushes only.
	PushToken, PushAESKey string
}

// Apps is the registry of configured apps.
type Apps struct {
	byName  map[string]App
	byAppID map[string]App
	list    []App
}

// NewApps checks that names and appids are unique and kinds known.
func NewApps(list []App) (*Apps, error) {
	a := &Apps{byName: make(map[string]App, len(list)), byAppID: make(map[string]App, len(list)), list: slices.Clone(list)}
	for _, app := range list {
		switch {
		case app.Name == "" || app.AppID == "":
			return nil, fmt.Errorf("login: app %q: name and appid are required", app.Name)
		case !slices.Contains(Kinds(), app.Kind):
			return nil, fmt.Errorf("login: app %q: unknown kind %q", app.Name, app.Kind)
		}
		if _, dup := a.byName[app.Name]; dup {
			return nil, fmt.Errorf("login: app %q configured twice", app.Name)
		}
		if _, dup := a.byAppID[app.AppID]; dup {
			return nil, fmt.Errorf("login: appid %s configured twice", app.AppID)
		}
		a.byName[app.Name] = app
		a.byAppID[app.AppID] = app
	}
	return a, nil
}

// Named is the app with this key.
func (a *Apps) Named(name string) (App, bool) {
	app, ok := a.byName[name]
	return app, ok
}

// ByAppID is the app with this appid.
func (a *Apps) ByAppID(appID string) (App, bool) {
	app, ok := a.byAppID[appID]
	return app, ok
}

// OfKind lists the apps of a kind, in configuration order.
func (a *Apps) OfKind(k Kind) []App {
	var out []App
	for _, app := range a.list {
		if app.Kind == k {
			out = append(out, app)
		}
	}
	return out
}

// pick finds the app a request names, of one of the kinds; with no name,
// the one app of kinds[0] if there is exactly one.
func (a *Apps) pick(name string, kinds ...Kind) (App, error) {
	if name == "" {
		found := a.OfKind(kinds[0])
		if len(found) == 1 {
			return found[0], nil
		}
		return App{}, ErrUnknownApp.Sayf(`name the app: %d %s apps are configured`, len(found), kinds[0])
	}
	app, ok := a.byName[name]
	if !ok || !slices.Contains(kinds, app.Kind) {
		return App{}, ErrUnknownApp.Sayf("no %s app is configured under this name", kindList(kinds))
	}
	return app, nil
}

func kindList(kinds []Kind) string {
	s := string(kinds[0])
	for _, k := range kinds[1:] {
		s += " or " + string(k)
	}
	return s
}
