package core

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/seal"
	"github.com/strongbox/strongbox/internal/seal/awskms"
	"github.com/strongbox/strongbox/internal/seal/sealtest"
)

// storedKeyID is the key the stored root key blob names.
func (n *sealNode) storedKeyID(t *testing.T) string {
	t.Helper()
	wrapped, err := seal.WrappedRootKey(context.Background(), n.phys)
	if err != nil {
		t.Fatal(err)
	}
	id, ok := seal.BlobKeyID(wrapped)
	if !ok {
		t.Fatal("the stored root key is not a key-service blob")
	}
	return id
}

// autoRestart restarts the node under w and auto-unseals it, then runs the
// active term's first round of seal upkeep (which the loop also runs).
func (n *sealNode) autoRestart(t *testing.T, w seal.Wrapper) error {
	t.Helper()
	c := n.open(t, w, nil)
	c.keyops.SetPace(time.Hour, 30*time.Second)
	if err := c.AutoUnseal(context.Background()); err != nil {
		return err
	}
	c.keyops.RunWork(context.Background())
	return nil
}

// At unseal the active node re-wraps the root key when the seal's current
// key changed (an HSM key_label, a KMS alias), and the old key can go.
func TestRewrapAtUnsealWhenKeyChanges(t *testing.T) {
	w := newTestWrapper(t, "test-hsm", "k1")
	n := newSealNode(t, w)
	if err := n.autoRestart(t, w); err != nil {
		t.Fatal(err)
	}
	if n.storedKeyID(t) != "k1" || containsLog(n, "seal re-wrap completed") {
		t.Fatal("re-wrapped without a key change")
	}
	w.rotateTo(t, "k2")
	if err := n.autoRestart(t, w); err != nil {
		t.Fatalf("auto-unseal with the old key still present: %v", err)
	}
	if got := n.storedKeyID(t); got != "k2" {
		t.Fatalf("stored blob names %q after the key change", got)
	}
	if !containsLog(n, "seal re-wrap completed") {
		t.Fatal("the re-wrap was not logged")
	}
	w.removeKey("k1")
	if err := n.autoRestart(t, w); err != nil {
		t.Fatalf("auto-unseal without the old key: %v", err)
	}
	n.secretReadable(t)
}

// Before the re-wrap, the old key is still needed: the test above is not
// passing by accident.
func TestRewrapNeededBeforeKeyRemoval(t *testing.T) {
	w := newTestWrapper(t, "test-hsm", "k1")
	n := newSealNode(t, w)
	w.rotateTo(t, "k2")
	w.removeKey("k1")
	if err := n.autoRestart(t, w); !errors.Is(err, seal.ErrInvalidKey) {
		t.Fatalf("auto-unseal with the wrapping key gone: %v", err)
	}
}

func TestSealwrapRewrapAPI(t *testing.T) {
	w := newTestWrapper(t, "test-hsm", "k1")
	n := newSealNode(t, w)
	status := func() map[string]any {
		return n.request(t, logical.ReadOperation, "sys/sealwrap/rewrap", nil).Data
	}
	if st := status(); st["is_running"] != false {
		t.Fatalf("status before any run: %v", st)
	}
	w.rotateTo(t, "k2")
	n.request(t, logical.UpdateOperation, "sys/sealwrap/rewrap", nil)
	deadline := time.Now().Add(10 * time.Second)
	var st map[string]any
	for {
		st = status()
		if st["is_running"] == false && st["entries"].(map[string]any)["processed"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the re-wrap never finished: %v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if e := st["entries"].(map[string]any); e["succeeded"] != 1 || e["failed"] != 0 {
		t.Fatalf("re-wrap entries: %v", e)
	}
	if n.storedKeyID(t) != "k2" {
		t.Fatal("the blob was not re-wrapped")
	}
	w.removeKey("k1")
	if err := n.autoRestart(t, w); err != nil {
		t.Fatalf("auto-unseal after the re-wrap: %v", err)
	}
	// Under the Shamir seal nothing is seal-wrapped: a run processes none.
	k := newSealNode(t, nil)
	k.request(t, logical.UpdateOperation, "sys/sealwrap/rewrap", nil)
	for {
		st := k.request(t, logical.ReadOperation, "sys/sealwrap/rewrap", nil).Data
		if st["is_running"] == false {
			if e := st["entries"].(map[string]any); e["processed"] != 0 {
				t.Fatalf("shamir re-wrap entries: %v", e)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the shamir re-wrap never finished")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A re-wrap never writes over storage that another seal owns: a node that
// still runs the old auto seal after a migration to Shamir leaves it be.
func TestRewrapLeavesOtherSealsStorage(t *testing.T) {
	ctx := context.Background()
	w := newTestWrapper(t, "test-hsm", "k1")
	n := newSealNode(t, w)
	if err := seal.CommitSwitch(ctx, n.phys, &seal.Switch{
		Config: seal.Config{Type: "shamir", SecretShares: 1, SecretThreshold: 1}, Wrapped: []byte("shamir-wrapped"),
	}); err != nil {
		t.Fatal(err)
	}
	w.rotateTo(t, "k2")
	// A run that re-wrote the blob would count one entry processed (and
	// succeeded, or failed on an error): it must process none.
	n.request(t, logical.UpdateOperation, "sys/sealwrap/rewrap", nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := n.request(t, logical.ReadOperation, "sys/sealwrap/rewrap", nil).Data
		if st["is_running"] == false {
			if e := st["entries"].(map[string]any); e["processed"] != 0 || e["failed"] != 0 {
				t.Fatalf("re-wrap over shamir storage: %v", e)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the re-wrap never finished")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if wrapped, _ := seal.WrappedRootKey(ctx, n.phys); string(wrapped) != "shamir-wrapped" {
		t.Fatal("the re-wrap overwrote another seal's root key")
	}
}

func containsLog(n *sealNode, s string) bool { return strings.Contains(n.log.String(), s) }

// A KMS alias moved to a new key: the restart finds the alias resolving to
// another key than the one that wrapped the root key, and re-wraps; the
// old key can then be disabled.
func TestRewrapAWSKMSAliasMove(t *testing.T) {
	ctx := context.Background()
	k := sealtest.StartLocalKMS(t)
	first, firstARN := k.CreateKey(t)
	_, secondARN := k.CreateKey(t)
	k.CreateAlias(t, "alias/strongbox", first)
	open := func() seal.Wrapper {
		t.Helper()
		w, err := awskms.New(ctx, map[string]string{
			"region": sealtest.LocalKMSRegion, "access_key": sealtest.LocalKMSAccessKey,
			"secret_key": sealtest.LocalKMSSecretKey, "kms_key_id": "alias/strongbox", "endpoint": k.Endpoint,
		}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = w.Close() })
		return w
	}
	n := newSealNode(t, open())
	if got := n.storedKeyID(t); got != firstARN {
		t.Fatalf("blob names %q after init, want %q", got, firstARN)
	}
	if _, err := k.Client().UpdateAlias(ctx, &kms.UpdateAliasInput{
		AliasName: aws.String("alias/strongbox"), TargetKeyId: aws.String(secondARN)}); err != nil {
		t.Fatal(err)
	}
	if err := n.autoRestart(t, open()); err != nil {
		t.Fatalf("auto-unseal after the alias moved: %v", err)
	}
	if got := n.storedKeyID(t); got != secondARN {
		t.Fatalf("blob names %q after the restart, want the alias's new key %q", got, secondARN)
	}
	if _, err := k.Client().DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(first)}); err != nil {
		t.Fatal(err)
	}
	if err := n.autoRestart(t, open()); err != nil {
		t.Fatalf("auto-unseal with the old key disabled: %v", err)
	}
	n.secretReadable(t)
}
