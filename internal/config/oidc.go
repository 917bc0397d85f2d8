package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"

	"github.com/wxauth/wxauth/internal/oidc"
	"gopkg.in/yaml.v3"
)

// OIDC is the OpenID Provider's configuration (docs/oidc.md): the key
// oidc, a mapping whose one key is clients.
type OIDC struct {
	Clients []OIDCClient
}

// OIDCClient is one entry of oidc.clients. Its secret comes from
// WXAUTH_OIDC_CLIENT_<ID>_SECRET (the id upper-cased, "-" as "_"), never
// from the file.
type OIDCClient struct {
	ID                     string
	Name                   string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	Scopes                 []string
	Login                  []string
	Public                 bool
	Subject                string
	Secret                 string
}

// LogValue keeps the client's secret out of logs.
func (c OIDCClient) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", c.ID), slog.Bool("public", c.Public))
}

// oidcClientKeys are the keys of one entry of oidc.clients, for the
// documentation and the unknown-key problem.
var oidcClientKeys = []Key{
	{Path: "client_id", Doc: "the client's id: lower-case letters, digits, `_` and `-`"},
	{Path: "name", Doc: "shown on the sign-in page; default the id"},
	{Path: "redirect_uris", Doc: "where codes may be sent, a list, each matched exactly"},
	{Path: "post_logout_redirect_uris", Doc: "where `end_session` may return, a list, each matched exactly"},
	{Path: "scopes", Doc: "scopes the client may ask for (`openid` always): `profile`, `phone`, `offline_access`; default all"},
	{Path: "login", Doc: "the apps the sign-in offers, a list: an `official_account` app inside WeChat, a `website` app (QR login) and a `miniprogram` app (its code, scanned) on a desktop; default the one `official_account` and the one `website` app"},
	{Path: "public", Doc: "`true`: no secret, PKCE (S256) required; default `false`"},
	{Path: "subject", Doc: "`public` (the wxauth user id) or `pairwise` (per client host); default `public`"},
	{Path: "(secret)", Env: "WXAUTH_OIDC_CLIENT_<ID>_SECRET", Doc: "a confidential client's secret, ≥ 16 characters; only from the environment (`-` in the id as `_`)"},
}

// oidcClientsForm is the form of oidc.clients, for the problems that name
// it.
const oidcClientsForm = `oidc: {clients: [{client_id: grafana, redirect_uris: [https://grafana.example.com/login/generic_oauth]}]} with the secret in WXAUTH_OIDC_CLIENT_GRAFANA_SECRET`

// parseOIDC reads the oidc mapping.
func (c *Config) parseOIDC(v *yaml.Node, ps *Problems) {
	if v.Kind != yaml.MappingNode {
		*ps = append(*ps, Problem{Key: "oidc", Msg: "must be a mapping: " + oidcClientsForm, Line: v.Line})
		return
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		path := "oidc." + k.Value
		c.lines[path] = k.Line
		if k.Value != "clients" {
			*ps = append(*ps, unknownKey(path, k, []string{"clients"}))
			continue
		}
		c.OIDC.Clients = nil
		c.eachEntry(val, "oidc.clients", oidcClientsForm, "must be a mapping {client_id, redirect_uris, …}", ps,
			func(int) { c.OIDC.Clients = append(c.OIDC.Clients, OIDCClient{}) },
			func(path string, k, val *yaml.Node) {
				c.oidcClientField(&c.OIDC.Clients[len(c.OIDC.Clients)-1], path, k, val, ps)
			})
	}
}

// oidcClientField reads one key of a client.
func (c *Config) oidcClientField(cl *OIDCClient, path string, k, val *yaml.Node, ps *Problems) {
	lists := map[string]*[]string{"redirect_uris": &cl.RedirectURIs, "post_logout_redirect_uris": &cl.PostLogoutRedirectURIs,
		"scopes": &cl.Scopes, "login": &cl.Login}
	texts := map[string]*string{"client_id": &cl.ID, "name": &cl.Name, "subject": &cl.Subject}
	if l, ok := lists[k.Value]; ok {
		*l = c.scalars(path, val, ps)
		return
	}
	if k.Value == "secret" {
		*ps = append(*ps, Problem{Key: path, Msg: "not read from the file; set " + oidcSecretVar(cl.ID), Line: k.Line})
		return
	}
	_, isText := texts[k.Value]
	if !isText && k.Value != "public" {
		names := make([]string, 0, len(oidcClientKeys))
		for _, key := range oidcClientKeys[:len(oidcClientKeys)-1] {
			names = append(names, key.Path)
		}
		*ps = append(*ps, unknownKey(path, k, names))
		return
	}
	if val.Kind != yaml.ScalarNode {
		*ps = append(*ps, Problem{Key: path, Msg: "must be a single value", Line: val.Line})
		return
	}
	if k.Value == "public" {
		switch val.Value {
		case "true":
			cl.Public = true
		case "false":
			cl.Public = false
		default:
			*ps = append(*ps, Problem{Key: path, Msg: "must be true or false", Line: val.Line})
		}
		return
	}
	*texts[k.Value] = val.Value
}

// oidcSecretVar is the variable of a client's secret.
func oidcSecretVar(id string) string {
	return "WXAUTH_OIDC_CLIENT_" + strings.ToUpper(strings.ReplaceAll(id, "-", "_")) + "_SECRET"
}

// setOIDCSecret sets the secret of the client whose variable name is; ok
// false if the variable is no client's.
func (c *Config) setOIDCSecret(name, secret string) (matched, ok bool) {
	if !strings.HasPrefix(name, "WXAUTH_OIDC_CLIENT_") || !strings.HasSuffix(name, "_SECRET") {
		return false, false
	}
	for i := range c.OIDC.Clients {
		if oidcSecretVar(c.OIDC.Clients[i].ID) == name {
			c.OIDC.Clients[i].Secret = secret
			return true, true
		}
	}
	return true, false
}

// validateOIDC checks oidc.clients with the names of the configured apps.
func (c *Config) validateOIDC(bad func(key, format string, args ...any)) {
	if len(c.OIDC.Clients) > 0 && strings.HasSuffix(c.Issuer, "/") {
		bad("issuer", "%q ends with /: with oidc.clients the issuer is the exact base of every endpoint URL (https://auth.example.com)", c.Issuer)
	}
	seen := map[string]bool{}
	for i, cl := range c.OIDC.Clients {
		key := fmt.Sprintf("oidc.clients[%d]", i)
		switch {
		case !oidc.ValidClientID(cl.ID):
			bad(key+".client_id", "%q must be lower-case letters, digits, _ and - (at most 64)", cl.ID)
		case seen[cl.ID]:
			bad(key+".client_id", "%q is used twice", cl.ID)
		}
		seen[cl.ID] = true
		if v := oidcSecretVar(cl.ID); seen[v] {
			bad(key+".client_id", "%q shares the variable %s with another client", cl.ID, v)
		} else {
			seen[v] = true
		}
		if len(cl.RedirectURIs) == 0 {
			bad(key+".redirect_uris", "required: the client's callback URLs, matched exactly")
		}
		switch {
		case cl.Public && cl.Secret != "":
			bad(key+".public", "a public client has no secret; unset %s", oidcSecretVar(cl.ID))
		case !cl.Public && cl.Secret == "":
			bad(key+".secret", "required for a confidential client: set %s (or public: true, with PKCE)", oidcSecretVar(cl.ID))
		case !cl.Public && len(cl.Secret) < 16:
			bad(key+".secret", "%s is shorter than 16 characters", oidcSecretVar(cl.ID))
		}
		if cl.Subject != "" && cl.Subject != oidc.SubjectPublic && cl.Subject != oidc.SubjectPairwise {
			bad(key+".subject", "%q is public or pairwise", cl.Subject)
		}
		for j, s := range cl.Scopes {
			if !slices.Contains(oidc.SupportedScopes(), s) {
				bad(fmt.Sprintf("%s.scopes[%d]", key, j), "%q is not one of %s", s, strings.Join(oidc.SupportedScopes(), ", "))
			}
		}
		for j, name := range cl.Login {
			if _, ok := c.App(name); !ok {
				bad(fmt.Sprintf("%s.login[%d]", key, j), "no app %q is configured (apps: %s)", name, appNames(c.Apps))
			}
		}
	}
	if _, err := oidc.NewClients(c.OIDCClients()); err != nil && len(c.OIDC.Clients) > 0 {
		bad("oidc.clients", "%s", strings.TrimPrefix(err.Error(), "oidc: "))
	}
}

// OIDCClients are the configured clients for package oidc.
func (c *Config) OIDCClients() []oidc.Client {
	out := make([]oidc.Client, len(c.OIDC.Clients))
	for i, cl := range c.OIDC.Clients {
		out[i] = oidc.Client{ID: cl.ID, Name: cl.Name, Secret: cl.Secret, Public: cl.Public, RedirectURIs: cl.RedirectURIs,
			PostLogoutRedirectURIs: cl.PostLogoutRedirectURIs, Scopes: cl.Scopes, Login: cl.Login, Subject: cl.Subject}
	}
	return out
}

// checkOIDCDomains is CheckWeChatDomains for the OpenID Provider: its
// WeChat logins return to {issuer}/oauth2/callback, so the issuer's host
// must be a registered domain, on the default port, of every browser app
// a client's sign-in may use.
func (c *Config) checkOIDCDomains(browser []App, bad func(key, format string, args ...any)) {
	if len(c.OIDC.Clients) == 0 {
		return
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || u.Host == "" {
		return // Validate reports it
	}
	if p := u.Port(); p != "" && !(p == "80" && u.Scheme == "http" || p == "443" && u.Scheme == "https") {
		bad("issuer", "%q: the OpenID Provider's WeChat logins return to the issuer, and WeChat returns only to the default port (80, 443)", c.Issuer)
		return
	}
	host := strings.ToLower(u.Hostname())
	for _, a := range browser {
		used := false
		for _, cl := range c.OIDC.Clients {
			used = used || len(cl.Login) == 0 || slices.Contains(cl.Login, a.Name)
		}
		if used && !slices.Contains(a.Domains, host) {
			bad("oidc.clients", "app %q signs OpenID Connect clients in, returning to %s/oauth2/callback: add %s to its domains (registered on WeChat)", a.Name, c.Issuer, host)
		}
	}
}
