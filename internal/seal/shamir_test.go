package seal

import (
	"context"
	"errors"
	"testing"

	"github.com/strongbox/strongbox/internal/physical/inmem"
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
