package memstore_test

import (
	"testing"

	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/storage/memstore"
	"github.com/wxauth/wxauth/internal/storage/storagetest"
	"github.com/wxauth/wxauth/wechat"
)

func TestUsers(t *testing.T) {
	storagetest.RunUsers(t, func(*testing.T) storage.Users { return memstore.New() })
}

func TestUserAdmin(t *testing.T) {
	storagetest.RunUserAdmin(t, func(*testing.T) storagetest.UserStore { return memstore.New() })
}

func TestSessions(t *testing.T) {
	storagetest.RunSessions(t, func(*testing.T) storage.Sessions { return memstore.New() })
}

func TestOneTime(t *testing.T) {
	storagetest.RunOneTime(t, func(*testing.T) storage.OneTime { return memstore.New() })
}

func TestLimiter(t *testing.T) {
	storagetest.RunLimiter(t, func(*testing.T) storage.Limiter { return memstore.New() })
}

func TestRevocations(t *testing.T) {
	storagetest.RunRevocations(t, func(*testing.T) storage.Revocations { return memstore.New() })
}

func TestTokenCache(t *testing.T) {
	storagetest.RunTokenCache(t, func(*testing.T) wechat.TokenCache { return memstore.New() })
}

func TestSignals(t *testing.T) {
	storagetest.RunSignals(t, func(*testing.T) (storage.Signals, storage.Signals) {
		s := memstore.New()
		return s, s
	})
}
