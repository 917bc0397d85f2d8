package login

import (
	"errors"
	"sync"
	"testing"
)

// WatchQR reports a confirmed ticket without delivering it; of many
// TakeQR at once exactly one gets the login, with the session the phone's
// confirm opened and its user, and the others ErrInvalidQRTicket.
func TestTakeQR(t *testing.T) {
	f, _ := newQRFixture(t)
	ctx := t.Context()
	tk := f.newTicket(t)
	if got, err := f.svc.TakeQR(ctx, tk.Ticket, tk.PollToken); err != nil || got.Status != QRWaiting || got.Result.User.ID != "" {
		t.Fatalf("TakeQR of a waiting ticket = %+v, %v", got, err)
	}
	if _, err := f.svc.TakeQR(ctx, tk.Ticket, "wrong"); !errors.Is(err, ErrQRPollToken) {
		t.Errorf("TakeQR with a wrong poll token = %v, want ErrQRPollToken", err)
	}
	who := f.mpUser(t, "o-take")
	if _, err := f.svc.ScanQR(ctx, tk.Ticket, who); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ConfirmQR(ctx, tk.Ticket, who); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if st, err := f.svc.WatchQR(ctx, tk.Ticket, tk.PollToken, "", 0); err != nil || st.Status != QRConfirmed || st.Tokens != nil {
			t.Fatalf("WatchQR = %+v, %v; want confirmed without the login", st, err)
		}
	}
	const n = 20
	var wg sync.WaitGroup
	results := make(chan QRTaken, n)
	for range n {
		wg.Go(func() {
			got, err := f.svc.TakeQR(ctx, tk.Ticket, tk.PollToken)
			switch {
			case err == nil:
				results <- got
			case !errors.Is(err, ErrInvalidQRTicket):
				t.Errorf("a losing TakeQR = %v, want ErrInvalidQRTicket", err)
			}
		})
	}
	wg.Wait()
	close(results)
	if len(results) != 1 {
		t.Fatalf("%d of %d takes got the login, want 1", len(results), n)
	}
	got := <-results
	if got.Status != QRConfirmed || got.Result.User.ID != who.UserID || got.Result.Tokens.Session.UserID != who.UserID ||
		got.Result.Tokens.Session.App != "mp" || got.Result.Tokens.Session.ID == "" {
		t.Errorf("TakeQR = %+v, want the session the confirm opened for %s", got, who.UserID)
	}
}
