package memstore

import (
	"sync"

	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/wechat"
)

// Store is an in-memory [storage.Users] and [storage.Sessions]. The zero
// value is not usable; call [New]. A Store is safe for concurrent use.
type Store struct {
	// Users and sessions have their own locks: a refresh never waits for a
	// login.
	umu        sync.Mutex
	users      map[string]*userRec
	identities map[identityKey]*storage.Identity
	unions     map[string]string // union id → user id
	phones     map[string]string // phone → user id

	smu          sync.RWMutex
	sessions     map[string]*sessionRec
	userSessions map[string][]*sessionRec
	// latest is the latest Now (Unix ns) a session write carried; the sweep
	// deletes what expired before it.
	latest int64
	// writesSinceSweep counts session writes since the last sweep.
	writesSinceSweep int

	keys signingKeys

	oneTime     oneTimeItems
	counters    windowCounters
	appTokens   // wechat.TokenCache, embedded: AppToken, SetAppToken, DropAppToken, LockAppToken
	revocations revocations
	signals     signals
}

// New returns an empty Store.
func New() *Store {
	return &Store{
		users:        make(map[string]*userRec),
		identities:   make(map[identityKey]*storage.Identity),
		unions:       make(map[string]string),
		phones:       make(map[string]string),
		sessions:     make(map[string]*sessionRec),
		userSessions: make(map[string][]*sessionRec),
		appTokens:    wechat.NewMemoryTokenCache(),
	}
}
