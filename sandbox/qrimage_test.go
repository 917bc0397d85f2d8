package sandbox

import (
	"bytes"
	"testing"

	"github.com/wxauth/wxauth/internal/qrtest"
)

func TestQRPNGCarriesContent(t *testing.T) {
	for _, content := range []string{
		"a1B2c3", "https://weixin.qq.com/q/02abcDEF", "abcdefghijklmnopqrstuvwxyzABCDEF",
		// gozxing's detector misjudges this one's size (a CI failure):
		// qrtest must still read it.
		"http://weixin.qq.com/q/02mOuUKt9jbil14QBuuWAd",
	} {
		b, err := qrPNG(content)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("%q: not a PNG signature", content)
		}
		if got := qrtest.Read(t, b); got != content {
			t.Fatalf("QR code reads %q, want %q", got, content)
		}
	}
}
