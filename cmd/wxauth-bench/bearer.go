package main

import (
	"context"
	"io"
	"net/http"

	"github.com/wxauth/wxauth/bearer"
)

// bearerSetup puts the bare handler behind package bearer (the resource
// server's middleware: JWKS, verified-token cache, revocation push from
// wxauth) on a server of its own. cold turns the verified-token cache off,
// so every request pays the signature check.
func (s *stack) bearerSetup(tok *string, cold bool) func(context.Context) error {
	return func(ctx context.Context) error {
		if *tok == "" {
			tr, err := s.login(ctx, "alice")
			if err != nil {
				return err
			}
			*tok = tr.AccessToken
		}
		cfg := bearer.Config{Issuer: s.url, ServiceKey: serviceKey}
		if cold {
			cfg.CacheSize = -1
		}
		v, err := bearer.New(cfg)
		if err != nil {
			return err
		}
		if err := v.Start(ctx); err != nil {
			return err
		}
		url, stop, err := listen(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"u1","nickname":"Alice"}`)
		})))
		if err != nil {
			return err
		}
		if s.bearerStop != nil {
			s.bearerStop()
		}
		s.bearerURL = url
		s.bearerStop = func() { stop(); v.Close() }
		s.closers = append(s.closers, func() {
			if s.bearerStop != nil {
				s.bearerStop()
				s.bearerStop = nil
			}
		})
		return nil
	}
}
