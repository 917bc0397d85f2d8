package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
)

type scenario struct {
	name      string
	setup     func(context.Context) error
	newClient func(i int) func(context.Context) error
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// serviceKey is the bench's own key for /v1/introspect.
const serviceKey = "wxauth-bench-service-key"

// users is how many sandbox users the login scenario spreads over: the
// sandbox, like WeChat, allows one user 100 logins a minute.
const users = 2000

func (s *stack) scenarios() []scenario {
	var meToken string
	return []scenario{
		{name: "bare", newClient: func(int) func(context.Context) error {
			return func(ctx context.Context) error { return s.call(ctx, "GET", s.bareURL+"/v1/me", "", "", nil) }
		}},
		{name: "me", setup: func(ctx context.Context) error {
			tr, err := s.login(ctx, "alice")
			meToken = tr.AccessToken
			return err
		}, newClient: func(int) func(context.Context) error {
			return func(ctx context.Context) error { return s.call(ctx, "GET", s.url+"/v1/me", "", meToken, nil) }
		}},
		{name: "bearer-repeat", setup: s.bearerSetup(&meToken, false), newClient: func(int) func(context.Context) error {
			return func(ctx context.Context) error { return s.call(ctx, "GET", s.bearerURL+"/v1/me", "", meToken, nil) }
		}},
		{name: "bearer-cold", setup: s.bearerSetup(&meToken, true), newClient: func(int) func(context.Context) error {
			return func(ctx context.Context) error { return s.call(ctx, "GET", s.bearerURL+"/v1/me", "", meToken, nil) }
		}},
		{name: "introspect", setup: func(ctx context.Context) error {
			if meToken != "" {
				return nil
			}
			tr, err := s.login(ctx, "alice")
			meToken = tr.AccessToken
			return err
		}, newClient: func(int) func(context.Context) error {
			return func(ctx context.Context) error {
				return s.call(ctx, "POST", s.url+"/v1/introspect", `{"token":"`+meToken+`"}`, serviceKey, nil)
			}
		}},
		{name: "refresh", newClient: func(i int) func(context.Context) error {
			rt := ""
			return func(ctx context.Context) error {
				if rt == "" {
					tr, err := s.login(ctx, "alice")
					if err != nil {
						return err
					}
					rt = tr.RefreshToken
				}
				var tr tokenResponse
				err := s.call(ctx, "POST", s.url+"/v1/token/refresh", `{"refresh_token":"`+rt+`"}`, "", &tr)
				if err == nil {
					rt = tr.RefreshToken
				}
				return err
			}
		}},
		{name: "login", setup: func(ctx context.Context) error {
			for u := range users {
				name := fmt.Sprintf("bench%04d", u)
				if _, err := s.sb.AddUser(name); err != nil {
					return err
				}
				if _, err := s.login(ctx, name); err != nil {
					return err
				}
			}
			return nil
		}, newClient: func(i int) func(context.Context) error {
			n := i
			return func(ctx context.Context) error {
				n = (n + 64) % users
				_, err := s.login(ctx, fmt.Sprintf("bench%04d", n))
				return err
			}
		}},
	}
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// login is a mini program login of a sandbox user: the code from the
// sandbox in process, the login over HTTP.
func (s *stack) login(ctx context.Context, user string) (tokenResponse, error) {
	code, err := s.sb.IssueCode(s.appID, user)
	if err != nil {
		return tokenResponse{}, err
	}
	var tr tokenResponse
	err = s.call(ctx, "POST", s.url+"/v1/miniprogram/login", `{"app":"mp","code":"`+code+`"}`, "", &tr)
	return tr, err
}

// call makes one request and fails on any status but 200.
func (s *stack) call(ctx context.Context, method, url, body, bearer string, out any) error {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &statusError{Status: resp.StatusCode, What: method + " " + url, Body: b}
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// statusError is an answer other than 200.
type statusError struct {
	Status int
	What   string
	Body   []byte
}

func (e *statusError) Error() string { return fmt.Sprintf("%s: %d %s", e.What, e.Status, e.Body) }
