package bearer

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParseClaims holds the claims scanner to encoding/json: whatever it
// accepts, encoding/json reads the same way.
func FuzzParseClaims(f *testing.F) {
	for _, seed := range []string{
		`{"iss":"https://auth.example.com","aud":"https://auth.example.com","sub":"u_1","sid":"s_1","iat":1795446103,"exp":1795453303,"jti":"abc-_","app":"mp"}`,
		`{"iss":"","aud":"","sub":"","sid":"","iat":0,"exp":0,"jti":"","app":""}`,
		`{"iss":"a","aud":"b","sub":"c","sid":"d","iat":01,"exp":2,"jti":"e","app":"f"}`,
		`{"iss":"a\"","aud":"b","sub":"c","sid":"d","iat":1,"exp":2,"jti":"e","app":"f"}`,
		`{"iss":"é","aud":"b","sub":"c","sid":"d","iat":1,"exp":2,"jti":"e","app":"f"}`,
		`{"iss":"a","aud":"b","sub":"c","sid":"d","iat":1,"exp":2,"jti":"e","app":"f"} `,
		`{"iss":"a","aud":"b","sub":"c","sid":"d","iat":1,"exp":2,"jti":"e","app":"f","nbf":3}`,
		`{"iss":"a","aud":"b","sub":"c","sid":"d","iat":1e3,"exp":-2,"jti":"e","app":"f"}`,
		`{"iss":"a","aud":"b","sub":"c","sid":"d","iat":999999999999999999,"exp":2,"jti":"e","app":"f"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast := scanClaims(b)
		if fast == nil {
			return
		}
		var slow tokenClaims
		if err := json.Unmarshal(b, &slow); err != nil {
			t.Fatalf("scanner accepted %q, encoding/json: %v", b, err)
		}
		if d := cmp.Diff(slow, *fast); d != "" {
			t.Fatalf("%q read differently (-json +scanner):\n%s", b, d)
		}
	})
}

func TestScanClaimsAcceptsWxauthsOwn(t *testing.T) {
	c := claimsAt("https://auth.example.com", t0, "s_1")
	b, _ := json.Marshal(c)
	if scanClaims(b) == nil {
		t.Errorf("scanner refused %s: the fast path is not taken", b)
	}
}
