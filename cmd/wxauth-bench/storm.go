package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/client"
	"github.com/wxauth/wxauth/internal/config"
	"github.com/wxauth/wxauth/internal/instance"
)

// storm is the correctness pass: sessions whose refresh tokens are
// refreshed by several clients at once, split across two instances on the
// same stores, round after round. Every answer must be a token response or
// a contract error — and in fact all must succeed, with one successor per
// round — so it reports lost sessions, false 401s and 5xx, all of which
// must be 0.
func (s *stack) storm(ctx context.Context, cfg *config.Config, opt instance.Options, sessions, width, rounds int, out io.Writer) error {
	second, err := instance.New(ctx, cfg, opt)
	if err != nil {
		return fmt.Errorf("second instance: %w", err)
	}
	defer second.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: second.Handler, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	urls := []string{s.url, "http://" + ln.Addr().String()}

	var lost, false401, fiveXX, forks, ok int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Go(func() {
			tr, err := s.login(ctx, fmt.Sprintf("bench%04d", i%users))
			if err != nil {
				mu.Lock()
				lost++
				mu.Unlock()
				return
			}
			rt := tr.RefreshToken
			for range rounds {
				answers := make([]string, width)
				statuses := make([]int, width)
				var rw sync.WaitGroup
				for j := range width {
					rw.Go(func() {
						var tr tokenResponse
						err := s.call(ctx, "POST", urls[j%2]+"/v1/token/refresh", `{"refresh_token":"`+rt+`"}`, "", &tr)
						answers[j] = tr.RefreshToken
						statuses[j] = statusOf(err)
					})
				}
				rw.Wait()
				mu.Lock()
				next := ""
				for j := range width {
					switch st := statuses[j]; {
					case st == 200:
						ok++
						if next == "" {
							next = answers[j]
						} else if answers[j] != next {
							forks++
						}
					case st == 401:
						false401++
					case st >= 500:
						fiveXX++
					}
				}
				mu.Unlock()
				if next == "" {
					mu.Lock()
					lost++
					mu.Unlock()
					return
				}
				rt = next
			}
			// The session must still be usable through the Go client.
			c, err := client.New(client.Config{BaseURL: urls[i%2]})
			if err == nil {
				err = c.SetToken(ctx, toAPI(tr, rt))
			}
			if err == nil {
				_, err = c.Refresh(ctx)
			}
			if err != nil {
				mu.Lock()
				lost++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	fmt.Fprintf(out, "\nrefresh storm across two instances: %d sessions × %d rounds × %d concurrent refreshes of one token\n", sessions, rounds, width)
	fmt.Fprintf(out, "  successes %d, forked chains %d, lost sessions %d, false 401s %d, 5xx %d\n", ok, forks, lost, false401, fiveXX)
	if forks+lost+false401+fiveXX > 0 {
		return fmt.Errorf("the storm broke the refresh rules")
	}
	return nil
}

// statusOf is the HTTP status of a call's outcome: 200 for none, 0 for a
// transport failure.
func statusOf(err error) int {
	var se *statusError
	switch {
	case err == nil:
		return 200
	case errors.As(err, &se):
		return se.Status
	}
	return 0
}

// toAPI hands a storm's session to the Go client.
func toAPI(tr tokenResponse, refreshToken string) api.TokenResponse {
	return api.TokenResponse{AccessToken: tr.AccessToken, TokenType: "Bearer", ExpiresIn: 7200,
		RefreshToken: refreshToken, RefreshExpiresIn: 7 * 24 * 3600}
}
