package server

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/clienterr"
)

// FuzzDecode: whatever the body, decode answers nil or a client error of
// the contract (invalid_request, 400 or 413); it never panics and never
// produces an error that would become a 500.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"app":"mp","code":"abc"}`, `{"code":42}`, `[]`, `null`, ``, `{`, `{"code":"x"} {}`,
		`{"code":"\ud800"}`, `{"app":{"x":1}}`, "\xff\xfe", `{"inviter":"` + string(bytes.Repeat([]byte("a"), 70000)) + `"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/v1/miniprogram/login", bytes.NewReader(body))
		w := httptest.NewRecorder()
		var req api.MiniprogramLoginRequest
		err := decode(w, r, &req)
		if err == nil {
			return
		}
		var ce *clienterr.Error
		if !errors.As(err, &ce) || ce.Code != api.CodeInvalidRequest {
			t.Fatalf("decode(%q) = %v, want a client error invalid_request", body, err)
		}
		if e, _ := translate(err); e.Status != 400 && e.Status != 413 {
			t.Fatalf("decode(%q) translates to %d", body, e.Status)
		}
	})
}
