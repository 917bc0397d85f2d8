package seal

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	b, err := New(bytes.Repeat([]byte("k"), 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := New(bytes.Repeat([]byte("x"), 32), nil)
	pt := []byte("tiihtNczf5v6AKRyjwEUhQ==")
	s1, err := b.Seal(pt, "wx1|o1")
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := b.Seal(pt, "wx1|o1")
	if bytes.Equal(s1, s2) {
		t.Error("two seals of the same value are equal; want a fresh nonce each")
	}
	if bytes.Contains(s1, pt) {
		t.Error("sealed value contains the plaintext")
	}
	got, err := b.Open(s1, "wx1|o1")
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Open = %q, %v; want %q", got, err, pt)
	}
	flipped := append([]byte(nil), s1...)
	flipped[len(flipped)-1] ^= 1
	for name, open := range map[string]func() ([]byte, error){
		"other context": func() ([]byte, error) { return b.Open(s1, "wx1|o2") },
		"other secret":  func() ([]byte, error) { return other.Open(s1, "wx1|o1") },
		"flipped":       func() ([]byte, error) { return b.Open(flipped, "wx1|o1") },
		"short":         func() ([]byte, error) { return b.Open(s1[:5], "wx1|o1") },
		"empty":         func() ([]byte, error) { return b.Open(nil, "wx1|o1") },
	} {
		if _, err := open(); !errors.Is(err, ErrOpen) {
			t.Errorf("Open(%s) = %v, want ErrOpen", name, err)
		}
	}
	if _, err := New([]byte("short"), nil); err == nil {
		t.Error("New(short secret) succeeded")
	}
}
