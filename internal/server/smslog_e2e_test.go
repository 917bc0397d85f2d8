package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/servertest"
)

// TestSMSCodesNeverLogged runs a whole bind flow over HTTP under
// registration bind_phone, at debug level, in both log formats: a new user's
// login answers a ticket, a code is sent, a wrong code is refused, a
// second code replaces the first, and the right one binds. Neither code
// nor the wrong guess appears in any log line: whoever reads the logs
// cannot take over the phone (docs/security.md).
func TestSMSCodesNeverLogged(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			opts := []servertest.Option{servertest.Configure(func(c *config.Config) { c.Registration = config.RegistrationBindPhone })}
			if format == "text" {
				opts = append(opts, servertest.TextLogs())
			}
			s := servertest.New(t, opts...)
			const phone = "+8613700000042"
			r := s.Do(t, "POST", "/v1/miniprogram/login", api.MiniprogramLoginRequest{App: "mp", Code: s.Code(t, "mp", "bob")}, "")
			var br api.BindRequired
			r.JSON(t, &br)
			if r.Status != http.StatusOK || !br.BindRequired {
				t.Fatalf("login of a new user under bind_phone = %d %s", r.Status, r.Body)
			}
			first := mustSendSMS(t, s, br.BindTicket, phone)
			wrong := fmt.Sprintf("%06d", (mustAtoi(t, first)+1)%1_000_000)
			wantError(t, postBind(t, s, map[string]string{"bind_ticket": br.BindTicket, "phone": phone, "sms_code": wrong}), 400, api.CodeInvalidSMSCode)
			s.Clock.Advance(2 * time.Minute) // past the per-phone spacing
			code := mustSendSMS(t, s, br.BindTicket, phone)
			wantError(t, postBind(t, s, map[string]string{"bind_ticket": br.BindTicket, "phone": phone, "sms_code": first}), 400, api.CodeInvalidSMSCode)
			mustBind(t, s, map[string]string{"bind_ticket": br.BindTicket, "phone": phone, "sms_code": code})

			logs := s.Logs.String()
			if !strings.Contains(logs, "sms code delivered to the sandbox inbox") || !strings.Contains(logs, "**********0042") {
				t.Errorf("no delivery line with the masked phone in the %s logs:\n%s", format, logs)
			}
			if strings.Contains(logs, phone) || strings.Contains(logs, "13700000042") {
				t.Errorf("the phone appears in clear in the %s logs", format)
			}
			for _, c := range []string{first, wrong, code} {
				for _, line := range strings.Split(logs, "\n") {
					if strings.Contains(line, c) {
						t.Errorf("code %s appears in a %s log line: %s", c, format, line)
					}
				}
			}
		})
	}
}
