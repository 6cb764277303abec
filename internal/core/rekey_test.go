package core

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/core/keyops"

	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/pgp"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// keyCore is an initialized core with its shares and root token.
type keyCore struct {
	c    *Core
	phys *inmem.Backend
	keys [][]byte
	root string
	// clock is the core's Config.Now (nil for cores built elsewhere).
	clock *testClock
}

// testClock is the wall clock moved forward by what the test added.
type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// newKeyCore initializes a core with n shares (threshold t) and unseals it.
func newKeyCore(t *testing.T, n, th int) *keyCore {
	t.Helper()
	phys := inmem.New()
	clock := &testClock{}
	c, err := New(Config{
		Physical: phys, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SecretEngines: builtin.SecretEngines(), AuthMethods: builtin.AuthMethods(),
		Now: clock.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Init(context.Background(), InitRequest{SecretShares: n, SecretThreshold: th})
	if err != nil {
		t.Fatal(err)
	}
	kc := &keyCore{c: c, phys: phys, keys: res.Keys, root: res.RootToken, clock: clock}
	if err := kc.unseal(res.Keys[:th]); err != nil {
		t.Fatal(err)
	}
	return kc
}

// unseal gives shares one by one; it fails unless the core ends unsealed.
func (k *keyCore) unseal(shares [][]byte) error {
	ctx := context.Background()
	for _, s := range shares {
		if err := k.c.Unseal(ctx, s); err != nil {
			return err
		}
	}
	if k.c.Sealed() {
		return errors.New("still sealed")
	}
	return nil
}

// resealWith seals the core and tries to unseal it with shares.
func (k *keyCore) resealWith(t *testing.T, shares [][]byte) error {
	t.Helper()
	if err := k.c.Seal(context.Background()); err != nil {
		t.Fatal(err)
	}
	k.c.ResetUnseal()
	return k.unseal(shares)
}

// tokenWorks reports whether tok is a live root token.
func (k *keyCore) tokenWorks(t *testing.T, tok string) bool {
	t.Helper()
	res, err := k.c.HandleRequest(context.Background(), &logical.Request{
		Operation: logical.ReadOperation, Path: "auth/token/lookup-self", ClientToken: tok,
	})
	if err != nil || res == nil || res.Response == nil {
		return false
	}
	return slices.Contains(anyStrings(res.Response.Data["policies"]), "root")
}

func anyStrings(v any) []string {
	switch s := v.(type) {
	case []string:
		return s
	case []any:
		out := make([]string, 0, len(s))
		for _, e := range s {
			if str, ok := e.(string); ok {
				out = append(out, str)
			}
		}
		return out
	}
	return nil
}

// wantStatus checks an error's HTTP status and message.
func wantStatus(t *testing.T, err error, status int, contains string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %d %q", status, contains)
	}
	got, msg := logical.StatusOf(err)
	if errors.Is(err, ErrSealed) {
		got = 503
	}
	if got != status || !strings.Contains(msg, contains) {
		t.Fatalf("got %d %q; want %d containing %q", got, msg, status, contains)
	}
}

// storedSeal is the seal's clear-text state: what a rekey changes.
func storedSeal(t *testing.T, k *keyCore) map[string]string {
	t.Helper()
	out := map[string]string{}
	for key, v := range k.phys.Dump() {
		if strings.HasPrefix(key, "core/seal-config") || strings.HasPrefix(key, "core/hsm/") {
			out[key] = string(v)
		}
	}
	if len(out) != 2 {
		t.Fatalf("seal state has %d entries: %v", len(out), out)
	}
	return out
}

func TestRekeyReplacesShares(t *testing.T) {
	k := newKeyCore(t, 5, 3)
	ctx := context.Background()
	st, err := k.c.keyops.RekeyStatus(ctx)
	if err != nil || st.Started || st.Required != 3 {
		t.Fatalf("idle status %+v %v", st, err)
	}
	st, err = k.c.keyops.RekeyInit(ctx, keyops.RekeyRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !st.Started || st.Nonce == "" || st.T != 2 || st.N != 3 || st.Required != 3 || st.Progress != 0 {
		t.Fatalf("status after init %+v", st)
	}
	var res *keyops.RekeyResult
	for i, share := range k.keys[1:4] {
		res, err = k.c.keyops.RekeyUpdate(ctx, share, st.Nonce)
		if err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			if res != nil {
				t.Fatalf("completed after %d shares", i+1)
			}
			if cur, _ := k.c.keyops.RekeyStatus(ctx); cur.Progress != i+1 {
				t.Fatalf("progress %d after %d shares", cur.Progress, i+1)
			}
		}
	}
	if res == nil || len(res.Keys) != 3 || res.Nonce != st.Nonce || res.VerificationRequired {
		t.Fatalf("result %+v", res)
	}
	if after, _ := k.c.keyops.RekeyStatus(ctx); after.Started || after.Required != 2 {
		t.Fatalf("status after rekey %+v", after)
	}
	// The same data is behind the new shares: the old root token still works.
	if err := k.resealWith(t, k.keys[:3]); err == nil {
		t.Fatal("old shares unsealed after rekey")
	}
	if err := k.resealWith(t, res.Keys[1:]); err != nil {
		t.Fatalf("new shares: %v", err)
	}
	if !k.tokenWorks(t, k.root) {
		t.Fatal("root token lost across rekey")
	}
	sst, _ := k.c.SealStatus(ctx)
	if sst.T != 2 || sst.N != 3 {
		t.Fatalf("seal status %d/%d", sst.T, sst.N)
	}
}

func TestRekeyWrongSharesChangeNothing(t *testing.T) {
	k := newKeyCore(t, 3, 2)
	other := newKeyCore(t, 3, 2)
	ctx := context.Background()
	before := storedSeal(t, k)
	st, err := k.c.keyops.RekeyInit(ctx, keyops.RekeyRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][][]byte{
		{k.keys[0], other.keys[1]},     // one of ours, one foreign
		{other.keys[0], other.keys[1]}, // a foreign quorum
	} {
		if _, err := k.c.keyops.RekeyUpdate(ctx, bad[0], st.Nonce); err != nil {
			t.Fatal(err)
		}
		_, err := k.c.keyops.RekeyUpdate(ctx, bad[1], st.Nonce)
		wantStatus(t, err, 400, "not a quorum of the current unseal keys; progress was reset")
		cur, _ := k.c.keyops.RekeyStatus(ctx)
		if !cur.Started || cur.Progress != 0 || cur.Nonce != st.Nonce {
			t.Fatalf("after a failed quorum %+v", cur)
		}
	}
	if !maps2Equal(before, storedSeal(t, k)) {
		t.Fatal("seal state changed after a failed rekey")
	}
	if err := k.resealWith(t, k.keys[1:]); err != nil {
		t.Fatalf("old shares stopped working: %v", err)
	}
}

func maps2Equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestRekeyInputErrors(t *testing.T) {
	k := newKeyCore(t, 3, 2)
	ctx := context.Background()
	pub, _, err := pgp.NewKeyPair("op")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		req      keyops.RekeyRequest
		contains string
	}{
		{"threshold above shares", keyops.RekeyRequest{SecretShares: 2, SecretThreshold: 3}, "threshold greater than the total shares"},
		{"no shares", keyops.RekeyRequest{}, "shares must be at least one"},
		{"threshold one of many", keyops.RekeyRequest{SecretShares: 3, SecretThreshold: 1}, "threshold must be greater than one"},
		{"too many shares", keyops.RekeyRequest{SecretShares: 256, SecretThreshold: 2}, "less than 256"},
		{"backup without pgp", keyops.RekeyRequest{SecretShares: 1, SecretThreshold: 1, Backup: true}, "without providing PGP keys"},
		{"backup", keyops.RekeyRequest{SecretShares: 1, SecretThreshold: 1, Backup: true, PGPKeys: []string{pub}}, "not supported"},
		{"pgp count", keyops.RekeyRequest{SecretShares: 2, SecretThreshold: 2, PGPKeys: []string{pub}}, "incorrect number of PGP keys"},
		{"keybase", keyops.RekeyRequest{SecretShares: 1, SecretThreshold: 1, PGPKeys: []string{"keybase:someone"}}, "keybase lookups are not supported"},
		{"bad pgp", keyops.RekeyRequest{SecretShares: 1, SecretThreshold: 1, PGPKeys: []string{"bm90IGEga2V5"}}, "error parsing PGP key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := k.c.keyops.RekeyInit(ctx, tc.req)
			wantStatus(t, err, 400, tc.contains)
			if st, _ := k.c.keyops.RekeyStatus(ctx); st.Started {
				t.Fatal("a refused init started a rekey")
			}
		})
	}

	st, err := k.c.keyops.RekeyInit(ctx, keyops.RekeyRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = k.c.keyops.RekeyInit(ctx, keyops.RekeyRequest{SecretShares: 1, SecretThreshold: 1})
	wantStatus(t, err, 400, "rekey already in progress")
	_, err = k.c.keyops.RekeyUpdate(ctx, k.keys[0], "wrong-nonce")
	wantStatus(t, err, 400, "incorrect nonce supplied")
	_, err = k.c.keyops.RekeyUpdate(ctx, []byte("short"), st.Nonce)
	wantStatus(t, err, 400, "shorter than minimum")
	_, err = k.c.keyops.RekeyUpdate(ctx, make([]byte, 64), st.Nonce)
	wantStatus(t, err, 400, "longer than maximum")
	if _, err := k.c.keyops.RekeyUpdate(ctx, k.keys[0], st.Nonce); err != nil {
		t.Fatal(err)
	}
	_, err = k.c.keyops.RekeyUpdate(ctx, k.keys[0], st.Nonce)
	wantStatus(t, err, 400, "already been provided")
	if cur, _ := k.c.keyops.RekeyStatus(ctx); cur.Progress != 1 {
		t.Fatalf("progress %d, want 1", cur.Progress)
	}
	_, err = k.c.keyops.RekeyVerifyStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = k.c.keyops.RekeyVerify(ctx, k.keys[0], "")
	wantStatus(t, err, 400, "no rekey verification in progress")
}

func TestRekeyCancelLeavesNoTrace(t *testing.T) {
	k := newKeyCore(t, 3, 2)
	ctx := context.Background()
	if err := k.c.keyops.RekeyCancel(ctx, ""); err != nil {
		t.Fatalf("cancel with nothing started: %v", err)
	}
	st, err := k.c.keyops.RekeyInit(ctx, keyops.RekeyRequest{SecretShares: 2, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.c.keyops.RekeyUpdate(ctx, k.keys[0], st.Nonce); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, k.c.keyops.RekeyCancel(ctx, ""), 400, "invalid request")
	wantStatus(t, k.c.keyops.RekeyCancel(ctx, "other"), 400, "invalid request")
	if err := k.c.keyops.RekeyCancel(ctx, st.Nonce); err != nil {
		t.Fatal(err)
	}
	cur, _ := k.c.keyops.RekeyStatus(ctx)
	if cur.Started || cur.Nonce != "" || cur.Progress != 0 || cur.T != 0 || cur.N != 0 {
		t.Fatalf("status after cancel %+v", cur)
	}
	_, err = k.c.keyops.RekeyUpdate(ctx, k.keys[1], st.Nonce)
	wantStatus(t, err, 400, "no barrier rekey in progress")

	// A new attempt starts from zero: the share given before is forgotten.
	st2, err := k.c.keyops.RekeyInit(ctx, keyops.RekeyRequest{SecretShares: 2, SecretThreshold: 2})
	if err != nil || st2.Nonce == st.Nonce || st2.Progress != 0 {
		t.Fatalf("second init %+v %v", st2, err)
	}
	if res, err := k.c.keyops.RekeyUpdate(ctx, k.keys[1], st2.Nonce); err != nil || res != nil {
		t.Fatalf("one share completed a threshold-2 rekey: %+v %v", res, err)
	}

	// An old attempt (past Vault's ten-minute grace, on the core's clock)
	// can be cancelled without its nonce.
	k.clock.advance(10*time.Minute + time.Second)
	if err := k.c.keyops.RekeyCancel(ctx, ""); err != nil {
		t.Fatalf("cancel of an old attempt: %v", err)
	}
	if cur, _ := k.c.keyops.RekeyStatus(ctx); cur.Started {
		t.Fatal("old attempt survived cancel")
	}
}

func TestRekeyVerification(t *testing.T) {
	k := newKeyCore(t, 3, 2)
	other := newKeyCore(t, 3, 2)
	ctx := context.Background()
	before := storedSeal(t, k)
	st, err := k.c.keyops.RekeyInit(ctx, keyops.RekeyRequest{SecretShares: 3, SecretThreshold: 2, RequireVerification: true})
	if err != nil || !st.VerificationRequired {
		t.Fatalf("init %+v %v", st, err)
	}
	vs, err := k.c.keyops.RekeyVerifyStatus(ctx)
	if err != nil || vs.Started || vs.T != 2 || vs.N != 3 {
		t.Fatalf("verify status before update %+v %v", vs, err)
	}
	var res *keyops.RekeyResult
	for _, s := range k.keys[:2] {
		if res, err = k.c.keyops.RekeyUpdate(ctx, s, st.Nonce); err != nil {
			t.Fatal(err)
		}
	}
	if res == nil || !res.VerificationRequired || res.VerificationNonce == "" || len(res.Keys) != 3 {
		t.Fatalf("update result %+v", res)
	}
	if !maps2Equal(before, storedSeal(t, k)) {
		t.Fatal("new shares took effect before verification")
	}
	cur, _ := k.c.keyops.RekeyStatus(ctx)
	if !cur.Started || cur.VerificationNonce != res.VerificationNonce {
		t.Fatalf("status during verification %+v", cur)
	}
	_, err = k.c.keyops.RekeyUpdate(ctx, k.keys[2], st.Nonce)
	wantStatus(t, err, 400, "verification must be performed")

	nonce := res.VerificationNonce
	_, err = k.c.keyops.RekeyVerify(ctx, res.Keys[0], "wrong")
	wantStatus(t, err, 400, "incorrect nonce supplied")
	// Old shares are not the new ones: verification fails, resets and
	// changes its nonce.
	if _, err := k.c.keyops.RekeyVerify(ctx, res.Keys[0], nonce); err != nil {
		t.Fatal(err)
	}
	_, err = k.c.keyops.RekeyVerify(ctx, other.keys[0], nonce)
	wantStatus(t, err, 400, "rekey verification failed")
	vs, _ = k.c.keyops.RekeyVerifyStatus(ctx)
	if !vs.Started || vs.Progress != 0 || vs.Nonce == nonce {
		t.Fatalf("verify status after failure %+v", vs)
	}
	nonce = vs.Nonce
	if _, err := k.c.keyops.RekeyVerify(ctx, res.Keys[1], nonce); err != nil {
		t.Fatal(err)
	}
	restarted, err := k.c.keyops.RekeyVerifyRestart(ctx)
	if err != nil || restarted.Progress != 0 || restarted.Nonce == nonce {
		t.Fatalf("restart %+v %v", restarted, err)
	}
	if !maps2Equal(before, storedSeal(t, k)) {
		t.Fatal("seal state changed during verification")
	}
	var vr *keyops.RekeyVerifyResult
	for _, s := range res.Keys[1:] {
		if vr, err = k.c.keyops.RekeyVerify(ctx, s, restarted.Nonce); err != nil {
			t.Fatal(err)
		}
	}
	if vr == nil || !vr.Complete || vr.Nonce != restarted.Nonce {
		t.Fatalf("verify result %+v", vr)
	}
	if _, err := k.c.keyops.RekeyVerifyStatus(ctx); err == nil {
		t.Fatal("verification still reported after completion")
	}
	if err := k.resealWith(t, k.keys[:2]); err == nil {
		t.Fatal("old shares unsealed after a verified rekey")
	}
	if err := k.resealWith(t, [][]byte{res.Keys[2], res.Keys[0]}); err != nil {
		t.Fatalf("new shares: %v", err)
	}
}

func TestRekeyPGPEncryptsShares(t *testing.T) {
	k := newKeyCore(t, 1, 1)
	ctx := context.Background()
	pubA, privA, err := pgp.NewKeyPair("a")
	if err != nil {
		t.Fatal(err)
	}
	pubB, privB, err := pgp.NewKeyPair("b")
	if err != nil {
		t.Fatal(err)
	}
	st, err := k.c.keyops.RekeyInit(ctx, keyops.RekeyRequest{SecretShares: 2, SecretThreshold: 2, PGPKeys: []string{pubA, pubB}})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.PGPFingerprints) != 2 || st.PGPFingerprints[0] == st.PGPFingerprints[1] {
		t.Fatalf("fingerprints %v", st.PGPFingerprints)
	}
	res, err := k.c.keyops.RekeyUpdate(ctx, k.keys[0], st.Nonce)
	if err != nil || res == nil {
		t.Fatalf("update %v %v", res, err)
	}
	if !slices.Equal(res.PGPFingerprints, st.PGPFingerprints) {
		t.Fatalf("result fingerprints %v", res.PGPFingerprints)
	}
	var shares [][]byte
	for i, priv := range []*pgp.PrivateKey{privA, privB} {
		plain, err := priv.Decrypt(res.Keys[i])
		if err != nil {
			t.Fatalf("share %d: %v", i, err)
		}
		share, err := hex.DecodeString(string(plain))
		if err != nil {
			t.Fatalf("share %d is not hex: %v", i, err)
		}
		shares = append(shares, share)
	}
	if _, err := privA.Decrypt(res.Keys[1]); err == nil {
		t.Fatal("key A decrypted B's share")
	}
	if err := k.resealWith(t, shares); err != nil {
		t.Fatalf("decrypted shares: %v", err)
	}
}

func TestRekeyStateRules(t *testing.T) {
	ctx := context.Background()
	c, err := New(Config{Physical: inmem.New(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.keyops.RekeyStatus(ctx)
	wantStatus(t, err, 400, "not initialized")
	_, err = c.keyops.GenerateRootStatus(ctx)
	wantStatus(t, err, 400, "not initialized")

	k := newKeyCore(t, 3, 2)
	st, err := k.c.keyops.RekeyInit(ctx, keyops.RekeyRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.c.keyops.RekeyUpdate(ctx, k.keys[0], st.Nonce); err != nil {
		t.Fatal(err)
	}
	if err := k.c.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"status": func() error { _, err := k.c.keyops.RekeyStatus(ctx); return err },
		"init": func() error {
			_, err := k.c.keyops.RekeyInit(ctx, keyops.RekeyRequest{SecretShares: 1, SecretThreshold: 1})
			return err
		},
		"update": func() error { _, err := k.c.keyops.RekeyUpdate(ctx, k.keys[1], st.Nonce); return err },
		"cancel": func() error { return k.c.keyops.RekeyCancel(ctx, st.Nonce) },
		"verify": func() error { _, err := k.c.keyops.RekeyVerifyStatus(ctx); return err },
	} {
		if err := call(); !errors.Is(err, ErrSealed) {
			t.Errorf("%s while sealed: %v", name, err)
		}
	}
	// Sealing forgets the attempt and the share given to it.
	if err := k.unseal(k.keys[1:]); err != nil {
		t.Fatal(err)
	}
	if cur, _ := k.c.keyops.RekeyStatus(ctx); cur.Started || cur.Progress != 0 {
		t.Fatalf("attempt survived a seal: %+v", cur)
	}
	_, err = k.c.keyops.RekeyUpdate(ctx, k.keys[1], st.Nonce)
	wantStatus(t, err, 400, "no barrier rekey in progress")
}
