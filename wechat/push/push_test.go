package push_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/wxauth/wxauth/wechat/push"
)

// The official sample of WeChat's 消息加解密 (the WXBizMsgCrypt demos:
// token "spamtest", EncodingAESKey "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
// appid "wx2c2769f8efd9abc2"): a safe-mode push and its msg_signature,
// as published with the demos and republished by their ports.
const (
	sampleToken     = "spamtest"
	sampleAESKey    = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	sampleAppID     = "wx2c2769f8efd9abc2"
	sampleTimestamp = "1409735669"
	sampleNonce     = "1320562132"
	sampleMsgSig    = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
	sampleEncrypt   = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)

func TestOfficialSample(t *testing.T) {
	if !push.Verify(sampleMsgSig, sampleToken, sampleTimestamp, sampleNonce, sampleEncrypt) {
		t.Fatalf("msg_signature of the official sample does not verify: Sign = %s", push.Sign(sampleToken, sampleTimestamp, sampleNonce, sampleEncrypt))
	}
	c, err := push.NewCipher(sampleAESKey, sampleAppID)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := c.Decrypt(sampleEncrypt)
	if err != nil {
		t.Fatalf("Decrypt(official sample) = %v", err)
	}
	m, err := push.ParseMessage(msg)
	if err != nil {
		t.Fatalf("ParseMessage(%s) = %v", msg, err)
	}
	want := push.Message{ToUserName: "gh_10f6c3c3ac5a", FromUserName: "oyORnuP8q7ou2gfYjqLzSIWZf0rs",
		CreateTime: 1409735668, MsgType: "text", MsgID: 6054768590064713728}
	if m != want {
		t.Fatalf("sample message = %+v, want %+v", m, want)
	}
	// The same key for another account: the appid check refuses it.
	other, _ := push.NewCipher(sampleAESKey, "wx0000000000000000")
	if _, err := other.Decrypt(sampleEncrypt); !errors.Is(err, push.ErrAppID) {
		t.Fatalf("Decrypt for another appid = %v, want ErrAppID", err)
	}
	// A changed Encrypt no longer matches the signature.
	if push.Verify(sampleMsgSig, sampleToken, sampleTimestamp, sampleNonce, sampleEncrypt[1:]) {
		t.Fatal("msg_signature verifies over another Encrypt")
	}
}

func TestSignSortsParts(t *testing.T) {
	// sha1("1409659813" + "1372623149" + "token") sorted: WeChat sorts the
	// strings lexicographically before joining.
	a := push.Sign("token", "1409659813", "1372623149")
	b := push.Sign("1372623149", "1409659813", "token")
	if a != b || len(a) != 40 || strings.ToLower(a) != a {
		t.Fatalf("Sign = %q and %q, want equal lower-case hex", a, b)
	}
	if push.Verify(strings.ToUpper(a), "token", "1409659813", "1372623149") {
		t.Fatal("upper-case signature accepted")
	}
	if push.Verify("", "token", "1", "2") {
		t.Fatal("empty signature accepted")
	}
}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	c, err := push.NewCipher(sampleAESKey, sampleAppID)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"", "<xml/>", strings.Repeat("x", 31), strings.Repeat("y", 32), strings.Repeat("中", 100)} {
		enc, err := c.Encrypt([]byte(msg), bytes.NewReader(make([]byte, 16)))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.StdEncoding.DecodeString(enc)
		if len(raw)%32 != 0 {
			t.Fatalf("ciphertext of %d bytes is not padded to 32", len(raw))
		}
		got, err := c.Decrypt(enc)
		if err != nil || string(got) != msg {
			t.Fatalf("Decrypt(Encrypt(%q)) = %q, %v", msg, got, err)
		}
	}
}

func TestDecryptRefuses(t *testing.T) {
	c, _ := push.NewCipher(sampleAESKey, sampleAppID)
	wrongKey, _ := push.NewCipher("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg", sampleAppID)
	good, _ := c.Encrypt([]byte("<xml><A>1</A></xml>"), nil)
	raw, _ := base64.StdEncoding.DecodeString(good)
	key, _ := base64.StdEncoding.DecodeString(sampleAESKey + "=")

	// sealed encrypts plain with the sample key exactly as given, to make
	// payloads a correct encryptor would never produce.
	sealed := func(plain []byte) string {
		block, _ := aes.NewCipher(key)
		out := make([]byte, len(plain))
		cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, plain)
		return base64.StdEncoding.EncodeToString(out)
	}
	badPad := make([]byte, 64)
	badPad[63] = 33 // more than the 32-byte block
	mixedPad := bytes.Repeat([]byte{4}, 64)
	mixedPad[61] = 3
	longLen := make([]byte, 32)
	copy(longLen[16:], []byte{0, 0, 1, 0}) // says 256 bytes of message
	for i := 20; i < 32; i++ {
		longLen[i] = 12
	}
	for _, tc := range []struct {
		name string
		c    *push.Cipher
		in   string
		want error
	}{
		{"wrong key", wrongKey, good, push.ErrDecrypt},
		{"not base64", c, "%%%", push.ErrDecrypt},
		{"empty", c, "", push.ErrDecrypt},
		{"truncated to one block", c, base64.StdEncoding.EncodeToString(raw[:16]), push.ErrDecrypt},
		{"truncated mid block", c, base64.StdEncoding.EncodeToString(raw[:len(raw)-5]), push.ErrDecrypt},
		{"padding over 32", c, sealed(badPad), push.ErrDecrypt},
		{"padding bytes differ", c, sealed(mixedPad), push.ErrDecrypt},
		{"length past the end", c, sealed(longLen), push.ErrDecrypt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.c.Decrypt(tc.in); !errors.Is(err, tc.want) {
				t.Fatalf("Decrypt = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNewCipherChecksKey(t *testing.T) {
	for _, k := range []string{"", "short", sampleAESKey + "A", sampleAESKey[:42] + "!"} {
		if _, err := push.NewCipher(k, sampleAppID); err == nil {
			t.Errorf("NewCipher(%q) accepted", k)
		}
		if push.CheckAESKey(k) == nil {
			t.Errorf("CheckAESKey(%q) accepted", k)
		}
	}
	if err := push.CheckAESKey(sampleAESKey); err != nil {
		t.Fatal(err)
	}
}

func TestCheckToken(t *testing.T) {
	for tok, ok := range map[string]bool{"abc": true, "spamtest": true, strings.Repeat("a", 32): true,
		"ab": false, strings.Repeat("a", 33): false, "ab-c": false, "令牌令牌": false, "": false} {
		if err := push.CheckToken(tok); (err == nil) != ok {
			t.Errorf("CheckToken(%q) = %v, want ok %v", tok, err, ok)
		}
	}
}

func TestParseMessageEvents(t *testing.T) {
	for _, tc := range []struct {
		body      string
		scene     string
		wantScene bool
	}{
		{`<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oU1]]></FromUserName><CreateTime>123</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_abc123]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket></xml>`, "abc123", true},
		{`<xml><ToUserName>gh_1</ToUserName><FromUserName>oU1</FromUserName><CreateTime>123</CreateTime><MsgType>event</MsgType><Event>SCAN</Event><EventKey>abc123</EventKey><Ticket>T</Ticket></xml>`, "abc123", true},
		{`<xml><FromUserName>oU1</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>subscribe</Event><EventKey></EventKey></xml>`, "", false},
		{`<xml><FromUserName>oU1</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>subscribe</Event><EventKey>qrscene_</EventKey></xml>`, "", false},
		{`<xml><FromUserName>oU1</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>unsubscribe</Event></xml>`, "", false},
		{`<xml><FromUserName>oU1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>qrscene_x</Content><MsgId>1</MsgId></xml>`, "", false},
	} {
		m, err := push.ParseMessage([]byte(tc.body))
		if err != nil {
			t.Fatalf("ParseMessage(%s) = %v", tc.body, err)
		}
		scene, ok := m.Scene()
		if scene != tc.scene || ok != tc.wantScene {
			t.Errorf("Scene(%s) = %q, %v; want %q, %v", tc.body, scene, ok, tc.scene, tc.wantScene)
		}
	}
	for _, bad := range []string{"", "not xml", "<root><FromUserName>o</FromUserName><MsgType>event</MsgType></root>",
		"<xml><MsgType>event</MsgType></xml>", "<xml><FromUserName>o</FromUserName><MsgType>event</MsgType><CreateTime>x</CreateTime></xml>", "<xml><FromUserName>o"} {
		if _, err := push.ParseMessage([]byte(bad)); !errors.Is(err, push.ErrMalformed) {
			t.Errorf("ParseMessage(%q) = %v, want ErrMalformed", bad, err)
		}
	}
	if _, err := push.ParseEnvelope([]byte("<xml><ToUserName>gh</ToUserName></xml>")); !errors.Is(err, push.ErrMalformed) {
		t.Errorf("ParseEnvelope without Encrypt = %v", err)
	}
}

// FuzzDecryptPush holds Decrypt to "an error, never a panic" for any
// input, and to returning a message only for a payload that re-encrypts
// to something that decrypts to the same message.
func FuzzDecryptPush(f *testing.F) {
	c, _ := push.NewCipher(sampleAESKey, sampleAppID)
	good, _ := c.Encrypt([]byte("<xml><A>1</A></xml>"), nil)
	for _, s := range []string{sampleEncrypt, good, "", "AAAA", good[:len(good)-4], strings.Repeat("A", 44)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		msg, err := c.Decrypt(in)
		if err != nil {
			if !errors.Is(err, push.ErrDecrypt) && !errors.Is(err, push.ErrAppID) {
				t.Fatalf("Decrypt error %v is neither ErrDecrypt nor ErrAppID", err)
			}
			return
		}
		again, err := c.Encrypt(msg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := c.Decrypt(again); err != nil || !bytes.Equal(back, msg) {
			t.Fatalf("round trip of a decrypted message: %q, %v", back, err)
		}
		_, _ = push.ParseMessage(msg)
	})
}
