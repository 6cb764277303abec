package seal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/strongbox/strongbox/internal/physical/inmem"
	"github.com/strongbox/strongbox/internal/shamir"
)

// A switch to Shamir wraps the root key under the old recovery key, whose
// shares then unseal; a switch to an auto seal keeps a recovery config.
func TestCommitSwitch(t *testing.T) {
	ctx := context.Background()
	root := bytes.Repeat([]byte{7}, 32)
	recovery := bytes.Repeat([]byte{9}, 32)
	store := inmem.New()
	if err := StoreRecoveryConfig(ctx, store, &Config{SecretShares: 3, SecretThreshold: 2}); err != nil {
		t.Fatal(err)
	}

	wrapped, err := WrapWithUnsealKey(recovery, root)
	if err != nil {
		t.Fatal(err)
	}
	if err := CommitSwitch(ctx, store, &Switch{Config: Config{Type: "shamir", SecretShares: 3, SecretThreshold: 2}, Wrapped: wrapped}); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRecoveryConfig(ctx, store); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("recovery config after a switch to Shamir: %v", err)
	}
	shares, err := shamir.Split(recovery, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := NewShamir(store).RootKey(ctx, shares[1:]); err != nil || !bytes.Equal(got, root) {
		t.Fatalf("the recovery shares do not unseal after the switch: %v", err)
	}
	if conf, err := LoadConfig(ctx, store); err != nil || conf.Type != "shamir" || conf.SecretThreshold != 2 {
		t.Fatalf("seal config: %+v %v", conf, err)
	}
	if _, ok := BlobKeyID(wrapped); ok {
		t.Fatal("a Shamir-wrapped key taken for a key-service blob")
	}

	blob, _ := json.Marshal(&BlobInfo{Ciphertext: []byte("ct"), KeyID: "hsm-key-2"})
	if err := CommitSwitch(ctx, store, &Switch{
		Config: Config{Type: "pkcs11", SecretShares: 1, SecretThreshold: 1}, Wrapped: blob,
		Recovery: &Config{SecretShares: 3, SecretThreshold: 2},
	}); err != nil {
		t.Fatal(err)
	}
	if rc, err := LoadRecoveryConfig(ctx, store); err != nil || rc.Type != RecoveryType || rc.SecretShares != 3 {
		t.Fatalf("recovery config after a switch to an auto seal: %+v %v", rc, err)
	}
	stored, err := WrappedRootKey(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := BlobKeyID(stored); !ok || id != "hsm-key-2" {
		t.Fatalf("stored blob key %q %v", id, ok)
	}
}
