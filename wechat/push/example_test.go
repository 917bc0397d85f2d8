package push_test

import (
	"fmt"
	"io"
	"net/http"

	"github.com/wxauth/wxauth/wechat/push"
)

// A receiver of an Official Account's pushes in safe mode: verify
// msg_signature over the Encrypt element, decrypt, read the event. (A
// real one also bounds the body, checks the timestamp, and handles each
// event once: WeChat pushes again after five seconds without an answer.)
func Example() {
	const token, aesKey, appID = "spamtest", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx2c2769f8efd9abc2"
	c, err := push.NewCipher(aesKey, appID)
	if err != nil {
		panic(err) // a bad key is a configuration error, found at start-up
	}
	http.HandleFunc("POST /wechat/push", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		env, err := push.ParseEnvelope(body)
		if err != nil || q.Get("encrypt_type") != "aes" ||
			!push.Verify(q.Get("msg_signature"), token, q.Get("timestamp"), q.Get("nonce"), env.Encrypt) {
			http.Error(w, "refused", http.StatusForbidden)
			return
		}
		xml, err := c.Decrypt(env.Encrypt)
		if err != nil {
			http.Error(w, "refused", http.StatusForbidden)
			return
		}
		m, err := push.ParseMessage(xml)
		if err != nil {
			http.Error(w, "refused", http.StatusBadRequest)
			return
		}
		if scene, ok := m.Scene(); ok {
			fmt.Println(m.FromUserName, "scanned", scene)
		}
		io.WriteString(w, "success")
	})
}

// Sign is what WeChat puts in signature (token, timestamp, nonce) and,
// with the Encrypt element, in msg_signature.
func ExampleSign() {
	fmt.Println(push.Sign("spamtest", "1409735669", "1320562132", sampleEncrypt) == sampleMsgSig)
	// Output: true
}
