package oidc

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Subject types (OIDC Core §8).
const (
	SubjectPublic   = "public"
	SubjectPairwise = "pairwise"
)

// Scopes this provider knows (OIDC Core §5.4, §11). A refresh token is
// always issued, since an OIDC login is a wxauth session; offline_access
// is accepted for the clients that ask for it.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopePhone         = "phone"
	ScopeOfflineAccess = "offline_access"
)

// SupportedScopes lists the scopes, in the order discovery shows them.
func SupportedScopes() []string {
	return []string{ScopeOpenID, ScopeProfile, ScopePhone, ScopeOfflineAccess}
}

// Client is one registered relying party.
type Client struct {
	ID string
	// Name is shown on the sign-in page; empty: the ID.
	Name string
	// Secret authenticates a confidential client; empty for a public one.
	Secret string
	// Public clients have no secret and must use PKCE (S256).
	Public bool
	// RedirectURIs and PostLogoutRedirectURIs are matched exactly
	// (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3).
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// Scopes the client may ask for; empty: all of SupportedScopes.
	Scopes []string
	// Login names the wxauth apps the sign-in page offers: an
	// official_account app inside WeChat, a website app on a desktop
	// (and, when the server has it, a miniprogram app's scan login).
	Login []string
	// Subject is SubjectPublic (the wxauth user id) or SubjectPairwise.
	Subject string
}

// App is the session app of this client's sessions: the access token's
// app claim, how a token is tied to the client that got it.
func (c *Client) App() string { return AppPrefix + c.ID }

// AppPrefix starts the app of every session an OIDC login opens.
const AppPrefix = "oidc:"

// allowsScope reports whether the client may ask for s.
func (c *Client) allowsScope(s string) bool {
	if len(c.Scopes) == 0 {
		return slices.Contains(SupportedScopes(), s)
	}
	return s == ScopeOpenID || slices.Contains(c.Scopes, s)
}

// sector is the host of the client's redirect URIs: what a pairwise
// subject is computed for (OIDC Core §8.1), so clients on one host see the
// same subject.
func (c *Client) sector() string {
	u, err := url.Parse(c.RedirectURIs[0])
	if err != nil {
		return c.ID
	}
	return strings.ToLower(u.Host)
}

// checkSecret compares in constant time (hashed first, so the lengths do
// not show either).
func (c *Client) checkSecret(secret string) bool {
	a, b := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(c.Secret))
	return c.Secret != "" && subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

var clientID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// ValidClientID reports whether id is a client id wxauth accepts: lower
// case letters, digits, "_" and "-", at most 64 (it becomes part of an
// environment variable's name and of the session's app).
func ValidClientID(id string) bool { return clientID.MatchString(id) }

// Clients is the registry of clients.
type Clients struct {
	byID map[string]*Client
}

// NewClients checks the list: ids unique and valid, at least one redirect
// URI each, absolute without fragment, a secret exactly for the
// confidential ones, known scopes and subject types, and for a pairwise
// client one host for every redirect URI.
func NewClients(list []Client) (*Clients, error) {
	cs := &Clients{byID: make(map[string]*Client, len(list))}
	for i := range list {
		c := list[i]
		switch {
		case !ValidClientID(c.ID):
			return nil, fmt.Errorf("oidc: client %q: the id must be lower-case letters, digits, _ and -", c.ID)
		case cs.byID[c.ID] != nil:
			return nil, fmt.Errorf("oidc: client %q configured twice", c.ID)
		case len(c.RedirectURIs) == 0:
			return nil, fmt.Errorf("oidc: client %q: redirect_uris is required", c.ID)
		case c.Public && c.Secret != "":
			return nil, fmt.Errorf("oidc: client %q is public and has a secret", c.ID)
		case !c.Public && len(c.Secret) < 16:
			return nil, fmt.Errorf("oidc: client %q: a confidential client needs a secret of at least 16 characters", c.ID)
		}
		if c.Subject == "" {
			c.Subject = SubjectPublic
		}
		if c.Subject != SubjectPublic && c.Subject != SubjectPairwise {
			return nil, fmt.Errorf("oidc: client %q: subject is public or pairwise", c.ID)
		}
		for _, u := range append(slices.Clone(c.RedirectURIs), c.PostLogoutRedirectURIs...) {
			if !absoluteURL(u) {
				return nil, fmt.Errorf("oidc: client %q: %q is not an absolute http(s) URL without fragment", c.ID, u)
			}
		}
		for _, s := range c.Scopes {
			if !slices.Contains(SupportedScopes(), s) {
				return nil, fmt.Errorf("oidc: client %q: unknown scope %q", c.ID, s)
			}
		}
		if c.Subject == SubjectPairwise {
			for _, u := range c.RedirectURIs[1:] {
				if p, _ := url.Parse(u); !strings.EqualFold(p.Host, c.sector()) {
					return nil, fmt.Errorf("oidc: pairwise client %q: every redirect URI must be on one host (the sector)", c.ID)
				}
			}
		}
		cs.byID[c.ID] = &c
	}
	return cs, nil
}

func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.Fragment == "" && !strings.Contains(s, "#")
}

// Client is the client with this id.
func (cs *Clients) Client(id string) (*Client, bool) {
	c, ok := cs.byID[id]
	return c, ok
}

// Len is how many clients are registered.
func (cs *Clients) Len() int { return len(cs.byID) }

// ForApp is the client whose sessions carry app (Client.App).
func (cs *Clients) ForApp(app string) (*Client, bool) {
	id, ok := strings.CutPrefix(app, AppPrefix)
	if !ok {
		return nil, false
	}
	return cs.Client(id)
}
