package sandbox

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/makiuchi-d/gozxing"
	qrreader "github.com/makiuchi-d/gozxing/qrcode"
)

// readQR decodes the QR code in a PNG with a reader written by others
// (gozxing), so the sandbox's pictures are shown to be scannable.
func readQR(t testing.TB, pngBytes []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrreader.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("no QR code in the picture: %v", err)
	}
	return res.GetText()
}

func TestQRPNGCarriesContent(t *testing.T) {
	for _, content := range []string{"a1B2c3", "https://weixin.qq.com/q/02abcDEF", "abcdefghijklmnopqrstuvwxyzABCDEF"} {
		b, err := qrPNG(content)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("%q: not a PNG signature", content)
		}
		if got := readQR(t, b); got != content {
			t.Fatalf("QR code reads %q, want %q", got, content)
		}
	}
}
