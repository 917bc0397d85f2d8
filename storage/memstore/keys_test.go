package memstore_test

import (
	"testing"

	"github.com/wxauth/wxauth/storage"
	"github.com/wxauth/wxauth/storage/memstore"
	"github.com/wxauth/wxauth/storage/storagetest"
)

func TestSigningKeys(t *testing.T) {
	storagetest.RunSigningKeys(t, func(*testing.T) storage.SigningKeys { return memstore.New() })
}
