package storagetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/wxauth/wxauth/internal/storage"
)

// RunAuditLog runs the [storage.AuditLog] conformance suite. newStore must
// return a fresh, empty store for each subtest and clean it up with
// t.Cleanup.
func RunAuditLog(t *testing.T, newStore func(t *testing.T) storage.AuditLog) {
	tests := []struct {
		name string
		run  func(t *testing.T, s storage.AuditLog)
	}{
		{"Empty", testAuditEmpty},
		{"Append/NewestFirst", testAuditNewestFirst},
		{"Append/AllOrNone", testAuditAllOrNone},
		{"Filters", testAuditFilters},
		{"Pages", testAuditPages},
		{"Purge", testAuditPurge},
		{"Race/Append", testAuditRaceAppend},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore(t)) })
	}
}

// ignoreAuditID compares events without the IDs the store gives.
var ignoreAuditID = cmpopts.IgnoreFields(storage.AuditEvent{}, "ID")

func auditEvent(i int, typ, user string) storage.AuditEvent {
	return storage.AuditEvent{
		Type: typ, At: t0.Add(time.Duration(i) * time.Minute), UserID: user,
		SessionID: fmt.Sprintf("s%d", i), App: "mp", Actor: "user", IP: "203.0.113.7", Detail: fmt.Sprintf("event %d", i),
	}
}

func mustAppendAudit(t *testing.T, s storage.AuditLog, events ...storage.AuditEvent) {
	t.Helper()
	if err := s.AppendAudit(t.Context(), events); err != nil {
		t.Fatalf("AppendAudit(%d events) = %v, want nil", len(events), err)
	}
}

func auditEvents(t *testing.T, s storage.AuditLog, q storage.AuditQuery) []storage.AuditEvent {
	t.Helper()
	got, err := s.AuditEvents(t.Context(), q)
	if err != nil {
		t.Fatalf("AuditEvents(%+v) = %v, want nil", q, err)
	}
	return got
}

// reversed is events newest first, as AuditEvents lists them.
func reversed(events []storage.AuditEvent) []storage.AuditEvent {
	out := make([]storage.AuditEvent, len(events))
	for i, e := range events {
		out[len(events)-1-i] = e
	}
	return out
}

func testAuditEmpty(t *testing.T, s storage.AuditLog) {
	if got := auditEvents(t, s, storage.AuditQuery{Limit: 10}); len(got) != 0 {
		t.Errorf("AuditEvents() of an empty log = %+v, want none", got)
	}
	mustAppendAudit(t, s) // an empty batch is no error
	if n, err := s.PurgeAudit(t.Context(), t0.Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("PurgeAudit() of an empty log = %d, %v; want 0, nil", n, err)
	}
}

func testAuditNewestFirst(t *testing.T, s storage.AuditLog) {
	first := []storage.AuditEvent{auditEvent(0, "login", "u1"), auditEvent(1, "logout", "u1")}
	first[1].OtherUserID = "u2"
	second := []storage.AuditEvent{auditEvent(2, "user_created", "u3")}
	// Out of time order on purpose: the order is the order of appends.
	second[0].At = t0.Add(-time.Hour)
	mustAppendAudit(t, s, first...)
	mustAppendAudit(t, s, second...)
	got := auditEvents(t, s, storage.AuditQuery{Limit: 10})
	want := reversed(append(first, second...))
	if diff := cmp.Diff(want, got, ignoreAuditID); diff != "" {
		t.Errorf("AuditEvents() mismatch (-want +got):\n%s", diff)
	}
	for i := 1; i < len(got); i++ {
		if got[i].ID >= got[i-1].ID {
			t.Errorf("AuditEvents()[%d].ID = %d after %d, want decreasing IDs", i, got[i].ID, got[i-1].ID)
		}
	}
}

func testAuditAllOrNone(t *testing.T, s storage.AuditLog) {
	bad := []storage.AuditEvent{auditEvent(0, "login", "u1"), auditEvent(1, "", "u1")}
	if err := s.AppendAudit(t.Context(), bad); err == nil {
		t.Errorf("AppendAudit(an event without a type) = nil, want an error")
	}
	if got := auditEvents(t, s, storage.AuditQuery{Limit: 10}); len(got) != 0 {
		t.Errorf("AuditEvents() after a failed batch = %+v, want none", got)
	}
	if _, err := s.AuditEvents(t.Context(), storage.AuditQuery{}); err == nil {
		t.Errorf("AuditEvents(Limit 0) = nil error, want one")
	}
}

func testAuditFilters(t *testing.T, s storage.AuditLog) {
	events := []storage.AuditEvent{
		auditEvent(0, "login", "u1"),
		auditEvent(1, "login", "u2"),
		auditEvent(2, "users_merged", "u3"),
		auditEvent(3, "logout", "u1"),
		auditEvent(4, "login", "u1"),
	}
	events[2].OtherUserID = "u1"
	mustAppendAudit(t, s, events...)
	pick := func(idx ...int) []storage.AuditEvent {
		var out []storage.AuditEvent
		for _, i := range idx {
			out = append(out, events[i])
		}
		return out
	}
	tests := []struct {
		name string
		q    storage.AuditQuery
		want []storage.AuditEvent
	}{
		{"all", storage.AuditQuery{Limit: 10}, pick(4, 3, 2, 1, 0)},
		{"limit", storage.AuditQuery{Limit: 2}, pick(4, 3)},
		{"user or other user", storage.AuditQuery{UserID: "u1", Limit: 10}, pick(4, 3, 2, 0)},
		{"user", storage.AuditQuery{UserID: "u2", Limit: 10}, pick(1)},
		{"unknown user", storage.AuditQuery{UserID: "u9", Limit: 10}, nil},
		{"type", storage.AuditQuery{Type: "login", Limit: 10}, pick(4, 1, 0)},
		{"since", storage.AuditQuery{Since: events[3].At, Limit: 10}, pick(4, 3)},
		{"since, a nanosecond after", storage.AuditQuery{Since: events[3].At.Add(1), Limit: 10}, pick(4)},
		{"user, type and since", storage.AuditQuery{UserID: "u1", Type: "login", Since: events[1].At, Limit: 10}, pick(4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := auditEvents(t, s, tt.q)
			if diff := cmp.Diff(tt.want, got, ignoreAuditID, cmpOpts); diff != "" {
				t.Errorf("AuditEvents(%+v) mismatch (-want +got):\n%s", tt.q, diff)
			}
		})
	}
}

// testAuditPages: following Before from page to page lists every event
// once, while more are appended.
func testAuditPages(t *testing.T, s storage.AuditLog) {
	var all []storage.AuditEvent
	for i := range 25 {
		all = append(all, auditEvent(i, "login", "u1"))
	}
	mustAppendAudit(t, s, all...)
	var got []storage.AuditEvent
	q := storage.AuditQuery{UserID: "u1", Limit: 7}
	for page := 0; ; page++ {
		if page > 10 {
			t.Fatal("more than 10 pages of 7 for 25 events")
		}
		events := auditEvents(t, s, q)
		got = append(got, events...)
		if len(events) < q.Limit {
			break
		}
		q.Before = events[len(events)-1].ID
		// Newer events arrive meanwhile: they are not on the later pages.
		mustAppendAudit(t, s, auditEvent(100+page, "login", "u1"))
	}
	if diff := cmp.Diff(reversed(all), got, ignoreAuditID); diff != "" {
		t.Errorf("pages mismatch (-want +got):\n%s", diff)
	}
}

func testAuditPurge(t *testing.T, s storage.AuditLog) {
	var events []storage.AuditEvent
	for i := range 10 {
		events = append(events, auditEvent(i, "login", "u1"))
	}
	mustAppendAudit(t, s, events...)
	n, err := s.PurgeAudit(t.Context(), events[4].At)
	if err != nil || n != 4 {
		t.Fatalf("PurgeAudit(before event 4) = %d, %v; want 4, nil", n, err)
	}
	if n, err := s.PurgeAudit(t.Context(), events[4].At); err != nil || n != 0 {
		t.Errorf("PurgeAudit(before event 4) again = %d, %v; want 0, nil", n, err)
	}
	got := auditEvents(t, s, storage.AuditQuery{Limit: 20})
	if diff := cmp.Diff(reversed(events[4:]), got, ignoreAuditID); diff != "" {
		t.Errorf("AuditEvents() after purge mismatch (-want +got):\n%s", diff)
	}
	// New events never reuse a purged id.
	mustAppendAudit(t, s, auditEvent(20, "login", "u1"))
	if got2 := auditEvents(t, s, storage.AuditQuery{Limit: 1}); len(got2) != 1 || got2[0].ID <= got[0].ID {
		t.Errorf("AuditEvents() after another append = %+v, want an ID above %d", got2, got[0].ID)
	}
}

func testAuditRaceAppend(t *testing.T, s storage.AuditLog) {
	ctx := context.WithoutCancel(t.Context())
	errs := make([]error, raceN)
	start(raceN, func(i int) {
		errs[i] = s.AppendAudit(ctx, []storage.AuditEvent{auditEvent(i, "login", fmt.Sprintf("u%d", i)), auditEvent(i, "logout", fmt.Sprintf("u%d", i))})
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("AppendAudit() #%d = %v, want nil", i, err)
		}
	}
	got := auditEvents(t, s, storage.AuditQuery{Limit: 4 * raceN})
	if len(got) != 2*raceN {
		t.Fatalf("AuditEvents() = %d events, want %d", len(got), 2*raceN)
	}
	ids := map[int64]bool{}
	login := map[string]int64{}
	for _, e := range got {
		if ids[e.ID] {
			t.Errorf("ID %d listed twice", e.ID)
		}
		ids[e.ID] = true
		if e.Type == "login" {
			login[e.UserID] = e.ID
		}
	}
	// A batch is numbered in its order (concurrent batches may interleave).
	for _, e := range got {
		if e.Type == "logout" && login[e.UserID] >= e.ID {
			t.Errorf("logout of %s has ID %d, its batch's login %d; want the login first", e.UserID, e.ID, login[e.UserID])
		}
	}
}
