package memstore_test

import (
	"testing"

	"github.com/wxauth/wxauth/storage"
	"github.com/wxauth/wxauth/storage/memstore"
	"github.com/wxauth/wxauth/storage/storagetest"
)

func TestUsers(t *testing.T) {
	storagetest.RunUsers(t, func(*testing.T) storage.Users { return memstore.New() })
}

func TestSessions(t *testing.T) {
	storagetest.RunSessions(t, func(*testing.T) storage.Sessions { return memstore.New() })
}
