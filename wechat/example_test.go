package wechat_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	"github.com/wxauth/wxauth/wechat"
)

func ExampleClient_Code2Session() {
	// A stand-in for WeChat (or wxauth's sandbox); a real program leaves
	// APIBase empty.
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if r.URL.Query().Get("js_code") == "used" {
			io.WriteString(w, `{"errcode":40163,"errmsg":"code been used, rid: 6437cc6f-48613c7c-0bdbbd0d"}`)
			return
		}
		io.WriteString(w, `{"openid":"oGZUI0egBJY1zhBYw2KhdUfwVJJE","session_key":"tiihtNczf5v6AKRyjwEUhQ=="}`)
	}))
	defer fake.Close()

	c, err := wechat.New(wechat.Config{APIBase: fake.URL})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	s, err := c.Code2Session(ctx, "wx0123456789abcdef", "app-secret", "0712cDoV0cfty22AeloV0daMoV02cDog")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.OpenID)
	fmt.Println(s) // the session_key is redacted

	// A code works once; a second exchange fails and must not be retried.
	_, err = c.Code2Session(ctx, "wx0123456789abcdef", "app-secret", "used")
	switch {
	case errors.Is(err, wechat.ErrInvalidCode):
		fmt.Println("ask the mini program for a new code")
	case wechat.Temporary(err):
		fmt.Println("WeChat unavailable; try again later with a new code")
	}
	// Output:
	// oGZUI0egBJY1zhBYw2KhdUfwVJJE
	// {OpenID:oGZUI0egBJY1zhBYw2KhdUfwVJJE UnionID: SessionKey:[redacted]}
	// ask the mini program for a new code
}

func ExampleTokenManager_Do() {
	// A stand-in for WeChat: it issues stable tokens, and its checksession
	// refuses the first one, as if it had been retired meanwhile.
	var issued atomic.Int32
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		switch r.URL.Path {
		case "/cgi-bin/stable_token":
			fmt.Fprintf(w, `{"access_token":"TOKEN-%d","expires_in":7200}`, issued.Add(1))
		case "/wxa/checksession":
			if r.URL.Query().Get("access_token") == "TOKEN-1" {
				io.WriteString(w, `{"errcode":40001,"errmsg":"invalid credential, access_token is invalid or not latest"}`)
				return
			}
			io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
		}
	}))
	defer fake.Close()

	c, err := wechat.New(wechat.Config{APIBase: fake.URL})
	if err != nil {
		log.Fatal(err)
	}
	secrets := map[string]string{"wx0123456789abcdef": "app-secret"}
	tm, err := wechat.NewTokenManager(wechat.TokenManagerConfig{
		Client: c,
		// One process: tokens in memory. Several: a shared store (Redis).
		Cache: wechat.NewMemoryTokenCache(),
		Secrets: func(appID string) (string, bool) {
			s, ok := secrets[appID]
			return s, ok
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// Do passes a token to the call; on 40001/42001 it drops that token
	// and calls once more with a fresh one.
	var used []string
	err = tm.Do(ctx, "wx0123456789abcdef", func(token string) error {
		used = append(used, token)
		return c.CheckSessionKey(ctx, token, "oGZUI0egBJY1zhBYw2KhdUfwVJJE", "tiihtNczf5v6AKRyjwEUhQ==")
	})
	switch {
	case errors.Is(err, wechat.ErrSessionKeyStale):
		fmt.Println("session_key stale: log in again")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println("session_key current; tokens used:", used)
	}
	// Output:
	// session_key current; tokens used: [TOKEN-1 TOKEN-2]
}
