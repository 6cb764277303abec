package barrier

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

func TestInitializeUnsealSealRoundTrip(t *testing.T) {
	ctx := context.Background()
	raw := inmem.New()
	b := New(raw)
	root, err := b.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(root) != KeySize {
		t.Fatalf("GenerateKey gave %d bytes", len(root))
	}

	if !b.Sealed() {
		t.Fatal("new barrier is not sealed")
	}
	if ok, err := b.Initialized(ctx); err != nil || ok {
		t.Fatalf("Initialized before Initialize = %v, %v", ok, err)
	}
	if err := b.Unseal(ctx, root); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("Unseal before Initialize: %v, want ErrNotInitialized", err)
	}

	if err := b.Initialize(ctx, root); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.Initialized(ctx); err != nil || !ok {
		t.Fatalf("Initialized after Initialize = %v, %v", ok, err)
	}
	if !b.Sealed() {
		t.Fatal("Initialize unsealed the barrier")
	}
	if err := b.Initialize(ctx, root); !errors.Is(err, ErrAlreadyInitialized) {
		t.Fatalf("second Initialize: %v, want ErrAlreadyInitialized", err)
	}

	if err := b.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	if b.Sealed() {
		t.Fatal("still sealed after Unseal")
	}
	mustPut(t, b, "secret/a", "hello")
	mustGet(t, b, "secret/a", "hello")
	if e, err := b.Get(ctx, "secret/missing"); e != nil || err != nil {
		t.Fatalf("Get of a missing key = %v, %v; want nil, nil", e, err)
	}

	// Unsealing again with the same key is a no-op; with another, refused.
	if err := b.Unseal(ctx, root); err != nil {
		t.Fatalf("Unseal while unsealed: %v", err)
	}
	other, _ := GenerateKey()
	if err := b.Unseal(ctx, other); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("Unseal with another key while unsealed: %v, want ErrInvalidKey", err)
	}
	if b.Sealed() {
		t.Fatal("a refused Unseal sealed the barrier")
	}

	b.Seal()
	if !b.Sealed() {
		t.Fatal("not sealed after Seal")
	}
	b.Seal() // idempotent
	if err := b.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	mustGet(t, b, "secret/a", "hello")
}

func TestSealWipesKeysFromMemory(t *testing.T) {
	b, _, _ := newUnsealed(t)
	if _, err := b.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	rootRef := b.rootKey
	var keyRefs [][]byte
	for _, k := range b.keyring.keys {
		keyRefs = append(keyRefs, k.key)
	}
	b.Seal()
	for i, k := range append(keyRefs, rootRef) {
		if !bytes.Equal(k, make([]byte, len(k))) {
			t.Errorf("key %d not zeroed after Seal", i)
		}
	}
	if b.rootKey != nil || b.keyring != nil {
		t.Error("sealed barrier still references keys")
	}
}

func TestUnsealWithWrongKey(t *testing.T) {
	ctx := context.Background()
	b, _, root := newUnsealed(t)
	mustPut(t, b, "k", "v")
	b.Seal()

	wrong := bytes.Clone(root)
	wrong[0] ^= 1
	for _, key := range [][]byte{wrong, root[:16], nil, append(bytes.Clone(root), 0)} {
		if err := b.Unseal(ctx, key); !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("Unseal(%d-byte wrong key): %v, want ErrInvalidKey", len(key), err)
		}
		if !b.Sealed() {
			t.Fatal("wrong key unsealed the barrier")
		}
		if _, err := b.Get(ctx, "k"); !errors.Is(err, ErrSealed) {
			t.Fatalf("Get after failed unseal: %v, want ErrSealed", err)
		}
	}
	if err := b.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	mustGet(t, b, "k", "v")
}

func TestInitializeRejectsBadRootKey(t *testing.T) {
	b := New(inmem.New())
	for _, n := range []int{0, 16, 31, 33, 64} {
		if err := b.Initialize(context.Background(), make([]byte, n)); !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("Initialize with %d-byte key: %v, want ErrInvalidKey", n, err)
		}
	}
	if ok, _ := b.Initialized(context.Background()); ok {
		t.Fatal("a refused Initialize wrote a keyring")
	}
}

func TestSealedBarrierRefusesEverything(t *testing.T) {
	ctx := context.Background()
	sealedOps := []struct {
		name string
		op   func(b *Barrier) error
	}{
		{"Get", func(b *Barrier) error { _, err := b.Get(ctx, "k"); return err }},
		{"Put", func(b *Barrier) error { return b.Put(ctx, &physical.Entry{Key: "k", Value: []byte("v")}) }},
		{"Delete", func(b *Barrier) error { return b.Delete(ctx, "k") }},
		{"List", func(b *Barrier) error { _, err := b.List(ctx, ""); return err }},
		{"Transaction", func(b *Barrier) error {
			return b.Transaction(ctx, []*physical.TxnOp{{Op: physical.PutOp, Entry: &physical.Entry{Key: "k"}}})
		}},
		{"empty Transaction", func(b *Barrier) error { return b.Transaction(ctx, nil) }},
		{"Rotate", func(b *Barrier) error { _, err := b.Rotate(ctx); return err }},
		{"KeyStatus", func(b *Barrier) error { _, err := b.KeyStatus(); return err }},
		{"RootKey", func(b *Barrier) error { _, err := b.RootKey(); return err }},
		{"Rekey", func(b *Barrier) error { k, _ := GenerateKey(); return b.Rekey(ctx, k) }},
		{"ReloadKeyring", func(b *Barrier) error { return b.ReloadKeyring(ctx) }},
	}
	states := []struct {
		name string
		make func(t *testing.T) (*Barrier, *inmem.Backend)
	}{
		{"never unsealed", func(t *testing.T) (*Barrier, *inmem.Backend) {
			raw := inmem.New()
			b := New(raw)
			root, _ := GenerateKey()
			if err := b.Initialize(ctx, root); err != nil {
				t.Fatal(err)
			}
			return b, raw
		}},
		{"sealed after use", func(t *testing.T) (*Barrier, *inmem.Backend) {
			b, raw, _ := newUnsealed(t)
			mustPut(t, b, "k", "v")
			b.Seal()
			return b, raw
		}},
	}
	for _, st := range states {
		for _, tt := range sealedOps {
			t.Run(st.name+"/"+tt.name, func(t *testing.T) {
				b, raw := st.make(t)
				before := raw.Dump()
				if err := tt.op(b); !errors.Is(err, ErrSealed) {
					t.Fatalf("%s while sealed: %v, want ErrSealed", tt.name, err)
				}
				if after := raw.Dump(); !equalDumps(before, after) {
					t.Fatalf("%s while sealed changed storage", tt.name)
				}
			})
		}
	}
}

func equalDumps(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func termOf(t *testing.T, raw *inmem.Backend, key string) uint32 {
	t.Helper()
	v, ok := raw.Dump()[key]
	if !ok {
		t.Fatalf("no raw value at %q", key)
	}
	return binary.BigEndian.Uint32(v)
}

func TestRotate(t *testing.T) {
	ctx := context.Background()
	b, raw, _ := newUnsealed(t)
	st, err := b.KeyStatus()
	if err != nil {
		t.Fatal(err)
	}
	if st.Term != 1 || st.Encryptions != 0 || st.InstallTime.IsZero() {
		t.Fatalf("initial KeyStatus = %+v", st)
	}
	mustPut(t, b, "old", "written under term 1")
	mustPut(t, b, "old2", "also term 1")
	if st, _ := b.KeyStatus(); st.Encryptions != 2 {
		t.Fatalf("Encryptions = %d after two puts, want 2", st.Encryptions)
	}

	before := time.Now()
	term, err := b.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if term != 2 {
		t.Fatalf("Rotate gave term %d, want 2", term)
	}
	st, _ = b.KeyStatus()
	if st.Term != 2 || st.Encryptions != 0 || st.InstallTime.Before(before.Add(-time.Second)) {
		t.Fatalf("KeyStatus after rotate = %+v", st)
	}
	mustPut(t, b, "new", "written under term 2")
	if st, _ := b.KeyStatus(); st.Encryptions != 1 {
		t.Fatalf("Encryptions = %d after one put on term 2, want 1", st.Encryptions)
	}

	if got := termOf(t, raw, "old"); got != 1 {
		t.Errorf("old value has term %d, want 1", got)
	}
	if got := termOf(t, raw, "new"); got != 2 {
		t.Errorf("new value has term %d, want 2", got)
	}
	mustGet(t, b, "old", "written under term 1")
	mustGet(t, b, "new", "written under term 2")

	if term, err := b.Rotate(ctx); err != nil || term != 3 {
		t.Fatalf("second Rotate = %d, %v; want 3", term, err)
	}
	mustPut(t, b, "old2", "rewritten under term 3")
	if got := termOf(t, raw, "old2"); got != 3 {
		t.Errorf("rewritten value has term %d, want 3", got)
	}
	mustGet(t, b, "old", "written under term 1")
	mustGet(t, b, "new", "written under term 2")
	mustGet(t, b, "old2", "rewritten under term 3")
}

func TestRotateFailureKeepsOldKeyring(t *testing.T) {
	ctx := context.Background()
	flaky := &flakyBackend{Backend: inmem.New()}
	b := New(flaky)
	root, _ := GenerateKey()
	if err := b.Initialize(ctx, root); err != nil {
		t.Fatal(err)
	}
	if err := b.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	flaky.failPuts.Store(true)
	if _, err := b.Rotate(ctx); !errors.Is(err, errInjected) {
		t.Fatalf("Rotate with failing storage: %v, want the storage error", err)
	}
	flaky.failPuts.Store(false)
	if st, _ := b.KeyStatus(); st.Term != 1 {
		t.Fatalf("active term %d after failed rotate, want 1", st.Term)
	}
	mustPut(t, b, "k", "v")
	// A restart must agree: the stored keyring still has only term 1.
	b2 := New(flaky)
	if err := b2.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	mustGet(t, b2, "k", "v")
	if term, err := b2.Rotate(ctx); err != nil || term != 2 {
		t.Fatalf("Rotate after recovery = %d, %v; want 2", term, err)
	}
}

func TestKeyringSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	b, raw, root := newUnsealed(t)
	mustPut(t, b, "t1", "one")
	for range 2 {
		if _, err := b.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mustPut(t, b, "t3", "three")
	want, _ := b.KeyStatus()
	b.Seal()

	restarted := New(raw)
	if !restarted.Sealed() {
		t.Fatal("restarted barrier is unsealed")
	}
	if ok, err := restarted.Initialized(ctx); err != nil || !ok {
		t.Fatalf("restarted Initialized = %v, %v", ok, err)
	}
	if err := restarted.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	mustGet(t, restarted, "t1", "one")
	mustGet(t, restarted, "t3", "three")
	got, _ := restarted.KeyStatus()
	if got.Term != 3 || !got.InstallTime.Equal(want.InstallTime) {
		t.Fatalf("KeyStatus after restart = %+v, want term 3 installed %v", got, want.InstallTime)
	}
	if rk, _ := restarted.RootKey(); !bytes.Equal(rk, root) {
		t.Fatal("RootKey after restart differs")
	}
}

func TestStandbyFollowsRotation(t *testing.T) {
	ctx := context.Background()
	active, raw, root := newUnsealed(t)
	standby := New(raw)
	if err := standby.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	if _, err := active.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	mustPut(t, active, "leader", "api_addr")
	// The standby's keyring lacks term 2; Get reloads it.
	mustGet(t, standby, "leader", "api_addr")
	if st, _ := standby.KeyStatus(); st.Term != 2 {
		t.Fatalf("standby term %d after reload, want 2", st.Term)
	}
	if _, err := active.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := standby.ReloadKeyring(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := standby.KeyStatus(); st.Term != 3 {
		t.Fatalf("standby term %d after ReloadKeyring, want 3", st.Term)
	}
}

func TestRekey(t *testing.T) {
	ctx := context.Background()
	b, raw, oldRoot := newUnsealed(t)
	mustPut(t, b, "k", "v")
	newRoot, _ := GenerateKey()
	if err := b.Rekey(ctx, newRoot[:8]); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("Rekey with short key: %v, want ErrInvalidKey", err)
	}
	if err := b.Rekey(ctx, newRoot); err != nil {
		t.Fatal(err)
	}
	if rk, _ := b.RootKey(); !bytes.Equal(rk, newRoot) {
		t.Fatal("RootKey is not the new root key after Rekey")
	}
	mustGet(t, b, "k", "v")

	restarted := New(raw)
	if err := restarted.Unseal(ctx, oldRoot); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("Unseal with the old root key: %v, want ErrInvalidKey", err)
	}
	if err := restarted.Unseal(ctx, newRoot); err != nil {
		t.Fatal(err)
	}
	mustGet(t, restarted, "k", "v")
}

func TestRootKeyReturnsACopy(t *testing.T) {
	b, _, root := newUnsealed(t)
	rk, err := b.RootKey()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rk, root) {
		t.Fatal("RootKey differs from the unseal key")
	}
	clear(rk)
	if again, _ := b.RootKey(); !bytes.Equal(again, root) {
		t.Fatal("zeroing the returned root key changed the barrier's")
	}
}

func TestKeyringPathIsReserved(t *testing.T) {
	ctx := context.Background()
	b, raw, root := newUnsealed(t)
	stored := raw.Dump()[keyringPath]
	if _, err := b.Get(ctx, keyringPath); !errors.Is(err, ErrReservedKey) {
		t.Errorf("Get keyring: %v", err)
	}
	if err := b.Put(ctx, &physical.Entry{Key: keyringPath, Value: []byte("x")}); !errors.Is(err, ErrReservedKey) {
		t.Errorf("Put keyring: %v", err)
	}
	if err := b.Delete(ctx, keyringPath); !errors.Is(err, ErrReservedKey) {
		t.Errorf("Delete keyring: %v", err)
	}
	err := b.Transaction(ctx, []*physical.TxnOp{{Op: physical.DeleteOp, Entry: &physical.Entry{Key: keyringPath}}})
	if !errors.Is(err, ErrReservedKey) {
		t.Errorf("Transaction deleting keyring: %v", err)
	}
	if !bytes.Equal(raw.Dump()[keyringPath], stored) {
		t.Fatal("stored keyring changed")
	}
	b.Seal()
	if err := b.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptStoredKeyring(t *testing.T) {
	ctx := context.Background()
	_, raw, root := newUnsealed(t)
	good := raw.Dump()[keyringPath]
	tests := []struct {
		name  string
		value []byte
		want  error
	}{
		{"flipped ciphertext byte", flip(good, len(good)-1), ErrInvalidKey},
		{"flipped nonce byte", flip(good, headerSize), ErrInvalidKey},
		{"truncated", good[:headerSize+nonceSize], ErrDecrypt},
		{"empty", []byte{}, ErrDecrypt},
		{"not the root term", flip(good, termSize-1), ErrDecrypt},
		{"unknown version", flip(good, termSize), ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := raw.Put(ctx, &physical.Entry{Key: keyringPath, Value: tt.value}); err != nil {
				t.Fatal(err)
			}
			b := New(raw)
			if err := b.Unseal(ctx, root); !errors.Is(err, tt.want) {
				t.Fatalf("Unseal: %v, want %v", err, tt.want)
			}
			if !b.Sealed() {
				t.Fatal("unsealed with a corrupt keyring")
			}
		})
	}
}

func flip(v []byte, i int) []byte {
	out := bytes.Clone(v)
	out[i] ^= 0x01
	return out
}

// TestReloadFailureIsReported: a value under a term newer than this node's
// keyring whose reload fails names the reload's error (here: the keyring
// was rekeyed and this node's root key no longer opens it), not an unknown
// key term.
func TestReloadFailureIsReported(t *testing.T) {
	ctx := context.Background()
	active, raw, root := newUnsealed(t)
	standby := New(raw)
	if err := standby.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	if _, err := active.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	mustPut(t, active, "leader", "api_addr")
	newRoot, _ := GenerateKey()
	if err := active.Rekey(ctx, newRoot); err != nil {
		t.Fatal(err)
	}
	_, err := standby.Get(ctx, "leader")
	if !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), "reloading the keyring failed") {
		t.Fatalf("Get after a failed reload: %v; want the reload's ErrInvalidKey", err)
	}
	if strings.Contains(err.Error(), "unknown key term") {
		t.Fatalf("Get after a failed reload hides the cause: %v", err)
	}
}
