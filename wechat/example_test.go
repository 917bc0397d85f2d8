package wechat_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

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
