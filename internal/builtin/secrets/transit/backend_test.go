package transit

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/logicaltest"
)

func newEnv(t *testing.T) (*logicaltest.Env, *backend) {
	b := newBackend(nil)
	return logicaltest.New(t, b.framework()), b
}

// TestAutoRotate: the periodic hook rotates a key once its
// auto_rotate_period has passed since its latest version, and only then.
func TestAutoRotate(t *testing.T) {
	e, b := newEnv(t)
	now := time.Now()
	b.now = func() time.Time { return now }
	e.OK(logical.UpdateOperation, "keys/k", map[string]any{"auto_rotate_period": "1h"})
	e.OK(logical.UpdateOperation, "keys/never", nil)
	periodic := func() {
		t.Helper()
		if err := b.autoRotate(context.Background(), &logical.Request{Storage: e.Storage}); err != nil {
			t.Fatal(err)
		}
	}
	latest := func(name string) any {
		return e.OK(logical.ReadOperation, "keys/"+name, nil).Data["latest_version"]
	}
	now = now.Add(59 * time.Minute)
	periodic()
	if v := latest("k"); v != 1 {
		t.Fatalf("rotated early: latest_version %v", v)
	}
	now = now.Add(2 * time.Minute)
	periodic()
	periodic()
	if v := latest("k"); v != 2 {
		t.Fatalf("after the period: latest_version %v, want 2", v)
	}
	if v := latest("never"); v != 1 {
		t.Fatalf("a key without a period rotated: %v", v)
	}
	e.OK(logical.UpdateOperation, "keys/k/config", map[string]any{"auto_rotate_period": 0})
	now = now.Add(48 * time.Hour)
	periodic()
	if v := latest("k"); v != 2 {
		t.Fatalf("rotated with the period turned off: %v", v)
	}
}

// TestEncryptWhileRotating: encrypts and decrypts racing rotations and
// config changes always produce ciphertexts that decrypt (run with -race).
func TestEncryptWhileRotating(t *testing.T) {
	e, _ := newEnv(t)
	e.OK(logical.UpdateOperation, "keys/k", nil)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			if _, err := e.Do(logical.UpdateOperation, "keys/k/rotate", nil); err != nil {
				t.Error(err)
			}
			if _, err := e.Do(logical.UpdateOperation, "keys/k/config", map[string]any{"deletion_allowed": i%2 == 0}); err != nil {
				t.Error(err)
			}
		}
		close(stop)
	}()
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := e.Do(logical.UpdateOperation, "encrypt/k", map[string]any{"plaintext": base64.StdEncoding.EncodeToString([]byte("x"))})
				if err != nil {
					t.Error(err)
					return
				}
				d, err := e.Do(logical.UpdateOperation, "decrypt/k", map[string]any{"ciphertext": r.Data["ciphertext"]})
				if err != nil || d.Data["plaintext"] != "eA==" {
					t.Errorf("decrypt: %v %v", d, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if v := e.OK(logical.ReadOperation, "keys/k", nil).Data["latest_version"]; v != 21 {
		t.Fatalf("latest_version %v, want 21", v)
	}
}

// TestRefusedChangesLeaveStorage: refused requests store nothing.
func TestRefusedChangesLeaveStorage(t *testing.T) {
	e, _ := newEnv(t)
	e.OK(logical.UpdateOperation, "keys/k", nil)
	before := e.Snapshot()
	for _, tc := range []struct {
		path string
		data map[string]any
	}{
		{"keys/k/config", map[string]any{"min_decryption_version": 3}},
		{"keys/k/trim", map[string]any{"min_available_version": 2}},
		{"keys/k/config", map[string]any{"min_encryption_version": -1}},
		{"restore", map[string]any{"backup": "bm9wZQ=="}},
		{"keys/e", map[string]any{"type": "rsa-2048", "derived": true}},
		{"keys/h", map[string]any{"type": "hmac", "key_size": 8}},
	} {
		if _, err := e.Do(logical.UpdateOperation, tc.path, tc.data); err == nil {
			t.Fatalf("%s %v accepted", tc.path, tc.data)
		} else if code, msg := logical.StatusOf(err); code != 400 || strings.TrimSpace(msg) == "" {
			t.Fatalf("%s: %d %q", tc.path, code, msg)
		}
	}
	after := e.Snapshot()
	if len(before) != len(after) {
		t.Fatalf("storage changed: %d keys before, %d after", len(before), len(after))
	}
	for k, v := range before {
		if after[k] != v {
			t.Fatalf("storage key %s changed", k)
		}
	}
}
