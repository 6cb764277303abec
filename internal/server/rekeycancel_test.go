package server

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/seal/sealtest"
)

// testClock is a server clock the test moves forward.
type testClock struct{ skew atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Now().Add(time.Duration(c.skew.Load())) }
func (c *testClock) advance(d time.Duration) { c.skew.Add(int64(d)) }

// TestRekeyCancelNeedsNonceWhileFresh: as in Vault 1.20+ (CVE-2025-4656), a
// rekey or recovery-key rekey younger than ten minutes is cancelled only with
// its nonce; an older one also without (the official client's
// DELETE with no body).
func TestRekeyCancelNeedsNonceWhileFresh(t *testing.T) {
	t.Run("rekey", func(t *testing.T) {
		clk := &testClock{}
		srv := startServer(t, Options{ConfigPaths: []string{fileConfig(t, t.TempDir(), "")}, Logger: quietLogger(), Now: clk.now})
		c := srv.client("")
		_, root := initUnseal(t, c)
		c.SetToken(root)
		checkCancelRule(t, clk, rekeyCalls{
			init: func() (string, error) {
				st, err := c.Sys().RekeyInit(&vault.RekeyInitRequest{SecretShares: 3, SecretThreshold: 2})
				return nonceOf(st), err
			},
			status:      func() (bool, error) { st, err := c.Sys().RekeyStatus(); return st != nil && st.Started, err },
			cancel:      c.Sys().RekeyCancel,
			cancelNonce: c.Sys().RekeyCancelWithNonce,
			what:        "a rekey",
		})
	})
	t.Run("recovery", func(t *testing.T) {
		kms := newKMSEmulator(t)
		keyID, _ := (&sealtest.LocalKMS{Endpoint: kms.endpoint()}).CreateKey(t)
		clk := &testClock{}
		n := newAutoNode(t, awsKMSStanza(kms, keyID))
		n.now = clk.now
		c := n.start()
		init, err := c.Sys().Init(&vault.InitRequest{RecoveryShares: 3, RecoveryThreshold: 2})
		if err != nil {
			t.Fatal(err)
		}
		waitSealStatus(t, c, false, 10*time.Second)
		c.SetToken(init.RootToken)
		checkCancelRule(t, clk, rekeyCalls{
			init: func() (string, error) {
				st, err := c.Sys().RekeyRecoveryKeyInit(&vault.RekeyInitRequest{SecretShares: 3, SecretThreshold: 2})
				return nonceOf(st), err
			},
			status: func() (bool, error) { st, err := c.Sys().RekeyRecoveryKeyStatus(); return st != nil && st.Started, err },
			// The client's RekeyRecoveryKeyCancel sends its DELETE to
			// sys/rekey/init (a bug in the client); WithNonce("") is the
			// same request at the right path.
			cancel:      func() error { return c.Sys().RekeyRecoveryKeyCancelWithNonce("") },
			cancelNonce: c.Sys().RekeyRecoveryKeyCancelWithNonce,
			what:        "a recovery-key rekey",
		})
	})
}

func nonceOf(st *vault.RekeyStatusResponse) string {
	if st == nil {
		return ""
	}
	return st.Nonce
}

type rekeyCalls struct {
	init        func() (string, error)
	status      func() (bool, error)
	cancel      func() error
	cancelNonce func(string) error
	what        string
}

func checkCancelRule(t *testing.T, clk *testClock, r rekeyCalls) {
	t.Helper()
	started := func() bool {
		t.Helper()
		ok, err := r.status()
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	nonce, err := r.init()
	if err != nil {
		t.Fatal(err)
	}
	// Fresh: no nonce, or a wrong one, is refused with a reason.
	err = r.cancel()
	assertStatus(t, err, 400)
	if err == nil || !strings.Contains(err.Error(), "missing nonce: "+r.what+" can be cancelled without its nonce only 10m0s after it started") {
		t.Fatalf("cancel without nonce of a fresh attempt: %v", err)
	}
	clk.advance(9 * time.Minute)
	assertStatus(t, r.cancel(), 400)
	assertStatus(t, r.cancelNonce("not-the-nonce"), 400)
	if !started() {
		t.Fatal("a refused cancel ended the attempt")
	}
	// The right nonce cancels at any age.
	if err := r.cancelNonce(nonce); err != nil {
		t.Fatalf("cancel with the nonce: %v", err)
	}
	if started() {
		t.Fatal("attempt survived a cancel with its nonce")
	}
	// Older than ten minutes: no nonce needed.
	if _, err := r.init(); err != nil {
		t.Fatal(err)
	}
	clk.advance(10*time.Minute + time.Second)
	if err := r.cancel(); err != nil {
		t.Fatalf("cancel without nonce of an old attempt: %v", err)
	}
	if started() {
		t.Fatal("old attempt survived a cancel without nonce")
	}
}
