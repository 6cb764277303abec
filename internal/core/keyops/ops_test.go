package keyops

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/strongbox/strongbox/internal/barrier"
	"github.com/strongbox/strongbox/internal/core/token"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/pgp"
	"github.com/strongbox/strongbox/internal/physical/inmem"
	"github.com/strongbox/strongbox/internal/seal"
)

// fakeHost is a core reduced to what Host promises: a state lock, an
// active term that the test seals, demotes or replaces, and no unseal.
type fakeHost struct {
	t       *testing.T
	mu      sync.RWMutex
	readers atomic.Int32
	sealed  bool
	standby bool
	tokens  *token.Store
}

func (h *fakeHost) RLockState() {
	h.mu.RLock()
	h.readers.Add(1)
}

func (h *fakeHost) RUnlockState() {
	h.readers.Add(-1)
	h.mu.RUnlock()
}

// Active checks Host's contract from the other side: the room calls it
// holding the state lock.
func (h *fakeHost) Active() (*token.Store, error) {
	if h.readers.Load() == 0 {
		h.t.Error("Active called without the state lock")
	}
	switch {
	case h.sealed:
		return nil, logical.ErrSealed
	case h.standby || h.tokens == nil:
		return nil, logical.ErrStandby
	}
	return h.tokens, nil
}

func (h *fakeHost) Unseal(context.Context, []byte, func(context.Context) error) error {
	return errors.New("fake host: no unseal")
}

// set changes the host's state as a seal, step-down or new term would:
// under the state lock for writing.
func (h *fakeHost) set(sealed, standby bool, tokens *token.Store) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sealed, h.standby, h.tokens = sealed, standby, tokens
}

// newTerm is a new active term's token store.
func newTerm(t *testing.T) *token.Store {
	t.Helper()
	ts, err := token.New(context.Background(), logical.NewInmemStorage(), token.Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// newTestOps is a Shamir node (2 of 3 shares), unsealed and active, with
// the room built over a fake host.
func newTestOps(t *testing.T) (*Ops, *fakeHost, [][]byte) {
	t.Helper()
	ctx := context.Background()
	phys := inmem.New()
	b := barrier.New(phys)
	root := make([]byte, 32)
	if _, err := rand.Read(root); err != nil {
		t.Fatal(err)
	}
	if err := b.Initialize(ctx, root); err != nil {
		t.Fatal(err)
	}
	if err := b.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	shamir := seal.NewShamir(phys)
	shares, err := shamir.Initialize(ctx, &seal.Config{SecretShares: 3, SecretThreshold: 2}, root)
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHost{t: t}
	h.set(false, false, newTerm(t))
	o := New(h, Config{Physical: phys, Barrier: b, Shamir: shamir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return o, h, shares
}

// TestKeyOpsFollowHostState: the key operations answer what the host
// says of the node (sealed, standby) and forget an attempt once the
// active term it began in is over, with no call from core to say so.
func TestKeyOpsFollowHostState(t *testing.T) {
	ctx := context.Background()
	o, h, shares := newTestOps(t)
	st, err := o.RekeyInit(ctx, RekeyRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil || !st.Started || st.Required != 2 {
		t.Fatalf("rekey init %+v %v", st, err)
	}
	if _, err := o.RekeyUpdate(ctx, shares[0], st.Nonce); err != nil {
		t.Fatal(err)
	}
	gst, err := o.GenerateRootInit(ctx, "", "")
	if err != nil || !gst.Started {
		t.Fatalf("generate-root init %+v %v", gst, err)
	}

	h.set(true, false, nil)
	if _, err := o.RekeyStatus(ctx); !errors.Is(err, logical.ErrSealed) {
		t.Fatalf("rekey status while sealed: %v", err)
	}
	if _, err := o.GenerateRootStatus(ctx); !errors.Is(err, logical.ErrSealed) {
		t.Fatalf("generate-root status while sealed: %v", err)
	}
	h.set(false, true, nil)
	if _, err := o.RekeyStatus(ctx); !errors.Is(err, logical.ErrStandby) {
		t.Fatalf("rekey status on a standby: %v", err)
	}
	if err := o.GenerateRootCancel(ctx); !errors.Is(err, logical.ErrStandby) {
		t.Fatalf("generate-root cancel on a standby: %v", err)
	}

	// A new active term: both attempts and the share given are gone.
	h.set(false, false, newTerm(t))
	if cur, err := o.RekeyStatus(ctx); err != nil || cur.Started || cur.Progress != 0 {
		t.Fatalf("rekey attempt survived its term: %+v %v", cur, err)
	}
	if cur, err := o.GenerateRootStatus(ctx); err != nil || cur.Started {
		t.Fatalf("root generation survived its term: %+v %v", cur, err)
	}
	if _, err := o.RekeyUpdate(ctx, shares[1], st.Nonce); err == nil {
		t.Fatal("a share was accepted for an attempt of an earlier term")
	}
}

// TestRekeyWithFakeHost: a whole rekey through the room alone; the new
// shares unwrap the same root key, the old ones no longer do.
func TestRekeyWithFakeHost(t *testing.T) {
	ctx := context.Background()
	o, _, shares := newTestOps(t)
	st, err := o.RekeyInit(ctx, RekeyRequest{SecretShares: 2, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	var res *RekeyResult
	for _, s := range shares[1:] {
		if res, err = o.RekeyUpdate(ctx, s, st.Nonce); err != nil {
			t.Fatal(err)
		}
	}
	if res == nil || len(res.Keys) != 2 {
		t.Fatalf("rekey result %+v", res)
	}
	if _, err := o.rootKeyFromShares(ctx, res.Keys); err != nil {
		t.Fatalf("the new shares: %v", err)
	}
	if _, err := o.rootKeyFromShares(ctx, shares[:2]); !errors.Is(err, seal.ErrInvalidKey) {
		t.Fatalf("the old shares after the rekey: %v", err)
	}
}

// TestPathsAndRootPaths: every root path names one of the room's paths,
// and the room serves what sys/ expects of it.
func TestPathsAndRootPaths(t *testing.T) {
	o, _, _ := newTestOps(t)
	var patterns []string
	for _, p := range o.Paths() {
		patterns = append(patterns, p.Pattern)
	}
	for _, want := range []string{"key-status", "rotate", "rotate/config", "sealwrap/rewrap"} {
		if !slices.Contains(patterns, want) {
			t.Errorf("no %s path in %v", want, patterns)
		}
	}
	for _, root := range o.RootPaths() {
		prefix, glob := root, false
		if len(root) > 2 && root[len(root)-2:] == "/*" {
			prefix, glob = root[:len(root)-2], true
		}
		found := false
		for _, p := range patterns {
			if p == prefix || (glob && len(p) > len(prefix) && p[:len(prefix)+1] == prefix+"/") {
				found = true
			}
		}
		if !found {
			t.Errorf("root path %q names none of %v", root, patterns)
		}
	}
}

// TestEncryptSharesRoundTrip: each share is encrypted to its own key, hex
// inside as Vault does, and the plain shares are wiped.
func TestEncryptSharesRoundTrip(t *testing.T) {
	pubA, privA, err := pgp.NewKeyPair("a")
	if err != nil {
		t.Fatal(err)
	}
	pubB, privB, err := pgp.NewKeyPair("b")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := pgp.ParsePublicKeys([]string{pubA, pubB})
	if err != nil {
		t.Fatal(err)
	}
	shares := [][]byte{{1, 2, 3}, {4, 5, 6}}
	enc, err := EncryptShares(keys, shares)
	if err != nil {
		t.Fatal(err)
	}
	for i, priv := range []*pgp.PrivateKey{privA, privB} {
		plain, err := priv.Decrypt(enc[i])
		want := []string{"010203", "040506"}[i]
		if err != nil || string(plain) != want {
			t.Fatalf("share %d: %q %v, want %q", i, plain, err, want)
		}
	}
	for i, s := range shares {
		if !slices.Equal(s, []byte{0, 0, 0}) {
			t.Fatalf("plain share %d not wiped: %v", i, s)
		}
	}
}
