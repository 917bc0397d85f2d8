package memstore_test

import (
	"testing"

	"github.com/wxauth/wxauth/internal/storage"
	"github.com/wxauth/wxauth/internal/storage/memstore"
	"github.com/wxauth/wxauth/internal/storage/storagetest"
)

func TestSigningKeys(t *testing.T) {
	storagetest.RunSigningKeys(t, func(*testing.T) storage.SigningKeys { return memstore.New() })
}
