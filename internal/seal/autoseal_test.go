package seal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/physical/inmem"
	"github.com/strongbox/strongbox/internal/seal"
	"github.com/strongbox/strongbox/internal/seal/awskms"
	"github.com/strongbox/strongbox/internal/seal/sealtest"
)

// kmsSeal is an AutoSeal over a real local-kms emulator.
type kmsSeal struct {
	kms   *sealtest.LocalKMS
	store *inmem.Backend
	auto  *seal.AutoSeal
}

func newKMSSeal(t *testing.T) *kmsSeal {
	t.Helper()
	k := sealtest.StartLocalKMS(t)
	keyID, _ := k.CreateKey(t)
	w, err := awskms.New(testCtx(t), map[string]string{
		"region": sealtest.LocalKMSRegion, "access_key": sealtest.LocalKMSAccessKey,
		"secret_key": sealtest.LocalKMSSecretKey, "kms_key_id": keyID, "endpoint": k.Endpoint,
	}, nil, nil)
	if err != nil {
		t.Fatalf("awskms.New: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })
	store := inmem.New()
	return &kmsSeal{kms: k, store: store, auto: seal.NewAutoSeal(store, w)}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func rootKey(b byte) []byte {
	k := bytes.Repeat([]byte{b}, 32)
	k[31] = 0x5a
	return k
}

func TestAutoSealLifecycle(t *testing.T) {
	ctx := testCtx(t)
	s := newKMSSeal(t)
	if s.auto.Type() != "awskms" {
		t.Fatalf("type %q", s.auto.Type())
	}
	if _, err := s.auto.RootKey(ctx); !errors.Is(err, seal.ErrNotInitialized) {
		t.Fatalf("RootKey before init: %v", err)
	}
	if _, err := seal.LoadRecoveryConfig(ctx, s.store); !errors.Is(err, seal.ErrNotInitialized) {
		t.Fatalf("recovery config before init: %v", err)
	}
	root := rootKey(1)
	wrapped, err := s.auto.Wrap(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(wrapped, root) {
		t.Fatal("the wrapped root key holds the root key in the clear")
	}
	var blob seal.BlobInfo
	if err := json.Unmarshal(wrapped, &blob); err != nil || len(blob.WrappedKey) == 0 || blob.Mechanism != awskms.Mechanism {
		t.Fatalf("stored blob is not BlobInfo JSON: %v %+v", err, blob)
	}
	if err := s.auto.Initialize(ctx, &seal.Config{SecretShares: 2, SecretThreshold: 3}, wrapped); !errors.Is(err, seal.ErrInvalidConfig) {
		t.Fatalf("bad recovery config: %v", err)
	}
	if err := s.auto.Initialize(ctx, &seal.Config{SecretShares: 5, SecretThreshold: 3}, wrapped); err != nil {
		t.Fatal(err)
	}
	conf, err := seal.LoadConfig(ctx, s.store)
	if err != nil || conf.Type != "awskms" || conf.SecretShares != 1 || conf.SecretThreshold != 1 {
		t.Fatalf("seal config %+v %v", conf, err)
	}
	rconf, err := seal.LoadRecoveryConfig(ctx, s.store)
	if err != nil || rconf.Type != seal.RecoveryType || rconf.SecretShares != 5 || rconf.SecretThreshold != 3 {
		t.Fatalf("recovery config %+v %v", rconf, err)
	}
	stored, err := seal.WrappedRootKey(ctx, s.store)
	if err != nil || !bytes.Equal(stored, wrapped) {
		t.Fatalf("stored blob %v", err)
	}
	if got, err := s.auto.RootKey(ctx); err != nil || !bytes.Equal(got, root) {
		t.Fatalf("RootKey = %x, %v", got, err)
	}

	// Rewrap: a new blob, the same key.
	if err := s.auto.Rewrap(ctx, root); err != nil {
		t.Fatal(err)
	}
	rewrapped, _ := seal.WrappedRootKey(ctx, s.store)
	if bytes.Equal(rewrapped, wrapped) {
		t.Fatal("Rewrap stored the same blob")
	}
	if got, err := s.auto.RootKey(ctx); err != nil || !bytes.Equal(got, root) {
		t.Fatalf("RootKey after Rewrap = %x, %v", got, err)
	}

	if err := seal.StoreRecoveryConfig(ctx, s.store, &seal.Config{SecretShares: 7, SecretThreshold: 4}); err != nil {
		t.Fatal(err)
	}
	if rconf, err := seal.LoadRecoveryConfig(ctx, s.store); err != nil || rconf.SecretShares != 7 || rconf.Type != seal.RecoveryType {
		t.Fatalf("recovery config after store %+v %v", rconf, err)
	}
}

func TestAutoSealBadBlobs(t *testing.T) {
	ctx := testCtx(t)
	s := newKMSSeal(t)
	wrapped, err := s.auto.Wrap(ctx, rootKey(2))
	if err != nil {
		t.Fatal(err)
	}
	var blob seal.BlobInfo
	if err := json.Unmarshal(wrapped, &blob); err != nil {
		t.Fatal(err)
	}
	tamperedCT := blob
	tamperedCT.Ciphertext = append([]byte(nil), blob.Ciphertext...)
	tamperedCT.Ciphertext[0] ^= 1
	tamperedKey := blob
	tamperedKey.WrappedKey = append([]byte(nil), blob.WrappedKey...)
	tamperedKey.WrappedKey[len(tamperedKey.WrappedKey)-1] ^= 1
	enc := func(b seal.BlobInfo) []byte {
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	cases := []struct {
		name    string
		wrapped []byte
	}{
		{"shamir-wrapped bytes", []byte{0, 0, 0, 0, 1, 2, 3}},
		{"empty JSON", []byte(`{}`)},
		{"tampered ciphertext", enc(tamperedCT)},
		{"tampered data key", enc(tamperedKey)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.auto.Unwrap(ctx, tc.wrapped)
			if !errors.Is(err, seal.ErrInvalidKey) || got != nil {
				t.Fatalf("Unwrap = %x, %v; want ErrInvalidKey", got, err)
			}
		})
	}
}

func TestAutoSealKeyServiceDown(t *testing.T) {
	ctx := testCtx(t)
	s := newKMSSeal(t)
	wrapped, err := s.auto.Wrap(ctx, rootKey(3))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.auto.Initialize(ctx, &seal.Config{SecretShares: 1, SecretThreshold: 1}, wrapped); err != nil {
		t.Fatal(err)
	}
	s.kms.Stop()
	_, err = s.auto.RootKey(ctx)
	if err == nil || errors.Is(err, seal.ErrInvalidKey) {
		t.Fatalf("RootKey with the KMS down = %v; want a retryable error", err)
	}
	if _, err := s.auto.Wrap(ctx, rootKey(4)); err == nil {
		t.Fatal("Wrap with the KMS down succeeded")
	}
}

func TestRecoveryKeys(t *testing.T) {
	cases := []struct {
		shares, threshold int
	}{{1, 1}, {3, 2}, {5, 3}, {7, 4}}
	for _, tc := range cases {
		key, shares, err := seal.NewRecoveryKey(&seal.Config{SecretShares: tc.shares, SecretThreshold: tc.threshold})
		if err != nil {
			t.Fatalf("%d/%d: %v", tc.threshold, tc.shares, err)
		}
		if len(key) != 32 || len(shares) != tc.shares {
			t.Fatalf("%d/%d: key %d bytes, %d shares", tc.threshold, tc.shares, len(key), len(shares))
		}
		// Any threshold of shares, from the end, rebuilds the key.
		got, err := seal.CombineShares(shares[tc.shares-tc.threshold:])
		if err != nil || seal.MatchRecoveryKey(got, key) != nil {
			t.Fatalf("%d/%d: combine: %v", tc.threshold, tc.shares, err)
		}
		if tc.threshold > 1 {
			short, err := seal.CombineShares(shares[:tc.threshold-1])
			if err == nil {
				err = seal.MatchRecoveryKey(short, key)
			}
			if !errors.Is(err, seal.ErrInvalidKey) {
				t.Fatalf("%d/%d: fewer than threshold shares: %v", tc.threshold, tc.shares, err)
			}
		}
		if tc.shares == 1 {
			// The single share is a copy: wiping it leaves the key.
			clear(shares[0])
			if bytes.Equal(key, shares[0]) {
				t.Fatal("the single share aliases the key")
			}
		}
	}
	if _, _, err := seal.NewRecoveryKey(&seal.Config{SecretShares: 3, SecretThreshold: 1}); !errors.Is(err, seal.ErrInvalidConfig) {
		t.Fatalf("3 shares threshold 1: %v", err)
	}
	if _, err := seal.CombineShares(nil); !errors.Is(err, seal.ErrInvalidKey) {
		t.Fatalf("no shares: %v", err)
	}
	if err := seal.MatchRecoveryKey([]byte("x"), nil); err == nil || errors.Is(err, seal.ErrInvalidKey) {
		t.Fatalf("no stored key: %v", err)
	}
}

// echoWrapper "decrypts" a blob to its ciphertext: enough to drive Unwrap's
// parsing of blobs that arrive from storage or from a raft join challenge.
type echoWrapper struct{}

func (echoWrapper) Type() string                          { return "echo" }
func (echoWrapper) KeyID(context.Context) (string, error) { return "echo", nil }
func (echoWrapper) Close() error                          { return nil }
func (echoWrapper) Encrypt(_ context.Context, pt []byte) (*seal.BlobInfo, error) {
	return &seal.BlobInfo{Ciphertext: append([]byte(nil), pt...)}, nil
}
func (echoWrapper) Decrypt(_ context.Context, b *seal.BlobInfo) ([]byte, error) {
	return append([]byte(nil), b.Ciphertext...), nil
}

func FuzzUnwrap(f *testing.F) {
	a := seal.NewAutoSeal(inmem.New(), echoWrapper{})
	good, err := a.Wrap(context.Background(), rootKey(9))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{good, []byte(`{}`), []byte(`{"ciphertext":null}`), []byte(`[1,2]`), {0, 1, 2}, nil} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, wrapped []byte) {
		got, err := a.Unwrap(context.Background(), wrapped)
		var blob seal.BlobInfo
		parsed := json.Unmarshal(wrapped, &blob) == nil && len(blob.Ciphertext) > 0
		switch {
		case parsed && (err != nil || !bytes.Equal(got, blob.Ciphertext)):
			t.Fatalf("a blob did not unwrap: %v", err)
		case !parsed && !errors.Is(err, seal.ErrInvalidKey):
			t.Fatalf("not a blob, yet %x, %v", got, err)
		}
	})
}
