package oidc

// Discovery is the provider's metadata (OpenID Connect Discovery 1.0 §3,
// RFC 8414), served at /.well-known/openid-configuration.
type Discovery struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	// RevocationEndpointAuthMethodsSupported and
	// IntrospectionEndpointAuthMethodsSupported: RFC 8414 §2.
	RevocationEndpointAuthMethodsSupported    []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported             []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                           []string `json:"claims_supported"`
	PromptValuesSupported                     []string `json:"prompt_values_supported"`
	ClaimsParameterSupported                  bool     `json:"claims_parameter_supported"`
	RequestParameterSupported                 bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported              bool     `json:"request_uri_parameter_supported"`
	// AuthorizationResponseIssParameterSupported: RFC 9207.
	AuthorizationResponseIssParameterSupported bool `json:"authorization_response_iss_parameter_supported"`
}

// Endpoint paths, under the issuer.
const (
	PathDiscovery     = "/.well-known/openid-configuration"
	PathAuthorize     = "/oauth2/authorize"
	PathToken         = "/oauth2/token"
	PathUserInfo      = "/oauth2/userinfo"
	PathRevoke        = "/oauth2/revoke"
	PathEndSession    = "/oauth2/end_session"
	PathWeChatStart   = "/oauth2/wechat"
	PathCallback      = "/oauth2/callback"
	PathBind          = "/oauth2/bind"
	PathJWKS          = "/.well-known/jwks.json"
	PathIntrospection = "/oauth2/introspect"
)

// Discovery is the metadata document.
func (p *Provider) Discovery() Discovery {
	iss := p.cfg.Issuer
	auth := []string{"client_secret_basic", "client_secret_post", "none"}
	return Discovery{
		Issuer:                                    iss,
		AuthorizationEndpoint:                     iss + PathAuthorize,
		TokenEndpoint:                             iss + PathToken,
		UserinfoEndpoint:                          iss + PathUserInfo,
		JWKSURI:                                   iss + PathJWKS,
		RevocationEndpoint:                        iss + PathRevoke,
		IntrospectionEndpoint:                     iss + PathIntrospection,
		EndSessionEndpoint:                        iss + PathEndSession,
		ScopesSupported:                           SupportedScopes(),
		ResponseTypesSupported:                    []string{"code"},
		ResponseModesSupported:                    []string{"query"},
		GrantTypesSupported:                       []string{"authorization_code", "refresh_token"},
		SubjectTypesSupported:                     []string{SubjectPublic, SubjectPairwise},
		IDTokenSigningAlgValuesSupported:          []string{SigningAlg},
		TokenEndpointAuthMethodsSupported:         auth,
		RevocationEndpointAuthMethodsSupported:    auth,
		IntrospectionEndpointAuthMethodsSupported: auth,
		CodeChallengeMethodsSupported:             []string{"S256"},
		ClaimsSupported: []string{"iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "at_hash", "sid",
			"name", "picture", "phone_number", "phone_number_verified"},
		PromptValuesSupported:                      []string{"none", "login", "consent", "select_account"},
		AuthorizationResponseIssParameterSupported: true,
	}
}

// Authenticate finds client id and checks its secret (RFC 6749 §2.3.1):
// a confidential client must present its secret, a public one none.
func (p *Provider) Authenticate(id, secret string) (*Client, error) {
	c, ok := p.cfg.Clients.Client(id)
	switch {
	case !ok:
		return nil, oauthErr(CodeInvalidClient, "client authentication failed")
	case c.Public && secret != "":
		return nil, oauthErr(CodeInvalidClient, "a public client has no secret")
	case !c.Public && !c.checkSecret(secret):
		return nil, oauthErr(CodeInvalidClient, "client authentication failed")
	}
	return c, nil
}
