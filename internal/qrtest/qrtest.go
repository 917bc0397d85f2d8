// Package qrtest reads QR codes back out of pictures for tests, with a
// reader written by others (gozxing): the sandbox's mini program codes and
// parametric QR codes are shown to be scannable and to carry what they
// should. Only tests import it.
package qrtest

import (
	"bytes"
	"image"
	_ "image/jpeg" // WeChat draws JPEGs
	_ "image/png"  // the sandbox draws PNGs
	"testing"

	"github.com/makiuchi-d/gozxing"
	qrreader "github.com/makiuchi-d/gozxing/qrcode"
)

// Read is the text of the QR code in pic (PNG or JPEG); the test fails if
// pic is no picture or holds no QR code.
func Read(t testing.TB, pic []byte) string {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(pic))
	if err != nil {
		t.Fatalf("not a picture: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrreader.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		// gozxing's finder-pattern detector misjudges the size of about
		// one drawn code in 400 ("dimension = 31"), depending on the
		// content. The pictures are drawn, not photographed, so reading
		// them as a pure barcode is exact; a picture that is no QR code
		// still fails here.
		pure, perr := qrreader.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]interface{}{
			gozxing.DecodeHintType_PURE_BARCODE: true,
		})
		if perr != nil {
			t.Fatalf("no QR code in the picture: %v; as a pure barcode: %v", err, perr)
		}
		res = pure
	}
	return res.GetText()
}
