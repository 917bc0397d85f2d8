package oidc

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// PathQRStatus and PathQRComplete are the sign-in page's mini program
// code steps (docs/oidc.md "The sign-in page").
const (
	PathQRStatus   = "/oauth2/qr/status"
	PathQRComplete = "/oauth2/qr/complete"
)

// qrContext seals the mini program code's cookie.
const qrContext = "wxauth oidc qr v1"

// QRState is what the mini program code's cookie carries: the QR login
// ticket, its poll token, and the kept authorization request it
// finishes. The poll token never reaches the page.
type QRState struct {
	Ticket    string `json:"ticket"`
	PollToken string `json:"poll"`
	Request   string `json:"request"`
}

// SealQR is the cookie value of st.
func (p *Provider) SealQR(st QRState) (string, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return "", fmt.Errorf("qr state: %w", err)
	}
	sealed, err := p.cfg.Seal.Seal(b, qrContext)
	if err != nil {
		return "", fmt.Errorf("qr state: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// OpenQR reads the cookie; ok false for a missing or forged one.
func (p *Provider) OpenQR(value string) (QRState, bool) {
	if value == "" || len(value) > maxCookieLen {
		return QRState{}, false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return QRState{}, false
	}
	b, err := p.cfg.Seal.Open(sealed, qrContext)
	if err != nil {
		return QRState{}, false
	}
	var st QRState
	if json.Unmarshal(b, &st) != nil || st.Ticket == "" || st.PollToken == "" {
		return QRState{}, false
	}
	return st, true
}
