package tracing

import (
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

func TestScrubText(t *testing.T) {
	for in, want := range map[string]string{
		`Get "https://api.weixin.qq.com/sns/jscode2session?appid=wx1&secret=s3cr3t&js_code=c0de&grant_type=authorization_code": dial tcp: i/o timeout`: `Get "https://api.weixin.qq.com/sns/jscode2session?REDACTED": dial tcp: i/o timeout`,
		"https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=s":                                                      "https://api.weixin.qq.com/cgi-bin/token?REDACTED",
		"no query here": "no query here",
	} {
		if got := scrubText(in); got != want {
			t.Errorf("scrubText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScrubAttrs(t *testing.T) {
	got := scrubAttrs([]attribute.KeyValue{
		attribute.String("url.path", "/v1/qrlogin/TICKET"),
		attribute.String("url.query", "code=c0de&state=st"),
		attribute.String("http.target", "/x?code=1"),
		attribute.String("db.statement", "SET k v"),
		attribute.String("url.full", "http://h/sns/oauth2/access_token?code=c0de"),
		attribute.Int("http.response.status_code", 200),
	})
	want := []attribute.KeyValue{
		attribute.String("url.full", "http://h/sns/oauth2/access_token?REDACTED"),
		attribute.Int("http.response.status_code", 200),
	}
	if len(got) != len(want) {
		t.Fatalf("scrubAttrs = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("scrubAttrs[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}
