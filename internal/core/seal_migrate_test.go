package core

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/strongbox/strongbox/internal/barrier"
	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical/inmem"
	"github.com/strongbox/strongbox/internal/seal"
)

// testWrapper is an in-memory key service: AES-GCM keys by id, the current
// one encrypts, any present one decrypts the blobs that name it.
type testWrapper struct {
	typ     string
	mu      sync.Mutex
	keys    map[string][]byte
	current string
}

func newTestWrapper(t *testing.T, typ, keyID string) *testWrapper {
	t.Helper()
	w := &testWrapper{typ: typ, keys: map[string][]byte{}}
	w.addKey(t, keyID)
	w.current = keyID
	return w
}

func (w *testWrapper) addKey(t *testing.T, id string) {
	t.Helper()
	k, err := barrier.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.keys[id] = k
}

// rotateTo makes id (added if new) the current key; the old ones stay.
func (w *testWrapper) rotateTo(t *testing.T, id string) {
	t.Helper()
	w.mu.Lock()
	_, ok := w.keys[id]
	w.mu.Unlock()
	if !ok {
		w.addKey(t, id)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.current = id
}

func (w *testWrapper) removeKey(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.keys, id)
}

func (w *testWrapper) Type() string { return w.typ }

func (w *testWrapper) KeyID(context.Context) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.current, nil
}

func (w *testWrapper) Encrypt(_ context.Context, pt []byte) (*seal.BlobInfo, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ct, err := barrier.Encrypt(w.keys[w.current], []byte(w.typ), pt)
	if err != nil {
		return nil, err
	}
	return &seal.BlobInfo{Ciphertext: ct, KeyID: w.current, Mechanism: "test"}, nil
}

func (w *testWrapper) Decrypt(_ context.Context, b *seal.BlobInfo) ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	k, ok := w.keys[b.KeyID]
	if !ok {
		return nil, fmt.Errorf("%w: no key %q", seal.ErrInvalidKey, b.KeyID)
	}
	pt, err := barrier.Decrypt(k, []byte(w.typ), b.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", seal.ErrInvalidKey, err)
	}
	return pt, nil
}

func (w *testWrapper) Close() error { return nil }

// sealNode is one node's storage across restarts with different seals,
// and everything it logged.
type sealNode struct {
	phys *inmem.Backend
	log  *syncLog
	c    *Core
	keys [][]byte // unseal or recovery key shares from init
	root string
}

// open restarts the node (sealing the running core) with the given seals.
func (n *sealNode) open(t *testing.T, cur, old seal.Wrapper) *Core {
	t.Helper()
	if n.c != nil {
		if err := n.c.Seal(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	c, err := New(Config{
		Physical: n.phys, Logger: slog.New(slog.NewTextHandler(n.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		SecretEngines: builtin.SecretEngines(), AuthMethods: builtin.AuthMethods(),
		Seal: cur, MigrationSeal: old,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Seal(context.Background()) })
	if err := c.CheckSeal(context.Background()); err != nil {
		t.Fatalf("CheckSeal: %v", err)
	}
	n.c = c
	return c
}

// newSealNode initializes storage under cur (nil: Shamir 5/3, else
// recovery 5/3), writes a secret and leaves the node unsealed.
func newSealNode(t *testing.T, cur seal.Wrapper) *sealNode {
	t.Helper()
	ctx := context.Background()
	n := &sealNode{phys: inmem.New(), log: &syncLog{}}
	c := n.open(t, cur, nil)
	req := InitRequest{SecretShares: 5, SecretThreshold: 3}
	if cur != nil {
		req = InitRequest{RecoveryShares: 5, RecoveryThreshold: 3}
	}
	res, err := c.Init(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	n.keys, n.root = append(res.Keys, res.RecoveryKeys...), res.RootToken
	if cur == nil {
		n.unseal(t, UnsealOptions{}, n.keys[:3])
	}
	if c.Sealed() {
		t.Fatal("sealed after init")
	}
	n.request(t, logical.UpdateOperation, "sys/mounts/kv", map[string]any{"type": "kv"})
	n.request(t, logical.UpdateOperation, "kv/app", map[string]any{"password": "hunter2"})
	t.Cleanup(func() { n.noKeysInLog(t) })
	return n
}

func (n *sealNode) unseal(t *testing.T, opts UnsealOptions, shares [][]byte) {
	t.Helper()
	for _, s := range shares {
		if err := n.c.UnsealWithOptions(context.Background(), s, opts); err != nil {
			t.Fatalf("unseal (migrate %v): %v", opts.Migrate, err)
		}
	}
	if n.c.Sealed() {
		t.Fatal("still sealed")
	}
}

func (n *sealNode) request(t *testing.T, op logical.Operation, path string, data map[string]any) *logical.Response {
	t.Helper()
	res, err := n.c.HandleRequest(context.Background(), &logical.Request{Operation: op, Path: path, Data: data, ClientToken: n.root})
	if err != nil {
		t.Fatalf("%s %s: %v", op, path, err)
	}
	return res.Response
}

func (n *sealNode) secretReadable(t *testing.T) {
	t.Helper()
	if r := n.request(t, logical.ReadOperation, "kv/app", nil); r == nil || r.Data["password"] != "hunter2" {
		t.Fatalf("secret: %+v", r)
	}
}

// sealState is storage's clear seal state plus the barrier's recovery
// key entry (still encrypted): what a migration rewrites.
func (n *sealNode) sealState() map[string]string {
	out := map[string]string{}
	for k, v := range n.phys.Dump() {
		if strings.HasPrefix(k, "core/seal-config") || strings.HasPrefix(k, "core/hsm/") ||
			strings.HasPrefix(k, "core/recovery-") {
			out[k] = string(v)
		}
	}
	return out
}

func (n *sealNode) storedType(t *testing.T) string {
	t.Helper()
	conf, err := seal.LoadConfig(context.Background(), n.phys)
	if err != nil {
		t.Fatal(err)
	}
	return conf.Type
}

func (n *sealNode) noKeysInLog(t *testing.T) {
	t.Helper()
	log := n.log.String()
	for _, k := range n.keys {
		if strings.Contains(log, hex.EncodeToString(k)) || strings.Contains(log, base64.StdEncoding.EncodeToString(k)) {
			t.Errorf("the log shows a key share")
		}
	}
	if strings.Contains(log, n.root) {
		t.Error("the log shows the root token")
	}
}

// wrongShares are a quorum of another cluster's keys of the same shape.
func wrongShares(t *testing.T, auto bool) [][]byte {
	t.Helper()
	if auto {
		_, shares, err := seal.NewRecoveryKey(&seal.Config{SecretShares: 5, SecretThreshold: 3})
		if err != nil {
			t.Fatal(err)
		}
		return shares[:3]
	}
	return newKeyCore(t, 5, 3).keys[:3]
}

// migrationModeChecks are what every direction shares while storage is
// under the old seal: seal-status shows the old keys, auto-unseal waits,
// sys/unseal without migrate is refused with Vault's words and a 500, and
// wrong old keys with migrate change nothing.
func migrationModeChecks(t *testing.T, n *sealNode, oldAuto bool) {
	t.Helper()
	ctx := context.Background()
	st, err := n.c.SealStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Migration || !st.Sealed || st.T != 3 || st.N != 5 || st.RecoverySeal != oldAuto {
		t.Fatalf("seal-status in migration mode: %+v", st)
	}
	if err := n.c.AutoUnseal(ctx); n.c.RecoverySeal() && !errors.Is(err, ErrSealMigrationPending) {
		t.Fatalf("auto-unseal in migration mode: %v", err)
	}
	wantStatus(t, n.c.Unseal(ctx, n.keys[0]), 500, "migrate option not provided and seal migration is pending")
	before := n.sealState()
	for _, s := range wrongShares(t, oldAuto) {
		err = n.c.UnsealWithOptions(ctx, s, UnsealOptions{Migrate: true})
	}
	want := "invalid key"
	if oldAuto {
		want = "failed to verify recovery key"
	}
	wantStatus(t, err, 400, want)
	if !n.c.Sealed() || !maps.Equal(before, n.sealState()) {
		t.Fatal("a migrate unseal with wrong keys changed something")
	}
	if st, _ := n.c.SealStatus(ctx); st.Progress != 0 {
		t.Fatalf("progress %d after a failed attempt", st.Progress)
	}
}

func TestSealMigrationShamirToAuto(t *testing.T) {
	ctx := context.Background()
	n := newSealNode(t, nil)
	w := newTestWrapper(t, "test-hsm", "k1")
	n.open(t, w, nil) // only the new auto stanza, as Vault's docs say
	migrationModeChecks(t, n, false)

	n.unseal(t, UnsealOptions{Migrate: true}, n.keys[2:5])
	if got := n.storedType(t); got != "test-hsm" {
		t.Fatalf("stored seal type %q after the migration", got)
	}
	st, _ := n.c.SealStatus(ctx)
	if st.Migration || st.Type != "test-hsm" || !st.RecoverySeal || st.T != 3 || st.N != 5 {
		t.Fatalf("seal-status after the migration: %+v", st)
	}
	n.secretReadable(t)

	// A restart auto-unseals; the old unseal keys are the recovery keys.
	n.open(t, w, nil)
	if err := n.c.AutoUnseal(ctx); err != nil {
		t.Fatalf("auto-unseal after the migration: %v", err)
	}
	n.secretReadable(t)
	if err := n.c.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.c.AutoUnseal(ctx); err != nil {
		t.Fatalf("auto-unseal after sealing: %v", err)
	}

	// The Shamir seal alone no longer reads this storage.
	k := &sealNode{phys: n.phys, log: &syncLog{}}
	shamir, err := New(Config{Physical: n.phys, Logger: slog.New(slog.NewTextHandler(k.log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := shamir.CheckSeal(ctx); !errors.Is(err, ErrSealMismatch) {
		t.Fatalf("shamir over migrated storage: %v", err)
	}
}

func TestSealMigrationAutoToShamir(t *testing.T) {
	ctx := context.Background()
	w := newTestWrapper(t, "test-hsm", "k1")
	n := newSealNode(t, w)
	n.open(t, nil, w) // the auto stanza marked disabled
	migrationModeChecks(t, n, true)

	n.unseal(t, UnsealOptions{Migrate: true}, n.keys[1:4])
	st, _ := n.c.SealStatus(ctx)
	if st.Migration || st.Type != "shamir" || st.RecoverySeal || st.T != 3 || st.N != 5 {
		t.Fatalf("seal-status after the migration: %+v", st)
	}
	if _, err := seal.LoadRecoveryConfig(ctx, n.phys); !errors.Is(err, seal.ErrNotInitialized) {
		t.Fatalf("recovery config after the migration: %v", err)
	}
	if _, ok := n.phys.Dump()[seal.RecoveryKeyPath]; ok {
		t.Fatal("the recovery key outlived the migration to Shamir")
	}
	n.secretReadable(t)

	// The recovery keys are the unseal keys now, even with the key service
	// gone.
	w.removeKey("k1")
	n.open(t, nil, nil)
	n.unseal(t, UnsealOptions{}, n.keys[2:5])
	n.secretReadable(t)
}

func TestSealMigrationAutoToAuto(t *testing.T) {
	cases := []struct {
		name     string
		from, to *testWrapper
	}{
		{"another type", newTestWrapper(t, "test-hsm", "h1"), newTestWrapper(t, "test-kms", "m1")},
		{"same type, another key", newTestWrapper(t, "test-hsm", "h1"), newTestWrapper(t, "test-hsm", "h2")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			n := newSealNode(t, tc.from)
			n.open(t, tc.to, tc.from)
			migrationModeChecks(t, n, true)
			n.unseal(t, UnsealOptions{Migrate: true}, n.keys[:3])
			id, ok, err := seal.NewAutoSeal(n.phys, tc.to).StoredKeyID(ctx)
			want, _ := tc.to.KeyID(ctx)
			if err != nil || !ok || id != want || n.storedType(t) != tc.to.Type() {
				t.Fatalf("stored blob names key %q (%v %v), type %q; want %q, %q", id, ok, err, n.storedType(t), want, tc.to.Type())
			}
			if st, _ := n.c.SealStatus(ctx); st.Migration {
				t.Fatal("still migrating")
			}
			// The recovery keys stay; the old key service is not needed.
			tc.from.removeKey("h1")
			n.open(t, tc.to, nil)
			if err := n.c.AutoUnseal(ctx); err != nil {
				t.Fatalf("auto-unseal under the new seal: %v", err)
			}
			if err := n.c.Seal(ctx); err != nil {
				t.Fatal(err)
			}
			if err := n.c.AutoUnseal(ctx); err != nil {
				t.Fatalf("auto-unseal after sealing: %v", err)
			}
			n.secretReadable(t)
		})
	}
}

// A node whose configuration still names the disabled seal after the
// migration (another node did it, or a restart) is not in migration mode.
func TestSealMigrationAlreadyComplete(t *testing.T) {
	ctx := context.Background()
	w := newTestWrapper(t, "test-hsm", "k1")
	n := newSealNode(t, nil)
	n.open(t, w, nil)
	n.unseal(t, UnsealOptions{Migrate: true}, n.keys[:3])
	n.open(t, w, nil)
	if st, _ := n.c.SealStatus(ctx); st.Migration {
		t.Fatal("migration mode over migrated storage")
	}
	wantStatus(t, n.c.UnsealWithOptions(ctx, n.keys[0], UnsealOptions{Migrate: true}), 400, "already complete")
	if err := n.c.AutoUnseal(ctx); err != nil {
		t.Fatal(err)
	}
	// A stored seal neither side names is a mismatch.
	other, err := New(Config{Physical: n.phys, Logger: slog.New(slog.NewTextHandler(&syncLog{}, nil)),
		Seal: newTestWrapper(t, "test-kms", "m1"), MigrationSeal: newTestWrapper(t, "test-other", "o1")})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.CheckSeal(ctx); !errors.Is(err, ErrSealMismatch) {
		t.Fatalf("unrelated seals: %v", err)
	}
	// Without a seal to migrate from, migrate is refused in Vault's words.
	k := newKeyCore(t, 1, 1)
	if err := k.c.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, k.c.UnsealWithOptions(ctx, k.keys[0], UnsealOptions{Migrate: true}), 400,
		"can't perform a seal migration, no migration seal found")
}
