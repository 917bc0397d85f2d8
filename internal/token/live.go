package token

import (
	"crypto/subtle"

	"github.com/wxauth/wxauth/internal/storage"
)

// RefreshIsLive reports whether refreshToken is sess's live refresh token,
// its current generation (hashes compared in constant time): what an
// introspection answers "active" for. A rotated one, even within the
// grace window, is not: it can only be replayed, not used afresh.
func (s *Service) RefreshIsLive(refreshToken string, sess storage.Session) bool {
	rt, err := s.rk.parse(refreshToken)
	if err != nil || rt.sessionID() != sess.ID {
		return false
	}
	h := rt.hash()
	return subtle.ConstantTimeCompare(h[:], sess.Hash[:]) == 1
}
