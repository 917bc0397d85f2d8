package server

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/audit"
	"github.com/wxauth/wxauth/internal/storage"
)

// Pages of GET /v1/admin/audit.
const (
	auditDefaultLimit = 50
	auditMaxLimit     = 500
)

// auditCursorPrefix versions the cursor, which clients must treat as
// opaque: the id of the last event of the page before.
const auditCursorPrefix = "a1."

func auditCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(auditCursorPrefix + strconv.FormatInt(id, 10)))
}

func parseAuditCursor(c string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), auditCursorPrefix) {
		return 0, false
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(string(b), auditCursorPrefix), 10, 64)
	return id, err == nil && id > 0
}

// auditQuery reads the query of GET /v1/admin/audit; its errors are the
// client's 400s.
func auditQuery(r *http.Request) (storage.AuditQuery, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return storage.AuditQuery{}, errInvalidRequest("the query string does not parse")
	}
	for k, vals := range v {
		switch k {
		case "user", "type", "since", "cursor", "limit":
			if len(vals) > 1 {
				return storage.AuditQuery{}, errInvalidRequest(`"` + k + `" is given more than once`)
			}
		default:
			return storage.AuditQuery{}, errInvalidRequest(`unknown parameter "` + k + `" (user, type, since, cursor, limit)`)
		}
	}
	q := storage.AuditQuery{UserID: v.Get("user"), Type: v.Get("type"), Limit: auditDefaultLimit}
	if len(q.UserID) > 128 {
		return q, errInvalidRequest(`"user" is longer than any user id`)
	}
	if len(q.Type) > 64 || strings.Trim(q.Type, "abcdefghijklmnopqrstuvwxyz_") != "" {
		return q, errInvalidRequest(`"type" is an event type: lower-case letters and _ (docs/operations.md "Audit trail")`)
	}
	if s := v.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return q, errInvalidRequest(`"since" must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z`)
		}
		q.Since = t
	}
	if c := v.Get("cursor"); c != "" {
		id, ok := parseAuditCursor(c)
		if !ok {
			return q, errInvalidRequest(`"cursor" is not one this server gave`)
		}
		q.Before = id
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > auditMaxLimit {
			return q, errInvalidRequest(`"limit" must be a number from 1 to ` + strconv.Itoa(auditMaxLimit))
		}
		q.Limit = n
	}
	return q, nil
}

// adminAudit is GET /v1/admin/audit (docs/api.md "Audit trail"): the
// audit events, newest first, a page at a time. It reads one more event
// than the page holds, to know whether another page follows.
func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request) error {
	q, err := auditQuery(r)
	if err != nil {
		return err
	}
	page := api.AuditPage{Events: []api.AuditEvent{}}
	if s.cfg.AuditLog != nil {
		limit := q.Limit
		q.Limit++
		events, err := s.cfg.AuditLog.AuditEvents(r.Context(), q)
		if err != nil {
			return err
		}
		if len(events) > limit {
			events = events[:limit]
			page.NextCursor = auditCursor(events[limit-1].ID)
		}
		for _, e := range events {
			page.Events = append(page.Events, audit.API(e))
		}
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}
