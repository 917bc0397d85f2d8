package push

import (
	"bytes"
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"strings"
)

var cryptoRand = rand.Reader

// Envelope is the body of a safe-mode push: the account and the
// encrypted message (compatibility mode adds the plaintext fields, which
// are ignored).
type Envelope struct {
	ToUserName string `xml:"ToUserName"`
	Encrypt    string `xml:"Encrypt"`
}

// ParseEnvelope reads a safe-mode body; an envelope without Encrypt is
// [ErrMalformed].
func ParseEnvelope(body []byte) (Envelope, error) {
	var e Envelope
	if err := parseXML(body, &e); err != nil {
		return Envelope{}, err
	}
	if e.Encrypt == "" {
		return Envelope{}, fmt.Errorf("%w: no Encrypt element", ErrMalformed)
	}
	return e, nil
}

// Event types of [Message.Event] that a follow-to-login cares about.
const (
	EventSubscribe   = "subscribe"   // followed; EventKey qrscene_<scene> if by a parametric QR code
	EventUnsubscribe = "unsubscribe" // unfollowed
	EventScan        = "SCAN"        // a follower scanned a parametric QR code; EventKey <scene>
)

// SubscribeScenePrefix starts the EventKey of a subscribe through a
// parametric QR code.
const SubscribeScenePrefix = "qrscene_"

// Message is a push from WeChat: a user's message or an event. Fields a
// message type does not have are empty.
type Message struct {
	// ToUserName is the account's original id (gh_…).
	ToUserName string `xml:"ToUserName"`
	// FromUserName is the user's openid in the account.
	FromUserName string `xml:"FromUserName"`
	// CreateTime is when WeChat made the message, in unix seconds; with
	// FromUserName it names an event for deduplication (WeChat's advice).
	CreateTime int64 `xml:"CreateTime"`
	// MsgType is "event" for events, else text, image, ….
	MsgType string `xml:"MsgType"`
	// MsgID names a user's message (not events) for deduplication.
	MsgID int64 `xml:"MsgId"`
	// Event is the event type: subscribe, unsubscribe, SCAN, ….
	Event string `xml:"Event"`
	// EventKey is qrscene_<scene> for a subscribe by QR code, <scene> for
	// SCAN.
	EventKey string `xml:"EventKey"`
	// Ticket is the QR code's ticket, for events of a parametric QR code.
	Ticket string `xml:"Ticket"`
}

// ParseMessage reads a message or event. A body that is not one <xml>
// element, or has no FromUserName or MsgType, is [ErrMalformed].
func ParseMessage(body []byte) (Message, error) {
	var m Message
	if err := parseXML(body, &m); err != nil {
		return Message{}, err
	}
	if m.FromUserName == "" || m.MsgType == "" {
		return Message{}, fmt.Errorf("%w: no FromUserName or MsgType", ErrMalformed)
	}
	return m, nil
}

// Scene reports the scene of a parametric QR code the user scanned: the
// EventKey without "qrscene_" for a subscribe (a follow by that code),
// the EventKey for a SCAN (a follower scanning it). Other messages, and
// a subscribe not made through a QR code, have none.
func (m Message) Scene() (string, bool) {
	if m.MsgType != "event" {
		return "", false
	}
	switch m.Event {
	case EventSubscribe:
		scene, ok := strings.CutPrefix(m.EventKey, SubscribeScenePrefix)
		return scene, ok && scene != ""
	case EventScan:
		return m.EventKey, m.EventKey != ""
	}
	return "", false
}

// parseXML decodes body, which must be one element named xml.
func parseXML(body []byte, v any) error {
	dec := xml.NewDecoder(bytes.NewReader(body))
	// WeChat sends UTF-8; any other declared charset is refused rather
	// than guessed.
	dec.CharsetReader = nil
	var root struct{ XMLName xml.Name }
	// The decoder's messages quote the body; they stay out of the error.
	if err := dec.Decode(&root); err != nil {
		return fmt.Errorf("%w: not XML", ErrMalformed)
	}
	if root.XMLName.Local != "xml" {
		return fmt.Errorf("%w: the root element is not xml", ErrMalformed)
	}
	if err := xml.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: a field has the wrong type", ErrMalformed)
	}
	return nil
}
