package seal

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/strongbox/strongbox/internal/physical/inmem"
	"github.com/strongbox/strongbox/internal/shamir"
)

func TestStagedRekey(t *testing.T) {
	ctx := context.Background()
	store := inmem.New()
	s := NewShamir(store)
	root := make([]byte, 32)
	root[0] = 7
	old, err := s.Initialize(ctx, &Config{SecretShares: 3, SecretThreshold: 2}, root)
	if err != nil {
		t.Fatal(err)
	}
	staged, fresh, err := s.Stage(&Config{SecretShares: 5, SecretThreshold: 3}, root)
	if err != nil {
		t.Fatal(err)
	}
	// Staging writes nothing: the old shares still unseal.
	if got, err := s.RootKey(ctx, old[:2]); err != nil || got[0] != 7 {
		t.Fatalf("old shares before commit: %v %v", got, err)
	}
	if got, err := staged.RootKey(fresh[1:4]); err != nil || got[0] != 7 {
		t.Fatalf("staged shares: %v %v", got, err)
	}
	if err := staged.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RootKey(ctx, old[:2]); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("old shares after commit: %v", err)
	}
	if got, err := s.RootKey(ctx, fresh[:3]); err != nil || got[0] != 7 {
		t.Fatalf("new shares after commit: %v %v", got, err)
	}
	conf, err := LoadConfig(ctx, store)
	if err != nil || conf.SecretShares != 5 || conf.SecretThreshold != 3 || conf.Type != "shamir" {
		t.Fatalf("config after commit: %+v %v", conf, err)
	}
	if _, _, err := s.Stage(&Config{SecretShares: 2, SecretThreshold: 3}, root); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("bad config staged: %v", err)
	}
}

// TestUnsealKeyCopiesWiped: the unseal key made at init or rekey exists
// only as its shares once they are cut, and the key combined from shares
// to unwrap the root key is wiped before the root key is returned.
func TestUnsealKeyCopiesWiped(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	orig := bytes.Clone(key)
	shares, err := splitUnsealKey(key, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(key, make([]byte, 32)) {
		t.Fatal("the unseal key was not wiped after splitting")
	}
	rootKey := bytes.Repeat([]byte{9}, 32)
	wrapped, err := WrapWithUnsealKey(orig, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	var combined []byte
	got, err := unwrapRootKey(shares[:3], wrapped, func(s [][]byte) ([]byte, error) {
		k, err := shamir.Combine(s)
		combined = k
		return k, err
	})
	if err != nil || !bytes.Equal(got, rootKey) {
		t.Fatalf("unwrap: %x, %v", got, err)
	}
	if !bytes.Equal(combined, make([]byte, 32)) {
		t.Fatal("the combined unseal key was not wiped after unwrapping")
	}
	// One share is the key itself: it is handed out, not wiped.
	one := bytes.Clone(orig)
	s1, err := splitUnsealKey(one, 1, 1)
	if err != nil || !bytes.Equal(s1[0], orig) {
		t.Fatalf("one share: %x, %v", s1, err)
	}
}
