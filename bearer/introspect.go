package bearer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/wxauth/wxauth/api"
)

// introspect asks wxauth whether a token that passed the local checks is
// still active (POST /v1/introspect, RFC 7662 §2, docs/api.md "For other
// services"): the [Introspect] fallback while the revocation push is down.
// Since signature, issuer, audience and expiry were already checked here,
// "inactive" means the session is gone: ErrSessionRevoked. Any failure to
// get an answer is ErrUnavailable, never a guess.
func (v *Verifier) introspect(ctx context.Context, token string, c *api.Claims) error {
	form := url.Values{"token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.introspectURL, strings.NewReader(form))
	if err != nil {
		return fmt.Errorf("%w: introspection: %v", ErrUnavailable, err)
	}
	req.Header.Set("Authorization", "Bearer "+v.serviceKey)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := v.httpc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: introspection: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("%w: introspection: status %d", ErrUnavailable, resp.StatusCode)
	}
	var ir struct {
		Active bool   `json:"active"`
		SID    string `json:"sid"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&ir); err != nil {
		return fmt.Errorf("%w: introspection: %v", ErrUnavailable, err)
	}
	if !ir.Active {
		return fmt.Errorf("%w: introspection says inactive (sid %s)", ErrSessionRevoked, c.SessionID)
	}
	if ir.SID != "" && ir.SID != c.SessionID {
		return fmt.Errorf("%w: introspection answered for sid %q, token has %q", ErrUnavailable, ir.SID, c.SessionID)
	}
	return nil
}
