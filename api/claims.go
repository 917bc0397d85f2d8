package api

// Claims are the claims of a wxauth access token (docs/api.md "Token response"). Audience
// is a single string: wxauth always issues exactly one audience.
type Claims struct {
	Issuer    string `json:"iss"`
	Audience  string `json:"aud"`
	Subject   string `json:"sub"` // user id
	SessionID string `json:"sid"`
	IssuedAt  int64  `json:"iat"` // Unix seconds
	Expiry    int64  `json:"exp"` // Unix seconds
	ID        string `json:"jti"`
	App       string `json:"app"` // app key the session was opened through
}
