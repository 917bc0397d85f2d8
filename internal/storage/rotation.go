package storage

import (
	"crypto/subtle"
	"time"
)

// DecideRotation is the one place where the refresh rules of docs/api.md
// "Sessions" are written; every [Sessions] backend applies it (or, where it
// cannot run Go, a faithful copy that the conformance suite holds to it).
//
// Given the stored session s (nil if absent) and a request, it returns the
// outcome and, for Rotated, the session as it must be stored:
//   - absent or expired session: Rejected;
//   - the live token (Gen and Hash match): Rotated; Gen+1, NextHash,
//     PrevHash = Hash, RotatedAt = LastUsedAt = Now, ExpiresAt slides;
//   - the token rotated just before (Gen-1, PrevHash matches) less than
//     Grace ago: GraceReplay, nothing changes;
//   - that token after the window, or any older generation: Reused, and the
//     caller revokes the session; the session returned has only its ID and
//     UserID, to say whose session ended (the audit trail);
//   - anything else (a newer generation, a hash that does not match the
//     live generation): Rejected.
//
// Hashes are compared in constant time.
func DecideRotation(s *Session, req RotateRequest) (Session, Outcome) {
	if s == nil || !s.Live(req.Now) {
		return Session{}, Rejected
	}
	switch {
	case req.Gen == s.Gen:
		if subtle.ConstantTimeCompare(req.Hash[:], s.Hash[:]) != 1 {
			return Session{}, Rejected
		}
		next := *s
		next.Gen = s.Gen + 1
		next.PrevHash = s.Hash
		next.Hash = req.NextHash
		next.RotatedAt = req.Now
		next.LastUsedAt = req.Now
		next.ExpiresAt = SlideExpiry(req.Now, req.IdleTTL, s.MaxExpiresAt)
		return next, Rotated
	case req.Gen+1 == s.Gen:
		if subtle.ConstantTimeCompare(req.Hash[:], s.PrevHash[:]) != 1 {
			return Session{}, Rejected
		}
		if req.Now.Before(s.RotatedAt.Add(req.Grace)) {
			return *s, GraceReplay
		}
		return Session{ID: s.ID, UserID: s.UserID}, Reused
	case req.Gen < s.Gen:
		return Session{ID: s.ID, UserID: s.UserID}, Reused
	default:
		return Session{}, Rejected
	}
}

// SlideExpiry is the idle expiry after a use at now: now+idle, capped by max.
func SlideExpiry(now time.Time, idle time.Duration, max time.Time) time.Time {
	e := now.Add(idle)
	if e.After(max) {
		return max
	}
	return e
}
