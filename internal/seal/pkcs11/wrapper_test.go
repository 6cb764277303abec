//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/strongbox/strongbox/internal/seal"
	"github.com/strongbox/strongbox/internal/seal/sealtest"
)

// hsmEnv is one test's SoftHSM token plus a log that must never show the
// PIN.
type hsmEnv struct {
	hsm *sealtest.SoftHSM
	log *syncBuffer
}

func newHSM(t *testing.T) *hsmEnv {
	t.Helper()
	e := &hsmEnv{hsm: sealtest.StartSoftHSM(t, "strongbox-test"), log: &syncBuffer{}}
	t.Cleanup(func() {
		if strings.Contains(e.log.String(), e.hsm.PIN) {
			t.Errorf("the log shows the PIN:\n%s", e.log.String())
		}
	})
	return e
}

func (e *hsmEnv) conf(kv ...string) map[string]string {
	c := map[string]string{
		"lib": e.hsm.Lib, "slot": e.hsm.SlotString(), "pin": e.hsm.PIN,
		"key_label": "strongbox-key", "generate_key": "true",
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(c, kv[i])
		} else {
			c[kv[i]] = kv[i+1]
		}
	}
	return c
}

func (e *hsmEnv) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// open returns a Wrapper closed at the end of the test.
func (e *hsmEnv) open(t *testing.T, conf map[string]string, env map[string]string) *Wrapper {
	t.Helper()
	w, err := New(testCtx(t), conf, envFrom(env), e.logger())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func roundTrip(t *testing.T, w seal.Wrapper, plaintext []byte) *seal.BlobInfo {
	t.Helper()
	ctx := testCtx(t)
	blob, err := w.Encrypt(ctx, plaintext)
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	if len(plaintext) >= 8 && bytes.Contains(blob.Ciphertext, plaintext) {
		t.Fatal("ciphertext contains the plaintext")
	}
	got, err := w.Decrypt(ctx, blob)
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if !bytes.Equal(got, plaintext) {
		t.Fatalf("Decrypt = %x, want %x", got, plaintext)
	}
	return blob
}

var rootKey = []byte("0123456789abcdef0123456789abcdef")

// SoftHSM2 does RSA-OAEP with SHA-1 only.
var rsaOAEP = []string{"mechanism", "0x0009", "rsa_oaep_hash", "sha1"}

// mechConf is the stanza settings for a mechanism under test.
func mechConf(mech string, kv ...string) []string {
	if mech == "0x0009" {
		return append(append([]string{}, rsaOAEP...), kv...)
	}
	return append([]string{"mechanism", mech}, kv...)
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		kv        []string
		mechanism string
		ivLen     int
		ctLen     int
	}{
		{name: "AES-GCM default", mechanism: "0x1087", ivLen: 12, ctLen: len(rootKey) + 16},
		{name: "AES-GCM explicit", kv: []string{"mechanism", "0x1087"}, mechanism: "0x1087", ivLen: 12, ctLen: len(rootKey) + 16},
		{name: "RSA-OAEP", kv: rsaOAEP, mechanism: "0x0009", ctLen: 256},
		{name: "RSA-OAEP decimal", kv: []string{"mechanism", "9", "rsa_oaep_hash", "sha1"}, mechanism: "0x0009", ctLen: 256},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newHSM(t)
			w := e.open(t, e.conf(tc.kv...), nil)
			if w.Type() != "pkcs11" {
				t.Errorf("Type = %q", w.Type())
			}
			id, err := w.KeyID(testCtx(t))
			if err != nil || id != "strongbox-key" {
				t.Errorf("KeyID = %q, %v", id, err)
			}
			blob := roundTrip(t, w, rootKey)
			if blob.Mechanism != tc.mechanism || blob.KeyID != "strongbox-key" || len(blob.IV) != tc.ivLen || len(blob.Ciphertext) != tc.ctLen {
				t.Errorf("blob mechanism %q key %q iv %d ct %d", blob.Mechanism, blob.KeyID, len(blob.IV), len(blob.Ciphertext))
			}
			// Two encryptions of one plaintext differ (fresh IV / OAEP seed).
			again, err := w.Encrypt(testCtx(t), rootKey)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(again.Ciphertext, blob.Ciphertext) {
				t.Error("two encryptions gave the same ciphertext")
			}
			roundTrip(t, w, []byte{0})
		})
	}
}

func TestGenerateKeyThenFindIt(t *testing.T) {
	for _, mech := range []string{"0x1087", "0x0009"} {
		t.Run(mech, func(t *testing.T) {
			e := newHSM(t)
			first, err := New(testCtx(t), e.conf(mechConf(mech)...), nil, e.logger())
			if err != nil {
				t.Fatalf("New with generate_key: %v", err)
			}
			t.Cleanup(func() { _ = first.Close() })
			blob := roundTrip(t, first, rootKey)
			if !strings.Contains(e.log.String(), "generated its key") {
				t.Error("no key generation was logged")
			}

			// A second Wrapper on the same module while the first is open,
			// without generate_key and without a mechanism: it must find
			// the same key (and tell AES from RSA by itself).
			second, err := New(testCtx(t), e.conf("generate_key", "", "rsa_oaep_hash", "sha1"), nil, e.logger())
			if err != nil {
				t.Fatalf("second New: %v", err)
			}
			t.Cleanup(func() { _ = second.Close() })
			got, err := second.Decrypt(testCtx(t), blob)
			if err != nil || !bytes.Equal(got, rootKey) {
				t.Fatalf("second Decrypt = %x, %v", got, err)
			}
			if second.mech != first.mech {
				t.Errorf("second picked mechanism %#x, first %#x", second.mech, first.mech)
			}
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}
			// The first Close must not have finalized the shared module.
			roundTrip(t, second, rootKey)
			if err := second.Close(); err != nil {
				t.Fatal(err)
			}

			// After every Wrapper closed (module finalized), a new one
			// loads it afresh and the key is still on the token.
			third := e.open(t, e.conf(mechConf(mech, "generate_key", "false")...), nil)
			got, err = third.Decrypt(testCtx(t), blob)
			if err != nil || !bytes.Equal(got, rootKey) {
				t.Fatalf("third Decrypt = %x, %v", got, err)
			}
			if n := strings.Count(e.log.String(), "generated its key"); n != 1 {
				t.Errorf("key generated %d times, want once", n)
			}
		})
	}
}

func TestUnsupportedOAEPHash(t *testing.T) {
	e := newHSM(t)
	w, err := New(testCtx(t), e.conf("mechanism", "0x0009", "rsa_oaep_hash", "sha256"), nil, e.logger())
	if err == nil {
		_ = w.Close()
		t.Fatal("New succeeded with a hash SoftHSM2 cannot do")
	}
	if !strings.Contains(err.Error(), "self-test") || !strings.Contains(err.Error(), `rsa_oaep_hash "sha256"`) {
		t.Fatalf("err = %v, want a self-test failure naming rsa_oaep_hash", err)
	}
	// The failed New closed what it opened: the module can start afresh.
	e.open(t, e.conf(rsaOAEP...), nil)
}

func TestWrongPIN(t *testing.T) {
	e := newHSM(t)
	const wrong = "9999-not-the-pin"
	w, err := New(testCtx(t), e.conf("pin", wrong), nil, e.logger())
	if err == nil {
		_ = w.Close()
		t.Fatal("New with a wrong PIN succeeded")
	}
	if !errors.Is(err, p11.Error(p11.CKR_PIN_INCORRECT)) || !errors.Is(err, ErrLogin) || !strings.Contains(err.Error(), "PIN is wrong") {
		t.Errorf("err = %v, want CKR_PIN_INCORRECT (ErrLogin) saying the PIN is wrong", err)
	}
	if errors.Is(err, seal.ErrInvalidKey) {
		t.Errorf("a wrong PIN is not an invalid blob: %v", err)
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(e.log.String(), wrong) {
		t.Error("the PIN leaked into the error or the log")
	}
	// The failed New released the module: a right PIN works now.
	e.open(t, e.conf(), nil)
}

func TestMissingKey(t *testing.T) {
	for _, mech := range []string{"", "0x1087", "0x0009"} {
		t.Run("mechanism="+mech, func(t *testing.T) {
			e := newHSM(t)
			_, err := New(testCtx(t), e.conf(mechConf(mech, "generate_key", "false")...), nil, e.logger())
			if !errors.Is(err, ErrKeyNotFound) || !strings.Contains(err.Error(), `"strongbox-key"`) ||
				!strings.Contains(err.Error(), "generate_key") {
				t.Fatalf("err = %v, want ErrKeyNotFound naming the label and generate_key", err)
			}
		})
	}
}

func TestMissingKeyID(t *testing.T) {
	e := newHSM(t)
	w := e.open(t, e.conf("key_id", "0x0102"), nil)
	roundTrip(t, w, rootKey)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Same label, another CKA_ID: not the key.
	_, err := New(testCtx(t), e.conf("key_id", "0x0103", "generate_key", "false"), nil, e.logger())
	if !errors.Is(err, ErrKeyNotFound) || !strings.Contains(err.Error(), "0x0103") {
		t.Fatalf("err = %v, want ErrKeyNotFound naming key_id", err)
	}
	e.open(t, e.conf("key_id", "0102", "generate_key", "false"), nil)
}

func TestBadLibrary(t *testing.T) {
	notALib := filepath.Join(t.TempDir(), "not-a-module.so")
	if err := os.WriteFile(notALib, []byte("not an ELF file"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		lib  string
		want string
		is   error
	}{
		{name: "missing", lib: "/nonexistent/libp11.so", want: "/nonexistent/libp11.so", is: fs.ErrNotExist},
		{name: "not a library", lib: notALib, want: "cannot load library"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conf := map[string]string{"lib": tc.lib, "slot": "0", "pin": "1234", "key_label": "k"}
			_, err := New(testCtx(t), conf, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestTokenSelection(t *testing.T) {
	e := newHSM(t)
	tests := []struct {
		name string
		kv   []string
		want string // "" means success
	}{
		{name: "token label only", kv: []string{"slot", "", "token_label", "strongbox-test"}},
		{name: "slot and matching label", kv: []string{"token_label", "strongbox-test"}},
		{name: "unknown label", kv: []string{"slot", "", "token_label", "nope"}, want: `no token labelled "nope"`},
		{name: "slot with another label", kv: []string{"token_label", "nope"}, want: "not \"nope\""},
		{name: "empty slot", kv: []string{"slot", "4242"}, want: "no token present in slot 4242"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := New(testCtx(t), e.conf(tc.kv...), nil, e.logger())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				t.Cleanup(func() { _ = w.Close() })
				roundTrip(t, w, rootKey)
				return
			}
			if err == nil {
				_ = w.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestTamperedBlob(t *testing.T) {
	for _, mech := range []string{"0x1087", "0x0009"} {
		t.Run(mech, func(t *testing.T) {
			e := newHSM(t)
			w := e.open(t, e.conf(mechConf(mech)...), nil)
			other := e.open(t, e.conf(mechConf(mech, "key_label", "other-key")...), nil)
			blob, err := w.Encrypt(testCtx(t), rootKey)
			if err != nil {
				t.Fatal(err)
			}
			otherBlob, err := other.Encrypt(testCtx(t), rootKey)
			if err != nil {
				t.Fatal(err)
			}
			tamper := map[string]func(b *seal.BlobInfo){
				"flipped ciphertext byte": func(b *seal.BlobInfo) { b.Ciphertext[len(b.Ciphertext)/2] ^= 1 },
				"flipped last byte":       func(b *seal.BlobInfo) { b.Ciphertext[len(b.Ciphertext)-1] ^= 0x80 },
				"truncated":               func(b *seal.BlobInfo) { b.Ciphertext = b.Ciphertext[:len(b.Ciphertext)-1] },
				"empty":                   func(b *seal.BlobInfo) { b.Ciphertext = nil },
				"unknown key label":       func(b *seal.BlobInfo) { b.KeyID = "no-such-key" },
				"unknown mechanism":       func(b *seal.BlobInfo) { b.Mechanism = "0x1234" },
				"other key's ciphertext": func(b *seal.BlobInfo) {
					b.Ciphertext, b.IV = otherBlob.Ciphertext, otherBlob.IV
				},
			}
			if mech == "0x1087" {
				tamper["flipped IV"] = func(b *seal.BlobInfo) { b.IV[0] ^= 1 }
				tamper["short IV"] = func(b *seal.BlobInfo) { b.IV = b.IV[:8] }
				tamper["wrong mechanism"] = func(b *seal.BlobInfo) { b.Mechanism = "0x0009" }
			}
			for name, f := range tamper {
				t.Run(name, func(t *testing.T) {
					b := cloneBlob(blob)
					f(b)
					pt, err := w.Decrypt(testCtx(t), b)
					if !errors.Is(err, seal.ErrInvalidKey) {
						t.Fatalf("Decrypt = %x, %v; want ErrInvalidKey", pt, err)
					}
				})
			}
			// The wrapper still works after all those failures.
			roundTrip(t, w, rootKey)
			if _, err := w.Decrypt(testCtx(t), nil); !errors.Is(err, seal.ErrInvalidKey) {
				t.Errorf("Decrypt(nil) = %v", err)
			}
		})
	}
}

func cloneBlob(b *seal.BlobInfo) *seal.BlobInfo {
	c := *b
	c.Ciphertext = bytes.Clone(b.Ciphertext)
	c.IV = bytes.Clone(b.IV)
	return &c
}

func TestKeyRotationAndDefaultLabel(t *testing.T) {
	e := newHSM(t)
	old := e.open(t, e.conf("key_label", "key-v1"), nil)
	oldBlob := roundTrip(t, old, rootKey)
	legacy := cloneBlob(oldBlob)
	legacy.KeyID = "" // written before blobs named their key

	cur := e.open(t, e.conf("key_label", "key-v2", "default_key_label", "key-v1"), nil)
	newBlob := roundTrip(t, cur, rootKey)
	if newBlob.KeyID != "key-v2" {
		t.Errorf("new blob key %q", newBlob.KeyID)
	}
	for name, b := range map[string]*seal.BlobInfo{"named old key": oldBlob, "default label": legacy} {
		got, err := cur.Decrypt(testCtx(t), b)
		if err != nil || !bytes.Equal(got, rootKey) {
			t.Errorf("%s: Decrypt = %x, %v", name, got, err)
		}
	}
}

func TestEnvOverrides(t *testing.T) {
	e := newHSM(t)
	conf := map[string]string{
		"lib": "/nonexistent/lib.so", "slot": "4242", "pin": "wrong", "key_label": "conf-key",
		"mechanism": "0x1087", "generate_key": "false",
	}
	env := map[string]string{
		"VAULT_HSM_LIB":           e.hsm.Lib,
		"VAULT_HSM_SLOT":          e.hsm.SlotString(),
		"VAULT_HSM_TOKEN_LABEL":   e.hsm.TokenLabel,
		"VAULT_HSM_PIN":           e.hsm.PIN,
		"VAULT_HSM_KEY_LABEL":     "env-key",
		"VAULT_HSM_MECHANISM":     "0x0009",
		"VAULT_HSM_RSA_OAEP_HASH": "sha1",
		"VAULT_HSM_GENERATE_KEY":  "true",
	}
	w := e.open(t, conf, env)
	blob := roundTrip(t, w, rootKey)
	if id, _ := w.KeyID(testCtx(t)); id != "env-key" || blob.KeyID != "env-key" || blob.Mechanism != "0x0009" {
		t.Errorf("KeyID %q, blob key %q mechanism %q: the environment did not win", id, blob.KeyID, blob.Mechanism)
	}
}

func TestConcurrentUse(t *testing.T) {
	for _, mech := range []string{"0x1087", "0x0009"} {
		t.Run(mech, func(t *testing.T) {
			e := newHSM(t)
			w := e.open(t, e.conf(mechConf(mech, "max_parallel", "3")...), nil)
			const workers, rounds = 12, 15
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for i := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range rounds {
						pt := []byte(fmt.Sprintf("worker %d round %d", i, j))
						blob, err := w.Encrypt(context.Background(), pt)
						if err != nil {
							errs <- err
							return
						}
						got, err := w.Decrypt(context.Background(), blob)
						if err != nil || !bytes.Equal(got, pt) {
							errs <- fmt.Errorf("decrypt %q = %q, %v", pt, got, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			w.mu.Lock()
			open := len(w.idle)
			w.mu.Unlock()
			if open < 1 || open > 3 {
				t.Errorf("%d idle sessions, want 1..3 (max_parallel)", open)
			}
		})
	}
}

func TestReopenLostSessions(t *testing.T) {
	e := newHSM(t)
	w := e.open(t, e.conf("max_parallel", "2"), nil)
	blob := roundTrip(t, w, rootKey)
	// Close every session behind the Wrapper's back: the HSM restarted or
	// dropped us, and the token logged us out with the last session.
	if err := w.mod.ctx.CloseAllSessions(e.hsm.Slot); err != nil {
		t.Fatal(err)
	}
	got, err := w.Decrypt(testCtx(t), blob)
	if err != nil || !bytes.Equal(got, rootKey) {
		t.Fatalf("Decrypt after the sessions were lost = %x, %v", got, err)
	}
	roundTrip(t, w, rootKey)
	if !strings.Contains(e.log.String(), "session lost") {
		t.Error("reopening was not logged")
	}
}

func TestClose(t *testing.T) {
	e := newHSM(t)
	w := e.open(t, e.conf(), nil)
	blob := roundTrip(t, w, rootKey)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := w.Encrypt(testCtx(t), rootKey); !errors.Is(err, errClosed) {
		t.Errorf("Encrypt after Close = %v", err)
	}
	if _, err := w.Decrypt(testCtx(t), blob); !errors.Is(err, errClosed) || errors.Is(err, seal.ErrInvalidKey) {
		t.Errorf("Decrypt after Close = %v", err)
	}
}

func TestCanceledContext(t *testing.T) {
	e := newHSM(t)
	w := e.open(t, e.conf(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Encrypt(ctx, rootKey); !errors.Is(err, context.Canceled) {
		t.Errorf("Encrypt with a canceled context = %v", err)
	}
	if _, err := New(ctx, e.conf(), nil, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("New with a canceled context = %v", err)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
