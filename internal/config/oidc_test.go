package config

import (
	"strings"
	"testing"
)

const oidcYAML = `
oidc:
  clients:
    - client_id: grafana
      name: Grafana
      redirect_uris: [https://grafana.example.com/login/generic_oauth]
      post_logout_redirect_uris: [https://grafana.example.com/login]
      scopes: [profile, offline_access]
      login: [oa, web]
      subject: pairwise
    - client_id: spa-app
      public: true
      redirect_uris: [https://spa.example.com/cb]
`

// oidc.clients reads from the file, secrets from the environment.
func TestOIDCClients(t *testing.T) {
	c := Defaults()
	if err := c.Parse([]byte(oidcYAML)); err != nil {
		t.Fatal(err)
	}
	if err := c.ApplyEnv(Env{"WXAUTH_OIDC_CLIENT_GRAFANA_SECRET": "grafana-secret-0123456789"}); err != nil {
		t.Fatal(err)
	}
	c.Secret = "test-secret-0123456789abcdef0123456789"
	c.FillDev("http://127.0.0.1:8080", t.TempDir())
	if err := c.Validate(false); err != nil {
		t.Fatal(err)
	}
	got := c.OIDCClients()
	if len(got) != 2 || got[0].Secret != "grafana-secret-0123456789" || got[0].Subject != "pairwise" || got[0].Name != "Grafana" ||
		strings.Join(got[0].Login, ",") != "oa,web" || !got[1].Public || got[1].ID != "spa-app" {
		t.Errorf("OIDCClients = %+v", got)
	}
}

// Each mistake is named with its key and what to do.
func TestOIDCClientsRefused(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        Env
		want       string
	}{
		{"no secret", oidcYAML, nil, "oidc.clients[0].secret: required for a confidential client: set WXAUTH_OIDC_CLIENT_GRAFANA_SECRET"},
		{"short secret", oidcYAML, Env{"WXAUTH_OIDC_CLIENT_GRAFANA_SECRET": "short"}, "shorter than 16"},
		{"secret of no client", oidcYAML, Env{"WXAUTH_OIDC_CLIENT_GITLAB_SECRET": "x"}, "WXAUTH_OIDC_CLIENT_GITLAB_SECRET: no client"},
		{"secret in the file", "oidc: {clients: [{client_id: a, secret: x}]}", nil, "not read from the file; set WXAUTH_OIDC_CLIENT_A_SECRET"},
		{"typo", "oidc: {clients: [{client_id: a, redirect_uri: [https://a.example.com]}]}", nil, "did you mean redirect_uris?"},
		{"unknown key", "oidc: {client: []}", nil, "oidc.client: unknown key; did you mean clients?"},
		{"not a list", "oidc: {clients: a}", nil, "oidc.clients: must be a list"},
		{"public bool", "oidc: {clients: [{client_id: a, public: yes}]}", nil, "must be true or false"},
		{"bad id", "oidc: {clients: [{client_id: Bad, public: true, redirect_uris: [https://a.example.com/cb]}]}", nil, "oidc.clients[0].client_id"},
		{"no redirects", "oidc: {clients: [{client_id: a, public: true}]}", nil, "oidc.clients[0].redirect_uris: required"},
		{"unknown app", "oidc: {clients: [{client_id: a, public: true, redirect_uris: [https://a.example.com/cb], login: [nope]}]}", nil, `no app "nope"`},
		{"scope", "oidc: {clients: [{client_id: a, public: true, redirect_uris: [https://a.example.com/cb], scopes: [email]}]}", nil, `"email" is not one of`},
		{"fragment", "oidc: {clients: [{client_id: a, public: true, redirect_uris: ['https://a.example.com/cb#x']}]}", nil, "without fragment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			err := c.Parse([]byte(tc.yaml))
			if err == nil {
				err = c.ApplyEnv(tc.env)
			}
			if err == nil {
				c.Secret = "test-secret-0123456789abcdef0123456789"
				c.FillDev("http://127.0.0.1:8080", t.TempDir())
				err = c.Validate(false)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("= %v, want %q", err, tc.want)
			}
		})
	}
}

// A client's login may name a mini program: the sign-in page shows its
// code on a desktop (docs/oidc.md).
func TestOIDCClientMiniProgram(t *testing.T) {
	c := Defaults()
	if err := c.Parse([]byte("oidc: {clients: [{client_id: a, public: true, redirect_uris: [https://a.example.com/cb], login: [mp, web]}]}")); err != nil {
		t.Fatal(err)
	}
	c.Secret = "test-secret-0123456789abcdef0123456789"
	c.FillDev("http://127.0.0.1:8080", t.TempDir())
	if err := c.Validate(false); err != nil {
		t.Errorf("login [mp, web]: %v", err)
	}
	if got := c.OIDCClients()[0].Login; strings.Join(got, ",") != "mp,web" {
		t.Errorf("Login = %v", got)
	}
}

// Under serve the issuer's host must be a WeChat domain of the apps the
// sign-in uses: the OP's WeChat logins return to the issuer.
func TestOIDCWeChatDomains(t *testing.T) {
	c := Defaults()
	c.Issuer = "https://auth.example.com"
	c.Apps = []App{{Name: "oa", Kind: KindOfficialAccount, AppID: "wx1", Domains: []string{"m.example.com"}},
		{Name: "web", Kind: KindWebsite, AppID: "wx2", Domains: []string{"auth.example.com"}}}
	c.OIDC.Clients = []OIDCClient{{ID: "a", Public: true, RedirectURIs: []string{"https://a.example.com/cb"}}}
	err := c.CheckWeChatDomains()
	if err == nil || !strings.Contains(err.Error(), `app "oa"`) || strings.Contains(err.Error(), `app "web"`) {
		t.Errorf("CheckWeChatDomains = %v, want oa named (its domains lack auth.example.com), web not", err)
	}
	c.OIDC.Clients[0].Login = []string{"web"}
	if err := c.CheckWeChatDomains(); err != nil {
		t.Errorf("a client that signs in through web only: %v", err)
	}
	c.Issuer = "https://auth.example.com:8443"
	if err := c.CheckWeChatDomains(); err == nil || !strings.Contains(err.Error(), "default port") {
		t.Errorf("issuer on port 8443: %v", err)
	}
}
