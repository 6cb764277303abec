package core

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/core/keyops"

	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/pgp"
	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/physical/inmem"
	"github.com/strongbox/strongbox/internal/seal"
	"github.com/strongbox/strongbox/internal/seal/awskms"
	"github.com/strongbox/strongbox/internal/seal/sealtest"
)

// outageWrapper is a real awskms Wrapper (on local-kms) whose calls the
// test can cut, as a network partition from the KMS would.
type outageWrapper struct {
	seal.Wrapper
	down atomic.Bool
}

var errOutage = errors.New("dial tcp: connection refused (test outage)")

func (w *outageWrapper) Encrypt(ctx context.Context, pt []byte) (*seal.BlobInfo, error) {
	if w.down.Load() {
		return nil, errOutage
	}
	return w.Wrapper.Encrypt(ctx, pt)
}

func (w *outageWrapper) Decrypt(ctx context.Context, b *seal.BlobInfo) ([]byte, error) {
	if w.down.Load() {
		return nil, errOutage
	}
	return w.Wrapper.Decrypt(ctx, b)
}

func newKMSWrapper(t *testing.T) *outageWrapper {
	t.Helper()
	k := sealtest.StartLocalKMS(t)
	keyID, _ := k.CreateKey(t)
	w, err := awskms.New(context.Background(), map[string]string{
		"region": sealtest.LocalKMSRegion, "access_key": sealtest.LocalKMSAccessKey,
		"secret_key": sealtest.LocalKMSSecretKey, "kms_key_id": keyID, "endpoint": k.Endpoint,
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return &outageWrapper{Wrapper: w}
}

// autoCore is a core under an auto seal, with its storage and its log.
type autoCore struct {
	*keyCore
	w   *outageWrapper
	log *syncLog
}

type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// openAutoCore builds a sealed core over phys with the wrapper.
func openAutoCore(t *testing.T, phys *inmem.Backend, w seal.Wrapper, log *syncLog) *Core {
	t.Helper()
	c, err := New(Config{
		Physical: phys, Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		SecretEngines: builtin.SecretEngines(), AuthMethods: builtin.AuthMethods(), Seal: w,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Seal(context.Background()) })
	return c
}

// newAutoCore initializes a core under an awskms seal with recovery n/th.
func newAutoCore(t *testing.T, n, th int) *autoCore {
	t.Helper()
	w := newKMSWrapper(t)
	log := &syncLog{}
	phys := inmem.New()
	c := openAutoCore(t, phys, w, log)
	res, err := c.Init(context.Background(), InitRequest{RecoveryShares: n, RecoveryThreshold: th})
	if err != nil {
		t.Fatal(err)
	}
	a := &autoCore{keyCore: &keyCore{c: c, phys: phys, keys: res.RecoveryKeys, root: res.RootToken}, w: w, log: log}
	t.Cleanup(func() { a.noKeysInLog(t) })
	return a
}

// reopen is a restart: a new sealed core over the same storage and seal.
func (a *autoCore) reopen(t *testing.T) {
	t.Helper()
	if err := a.c.Seal(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.c = openAutoCore(t, a.phys, a.w, a.log)
}

func (a *autoCore) noKeysInLog(t *testing.T) {
	t.Helper()
	log := a.log.String()
	for _, k := range a.keys {
		if strings.Contains(log, hex.EncodeToString(k)) || strings.Contains(log, base64.StdEncoding.EncodeToString(k)) {
			t.Errorf("the log shows a recovery key share:\n%s", log)
		}
	}
	if a.root != "" && strings.Contains(log, a.root) {
		t.Errorf("the log shows the root token")
	}
}

func TestAutoSealInit(t *testing.T) {
	a := newAutoCore(t, 5, 3)
	ctx := context.Background()
	if a.c.Sealed() {
		t.Fatal("an auto-sealed core is sealed after init")
	}
	if len(a.keys) != 5 || !a.tokenWorks(t, a.root) {
		t.Fatalf("init gave %d recovery keys; root token works: %v", len(a.keys), a.tokenWorks(t, a.root))
	}
	st, err := a.c.SealStatus(ctx)
	if err != nil || st.Type != "awskms" || !st.RecoverySeal || st.RecoverySealType != "shamir" ||
		st.T != 3 || st.N != 5 || !st.Initialized || st.Sealed {
		t.Fatalf("seal status %+v %v", st, err)
	}
	// The recovery key is stored only through the barrier.
	combined, err := seal.CombineShares(a.keys[:3])
	if err != nil {
		t.Fatal(err)
	}
	for key, v := range a.phys.Dump() {
		if bytes.Contains(v, combined) {
			t.Fatalf("%s holds the recovery key in the clear", key)
		}
	}
	if _, err := a.c.Init(ctx, InitRequest{RecoveryShares: 5, RecoveryThreshold: 3}); !errors.Is(err, ErrAlreadyInitialized) {
		t.Fatalf("second init: %v", err)
	}
}

func TestAutoSealInitValidation(t *testing.T) {
	w := newKMSWrapper(t)
	pub, priv, err := pgp.NewKeyPair("recovery")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		req  InitRequest
		want string
	}{
		{"no recovery shares", InitRequest{}, "recovery configuration must specify a positive number of shares"},
		{"threshold above shares", InitRequest{RecoveryShares: 2, RecoveryThreshold: 3}, "invalid recovery configuration: threshold cannot be larger than shares"},
		{"threshold one of many", InitRequest{RecoveryShares: 3, RecoveryThreshold: 1}, "invalid recovery configuration: threshold must be greater than one"},
		{"pgp keys count", InitRequest{RecoveryShares: 2, RecoveryThreshold: 2, RecoveryPGPKeys: []string{pub}}, "incorrect number of PGP keys for recovery"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			phys := inmem.New()
			c := openAutoCore(t, phys, w, &syncLog{})
			_, err := c.Init(context.Background(), tc.req)
			wantStatus(t, err, 400, tc.want)
			if len(phys.Dump()) != 0 {
				t.Fatalf("a refused init stored %d entries", len(phys.Dump()))
			}
		})
	}

	// With the key service down nothing is stored and a later init works.
	phys := inmem.New()
	c := openAutoCore(t, phys, w, &syncLog{})
	w.down.Store(true)
	if _, err := c.Init(context.Background(), InitRequest{RecoveryShares: 1, RecoveryThreshold: 1}); err == nil {
		t.Fatal("init succeeded with the key service down")
	}
	if len(phys.Dump()) != 0 {
		t.Fatalf("a failed init stored %d entries", len(phys.Dump()))
	}
	w.down.Store(false)
	res, err := c.Init(context.Background(), InitRequest{RecoveryShares: 2, RecoveryThreshold: 2, RecoveryPGPKeys: []string{pub, pub}})
	if err != nil || len(res.RecoveryKeys) != 2 || len(res.Keys) != 0 || c.Sealed() {
		t.Fatalf("init after the outage: %v, sealed %v", err, c.Sealed())
	}
	// Each recovery share comes PGP-encrypted, hex inside, as Vault does.
	var shares [][]byte
	for _, msg := range res.RecoveryKeys {
		plain, err := priv.Decrypt(msg)
		if err != nil {
			t.Fatalf("decrypt recovery share: %v", err)
		}
		share, err := hex.DecodeString(string(plain))
		if err != nil {
			t.Fatal(err)
		}
		shares = append(shares, share)
	}
	combined, err := seal.CombineShares(shares)
	if err != nil {
		t.Fatalf("decrypted shares: %v", err)
	}
	if err := c.keyops.MatchRecoveryKey(context.Background(), combined); err != nil {
		t.Fatalf("decrypted shares: %v", err)
	}
}

func TestAutoUnsealAtRestart(t *testing.T) {
	a := newAutoCore(t, 3, 2)
	a.reopen(t)
	if !a.c.Sealed() {
		t.Fatal("a new core starts unsealed")
	}
	if err := a.c.AutoUnseal(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a.c.Sealed() || !a.tokenWorks(t, a.root) {
		t.Fatal("auto-unseal did not bring the node up")
	}
	if err := a.c.AutoUnseal(context.Background()); err != nil {
		t.Fatalf("auto-unseal of an unsealed node: %v", err)
	}
}

func TestAutoUnsealWaitsForKeyService(t *testing.T) {
	a := newAutoCore(t, 3, 2)
	a.w.down.Store(true)
	a.reopen(t)
	err := a.c.AutoUnseal(context.Background())
	if err == nil || errors.Is(err, seal.ErrInvalidKey) || !a.c.Sealed() {
		t.Fatalf("auto-unseal with the key service down: %v, sealed %v", err, a.c.Sealed())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.c.RunAutoUnseal(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	// The loop logs why it waits, then unseals once the service is back.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(a.log.String(), "key service is unavailable") {
		if time.Now().After(deadline) {
			t.Fatalf("no log of the outage:\n%s", a.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !a.c.Sealed() {
		t.Fatal("unsealed while the key service is down")
	}
	a.w.down.Store(false)
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		t.Fatal("the loop did not unseal within its backoff")
	}
	if a.c.Sealed() || !a.tokenWorks(t, a.root) {
		t.Fatal("not unsealed after the key service came back")
	}
}

func TestAutoUnsealWrongKey(t *testing.T) {
	a := newAutoCore(t, 3, 2)
	ctx := context.Background()
	// A blob the service decrypts, but to another root key.
	other := bytes.Repeat([]byte{7}, 32)
	wrapped, err := seal.NewAutoSeal(a.phys, a.w).Wrap(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := seal.WrappedRootKey(ctx, a.phys)
	a.reopen(t)
	for name, blob := range map[string][]byte{"other root key": wrapped, "not a blob": []byte("garbage")} {
		if err := a.phys.Put(ctx, &physical.Entry{Key: "core/hsm/barrier-unseal-keys", Value: blob}); err != nil {
			t.Fatal(err)
		}
		err := a.c.AutoUnseal(ctx)
		if !errors.Is(err, seal.ErrInvalidKey) || !a.c.Sealed() || !a.c.barrier.Sealed() {
			t.Fatalf("%s: %v, sealed %v, barrier sealed %v", name, err, a.c.Sealed(), a.c.barrier.Sealed())
		}
	}
	if err := a.phys.Put(ctx, &physical.Entry{Key: "core/hsm/barrier-unseal-keys", Value: good}); err != nil {
		t.Fatal(err)
	}
	if err := a.c.AutoUnseal(ctx); err != nil || a.c.Sealed() {
		t.Fatalf("with the right blob back: %v", err)
	}
}

// TestUnsealWithRecoveryKeys: a node sealed by hand unseals with a quorum
// of recovery keys, the key service decrypting the root key; recovery keys
// never decrypt anything by themselves: with the key service down they do
// not unseal, and the error says why. Wrong shares never unseal.
func TestUnsealWithRecoveryKeys(t *testing.T) {
	a := newAutoCore(t, 5, 3)
	other := newAutoCore(t, 5, 3)
	ctx := context.Background()
	if err := a.c.Unseal(ctx, a.keys[0]); err != nil || a.c.Sealed() {
		t.Fatalf("a share given to an unsealed node: %v", err)
	}
	if err := a.c.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	// Below the threshold: progress, still sealed.
	for i, k := range a.keys[:2] {
		if err := a.c.Unseal(ctx, k); err != nil {
			t.Fatal(err)
		}
		if st, _ := a.c.SealStatus(ctx); !st.Sealed || st.Progress != i+1 {
			t.Fatalf("after %d recovery shares: %+v", i+1, st)
		}
	}
	// Key service down: the quorum is not enough, and the error says why.
	a.w.down.Store(true)
	err := a.c.Unseal(ctx, a.keys[2])
	wantStatus(t, err, 503, "key service could not decrypt the root key")
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("the error hides the key service's failure: %v", err)
	}
	if !a.c.Sealed() || !a.c.barrier.Sealed() {
		t.Fatal("recovery keys unsealed the node without the key service")
	}
	if st, _ := a.c.SealStatus(ctx); st.Progress != 0 {
		t.Fatalf("progress after the failed attempt: %d", st.Progress)
	}
	a.w.down.Store(false)

	// Another cluster's recovery shares (a quorum of the wrong key): the
	// barrier opens with the service's key but is sealed again at once.
	for i, k := range other.keys[:3] {
		err := a.c.Unseal(ctx, k)
		if i < 2 && err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			wantStatus(t, err, 400, "not a quorum of the current recovery keys")
		}
	}
	if !a.c.Sealed() || !a.c.barrier.Sealed() {
		t.Fatal("foreign recovery keys unsealed the node")
	}

	// The right quorum with the key service up unseals.
	for _, k := range a.keys[2:5] {
		if err := a.c.Unseal(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if a.c.Sealed() || a.c.barrier.Sealed() {
		t.Fatal("a quorum of recovery keys with the key service up did not unseal")
	}
	if te, err := a.c.tokens.Lookup(ctx, a.root); err != nil || te == nil {
		t.Fatalf("root token after the recovery unseal: %v", err)
	}
}

func TestGenerateRootWithRecoveryKeys(t *testing.T) {
	a := newAutoCore(t, 3, 2)
	other := newAutoCore(t, 3, 2)
	ctx := context.Background()
	st, err := a.c.keyops.GenerateRootInit(ctx, "", "")
	if err != nil || st.Required != 2 {
		t.Fatalf("init %+v %v", st, err)
	}
	if _, err := a.c.keyops.GenerateRootUpdate(ctx, other.keys[0], st.Nonce); err != nil {
		t.Fatal(err)
	}
	_, err = a.c.keyops.GenerateRootUpdate(ctx, other.keys[1], st.Nonce)
	wantStatus(t, err, 400, "not a quorum of the current recovery keys")
	res := generate(t, a.keyCore, st.Nonce, a.keys[1:])
	tok, err := pgp.DecodeToken(res.EncodedToken, st.OTP)
	if err != nil || !res.Complete || !a.tokenWorks(t, tok) {
		t.Fatalf("generated root token: %+v %v", res, err)
	}
}

func TestRecoveryRekey(t *testing.T) {
	a := newAutoCore(t, 5, 3)
	ctx := context.Background()
	if _, err := a.c.keyops.RecoveryRekeyInit(ctx, keyops.RekeyRequest{SecretShares: 7, SecretThreshold: 4, StoredShares: 1}); err == nil {
		t.Fatal("stored_shares accepted for the recovery key")
	}
	st, err := a.c.keyops.RecoveryRekeyInit(ctx, keyops.RekeyRequest{SecretShares: 7, SecretThreshold: 4, RequireVerification: true})
	if err != nil || st.Required != 3 || st.T != 4 || st.N != 7 {
		t.Fatalf("init %+v %v", st, err)
	}
	if bst, _ := a.c.keyops.RekeyStatus(ctx); bst.Started {
		t.Fatal("a recovery rekey shows as a barrier rekey")
	}
	var res *keyops.RekeyResult
	for _, k := range a.keys[2:] {
		if res, err = a.c.keyops.RecoveryRekeyUpdate(ctx, k, st.Nonce); err != nil {
			t.Fatal(err)
		}
	}
	if res == nil || len(res.Keys) != 7 || res.VerificationNonce == "" {
		t.Fatalf("update result %+v", res)
	}
	// Until verified, the old recovery keys still rule.
	if sst, _ := a.c.SealStatus(ctx); sst.T != 3 || sst.N != 5 {
		t.Fatalf("seal status before verification %d/%d", sst.T, sst.N)
	}
	var vres *keyops.RekeyVerifyResult
	for _, k := range res.Keys[:4] {
		if vres, err = a.c.keyops.RecoveryRekeyVerify(ctx, k, res.VerificationNonce); err != nil {
			t.Fatal(err)
		}
	}
	if vres == nil || !vres.Complete {
		t.Fatalf("verify %+v", vres)
	}
	if sst, _ := a.c.SealStatus(ctx); sst.T != 4 || sst.N != 7 {
		t.Fatalf("seal status after rekey %d/%d", sst.T, sst.N)
	}
	// The new shares authorize; the old ones no longer do.
	gst, _ := a.c.keyops.GenerateRootInit(ctx, "", "")
	if gst.Required != 4 {
		t.Fatalf("generate-root requires %d shares after the rekey", gst.Required)
	}
	for _, k := range a.keys[:4] {
		_, err = a.c.keyops.GenerateRootUpdate(ctx, k, gst.Nonce)
	}
	wantStatus(t, err, 400, "not a quorum of the current recovery keys")
	if res := generate(t, a.keyCore, gst.Nonce, res.Keys[3:]); !res.Complete {
		t.Fatalf("generate-root with the new shares %+v", res)
	}

	shamir := newKeyCore(t, 1, 1)
	_, err = shamir.c.keyops.RecoveryRekeyStatus(ctx)
	wantStatus(t, err, 400, "recovery keys are used only with auto-unseal seals")
}

func TestBarrierRekeyUnderAutoSeal(t *testing.T) {
	a := newAutoCore(t, 3, 2)
	ctx := context.Background()
	pub, _, err := pgp.NewKeyPair("x")
	if err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		req  keyops.RekeyRequest
		want string
	}{
		{keyops.RekeyRequest{SecretShares: 1, SecretThreshold: 1, PGPKeys: []string{pub}}, "PGP key encryption not supported when using stored keys"},
		{keyops.RekeyRequest{RequireVerification: true}, "requiring verification not supported when rekeying the barrier key with recovery keys"},
	}
	for _, tc := range refused {
		_, err := a.c.keyops.RekeyInit(ctx, tc.req)
		wantStatus(t, err, 400, tc.want)
	}
	before, _ := seal.WrappedRootKey(ctx, a.phys)
	st, err := a.c.keyops.RekeyInit(ctx, keyops.RekeyRequest{SecretShares: 5, SecretThreshold: 3})
	if err != nil || st.T != 1 || st.N != 1 || st.Required != 2 {
		t.Fatalf("init %+v %v", st, err)
	}
	var res *keyops.RekeyResult
	for _, k := range a.keys[:2] {
		if res, err = a.c.keyops.RekeyUpdate(ctx, k, st.Nonce); err != nil {
			t.Fatal(err)
		}
	}
	if res == nil || len(res.Keys) != 0 {
		t.Fatalf("result %+v", res)
	}
	after, _ := seal.WrappedRootKey(ctx, a.phys)
	if bytes.Equal(before, after) {
		t.Fatal("the root key was not re-wrapped")
	}
	if sst, _ := a.c.SealStatus(ctx); sst.T != 2 || sst.N != 3 {
		t.Fatalf("a barrier rekey changed the recovery config: %+v", sst)
	}
	a.reopen(t)
	if err := a.c.AutoUnseal(ctx); err != nil || !a.tokenWorks(t, a.root) {
		t.Fatalf("auto-unseal after the rekey: %v", err)
	}
}

func TestCheckSealMismatch(t *testing.T) {
	a := newAutoCore(t, 1, 1)
	shamirOverAuto := openAutoCore(t, a.phys, nil, &syncLog{})
	if err := shamirOverAuto.CheckSeal(context.Background()); !errors.Is(err, ErrSealMismatch) {
		t.Fatalf("shamir core over auto storage: %v", err)
	}
	// An auto seal over Shamir storage is Vault's Shamir → auto migration:
	// migration mode, never an auto-unseal.
	k := newKeyCore(t, 1, 1)
	autoOverShamir := openAutoCore(t, k.phys, a.w, &syncLog{})
	if err := autoOverShamir.CheckSeal(context.Background()); err != nil {
		t.Fatalf("auto core over shamir storage: %v", err)
	}
	if err := autoOverShamir.AutoUnseal(context.Background()); !errors.Is(err, ErrSealMigrationPending) {
		t.Fatalf("auto-unseal over shamir storage: %v", err)
	}
	if err := openAutoCore(t, inmem.New(), a.w, &syncLog{}).CheckSeal(context.Background()); err != nil {
		t.Fatalf("uninitialized storage: %v", err)
	}
}
