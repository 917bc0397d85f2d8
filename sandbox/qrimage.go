package sandbox

import (
	"fmt"

	qrcode "github.com/skip2/go-qrcode"
)

// qrImageSize is the side of the QR pictures the sandbox draws, in pixels:
// about WeChat's default mini program code width (430).
const qrImageSize = 430

// qrPNG draws content as a real QR code in a PNG, as WeChat's mini program
// codes and parametric QR codes are pictures a phone can scan: a test or a
// person with a phone can read back what the code carries.
func qrPNG(content string) ([]byte, error) {
	png, err := qrcode.Encode(content, qrcode.Medium, qrImageSize)
	if err != nil {
		return nil, fmt.Errorf("sandbox: draw QR code: %w", err)
	}
	return png, nil
}
