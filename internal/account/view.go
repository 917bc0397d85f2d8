package account

import (
	"github.com/wxauth/wxauth/api"
	"github.com/wxauth/wxauth/internal/storage"
)

// APIUser is u as the contract shows it to an operator (the admin API,
// `wxauth admin --json`) and to the user (GET /v1/me/export).
func APIUser(u storage.User) api.AdminUser {
	return api.AdminUser{ID: u.ID, Nickname: u.Nickname, AvatarURL: u.AvatarURL, Phone: u.Phone,
		InviterID: u.InviterID, Disabled: u.Disabled, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

// APIAccount is a user with its identities and live sessions, one shape
// for the admin API and the user's export. appName names an appid's
// configured app; where it has none (or appName is nil) the appid is shown.
func APIAccount(u storage.User, ids []storage.Identity, sessions []storage.Session, appName func(appID string) string) api.AdminAccount {
	out := api.AdminAccount{User: APIUser(u), Identities: make([]api.AdminIdentity, 0, len(ids)),
		Sessions: make([]api.AdminSession, 0, len(sessions))}
	for _, id := range ids {
		name := ""
		if appName != nil {
			name = appName(id.AppID)
		}
		if name == "" {
			name = id.AppID
		}
		out.Identities = append(out.Identities, api.AdminIdentity{App: name, AppID: id.AppID, OpenID: id.OpenID,
			UnionID: id.UnionID, CreatedAt: id.CreatedAt})
	}
	for _, ss := range sessions {
		out.Sessions = append(out.Sessions, api.AdminSession{ID: ss.ID, App: ss.App, CreatedAt: ss.CreatedAt,
			LastUsedAt: ss.LastUsedAt, ExpiresAt: ss.ExpiresAt, HasWeChatCredentials: len(ss.SessionKey) > 0})
	}
	return out
}
