package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/client"
)

// A program logs in once and then calls its own API through the client's
// transport: the token is added, refreshed before it expires, and a request
// the server answers token_expired is retried once.
func ExampleClient_Transport() {
	ctx := context.Background()
	c, err := client.New(client.Config{
		BaseURL:    "https://auth.example.com",
		APIOrigins: []string{"https://api.example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	var code string // from wx.login() in the mini program
	if _, err := c.LoginMiniProgram(ctx, "mp", code, ""); err != nil {
		log.Fatal(err)
	}

	hc := &http.Client{Transport: c.Transport(nil)}
	resp, err := hc.Get("https://api.example.com/orders") // carries the token
	if errors.Is(err, client.ErrLoginRequired) {
		// The session ended (logout elsewhere, revoked): log in again.
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	// A request to any other origin goes without the token.
}

// Tokens from a login made elsewhere (a browser, POST /v1/bind) are handed
// to the client, which then keeps them fresh.
func ExampleClient_TokenSource() {
	ctx := context.Background()
	c, err := client.New(client.Config{BaseURL: "https://auth.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	var tr api.TokenResponse // decoded from the login's answer
	if err := c.SetToken(ctx, tr); err != nil {
		log.Fatal(err)
	}
	tok, err := c.TokenSource().Token(ctx) // refreshed if near expiry
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Authorization: Bearer " + tok.AccessToken)
}

// errors.As finds the contract's error code and status.
func ExampleClient_Me() {
	c, err := client.New(client.Config{BaseURL: "https://auth.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	me, err := c.Me(context.Background())
	var e *api.Error
	switch {
	case errors.Is(err, client.ErrLoginRequired):
		fmt.Println("log in first")
	case errors.As(err, &e) && e.Code == api.CodeUnavailable:
		fmt.Println("wxauth is unavailable; retry later")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println("hello,", me.Nickname)
	}
}

// fileStore keeps the tokens in a file, so that a command-line tool stays
// logged in between runs.
type fileStore string

func (f fileStore) Load(context.Context) (client.Token, error) {
	var t client.Token
	b, err := os.ReadFile(string(f))
	if errors.Is(err, os.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return t, err
	}
	return t, json.Unmarshal(b, &t)
}

func (f fileStore) Save(_ context.Context, t client.Token) error {
	if t == (client.Token{}) {
		err := os.Remove(string(f))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return os.WriteFile(string(f), b, 0o600) // a refresh token is a secret
}

// A TokenStore keeps the session across restarts.
func ExampleTokenStore() {
	c, err := client.New(client.Config{
		BaseURL: "https://auth.example.com",
		Store:   fileStore("/home/me/.config/mytool/token.json"),
	})
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.TokenSource().Token(context.Background())
	fmt.Println(errors.Is(err, client.ErrLoginRequired)) // true until someone logs in
}
