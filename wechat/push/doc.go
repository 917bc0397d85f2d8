// Package push reads what WeChat pushes to an Official Account's own
// server (公众号 "服务器配置": messages and events, such as a user following
// the account by scanning a parametric QR code).
//
// It owns the three things every receiver rewrites, after WeChat's
// "消息加解密" scheme and its official WXBizMsgCrypt samples:
//
//   - signatures: sha1 of the sorted, concatenated token, timestamp and
//     nonce (plaintext mode, and the URL check with echostr), plus the
//     Encrypt element in safe mode (msg_signature); compared in constant
//     time ([Verify], [Sign]);
//   - safe-mode payloads: AES-256-CBC with the key decoded from the
//     43-character EncodingAESKey, IV = key[:16], PKCS#7 padding to 32
//     bytes, plaintext = 16 random bytes, a 4-byte big-endian length, the
//     message XML and the appid, which must be the account's ([Cipher]);
//   - the XML: the safe-mode envelope ([ParseEnvelope]) and the fields of
//     a message or event ([ParseMessage], [Message.Scene]).
//
// It is its own package, not part of package wechat, because it is the
// other direction: package wechat calls WeChat, this package is called by
// WeChat; it needs no HTTP client, no app token and no errcode table, and
// a program that only receives pushes should not carry them. What a push
// means (a login, a reply) and the HTTP handler (size limits, the
// timestamp window, duplicates) are left to the caller.
//
// The package imports nothing of wxauth's own. Its errors never quote the
// token, the key, the signature or the plaintext.
package push
