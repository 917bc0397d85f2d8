package login

import (
	"context"
	"fmt"

	"github.com/wxauth/wxauth/internal/token"
)

// QRTaken is what [Service.TakeQR] found: the ticket's status and, when
// it was confirmed, the login it delivered.
type QRTaken struct {
	Status string
	// Result is set with QRConfirmed: the session the phone's confirm
	// opened (Tokens.Session; the pair's secrets are not kept) and its
	// user, or a BindTicket.
	Result Result
}

// TakeQR delivers a confirmed ticket's login to a server-side follower
// that holds the poll token (the OpenID Provider's sign-in): the same
// single delivery as FollowQR, so of two takes one gets the login and
// the other ErrInvalidQRTicket. Any other status comes back without a
// login; an expired ticket is ErrInvalidQRTicket or QRExpired as for
// FollowQR.
func (s *Service) TakeQR(ctx context.Context, ticket, pollToken string) (QRTaken, error) {
	st, err := s.followQR(ctx, ticket, pollToken, "", 0, true)
	if err != nil {
		return QRTaken{}, err
	}
	out := QRTaken{Status: st.Status}
	switch {
	case st.Status != QRConfirmed:
		return out, nil
	case st.BindTicket != "":
		out.Result.BindTicket = st.BindTicket
		return out, nil
	case st.Tokens == nil:
		return QRTaken{}, fmt.Errorf("take QR login: a confirmed ticket without a login")
	}
	sess, err := s.cfg.Sessions.Session(ctx, st.Tokens.SessionID, s.cfg.Now())
	if err != nil {
		return QRTaken{}, fmt.Errorf("take QR login: session: %w", err)
	}
	u, err := s.cfg.Users.User(ctx, sess.UserID)
	if err != nil {
		return QRTaken{}, fmt.Errorf("take QR login: user: %w", err)
	}
	out.Result = Result{Tokens: token.Pair{Session: sess}, User: u, App: sess.App, IsNew: st.Tokens.IsNewUser}
	return out, nil
}
