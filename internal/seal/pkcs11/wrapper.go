//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"

	"github.com/strongbox/strongbox/internal/seal"
)

var errClosed = errors.New("pkcs11 seal: wrapper is closed")

// Wrapper encrypts and decrypts with one key in an HSM. It implements
// seal.Wrapper and is safe for concurrent use.
type Wrapper struct {
	logger *slog.Logger
	cfg    *config
	mod    *module
	// mech is the mechanism new blobs are encrypted with.
	mech uint

	// sem holds one token per session in use (at most max_parallel).
	sem chan struct{}
	// done is closed by Close, releasing goroutines waiting for a session.
	done   chan struct{}
	mu     sync.Mutex
	idle   []*session
	closed bool
}

var _ seal.Wrapper = (*Wrapper)(nil)

// New loads the PKCS#11 module, logs in to the token and finds the key
// named by conf (Vault's seal "pkcs11" stanza: lib, slot, token_label, pin,
// key_label, default_key_label, key_id, mechanism, rsa_oaep_hash,
// generate_key, max_parallel), creating it when generate_key is "true".
// VAULT_HSM_* variables read through getenv override the stanza. A wrong
// PIN, a missing library or a missing key (without generate_key) is an
// error; errors.Is(err, ErrKeyNotFound) and errors.Is(err, ErrConfig) tell
// the last two kinds apart.
func New(ctx context.Context, conf map[string]string, getenv func(string) string, logger *slog.Logger) (*Wrapper, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := parseConfig(conf, getenv)
	if err != nil {
		return nil, err
	}
	if len(cfg.unknown) > 0 {
		sort.Strings(cfg.unknown)
		logger.Warn("pkcs11 seal ignores unknown settings", "keys", cfg.unknown)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mod, err := acquireModule(cfg.lib)
	if err != nil {
		return nil, err
	}
	w := &Wrapper{
		logger: logger,
		cfg:    cfg,
		mod:    mod,
		sem:    make(chan struct{}, cfg.maxParallel),
		done:   make(chan struct{}),
	}
	s, err := w.get(ctx)
	if err != nil {
		mod.release()
		return nil, err
	}
	if err := w.resolveKey(s); err != nil {
		w.put(s, true)
		mod.release()
		return nil, err
	}
	w.put(s, false)
	// Fail at startup, not at the first init or unseal, when the HSM
	// refuses the mechanism or its parameters (SoftHSM2 supports RSA-OAEP
	// with SHA-1 only, for one).
	if err := w.selfTest(ctx); err != nil {
		_ = w.Close()
		return nil, err
	}
	logger.Info("pkcs11 seal ready", "key_label", cfg.keyLabel, "mechanism", mechanismString(w.mech),
		"token_label", cfg.tokenLabel, "max_parallel", cfg.maxParallel)
	return w, nil
}

// Type returns "pkcs11".
func (w *Wrapper) Type() string { return "pkcs11" }

// KeyID returns the key's label, which blobs record to find their key.
func (w *Wrapper) KeyID(context.Context) (string, error) { return w.cfg.keyLabel, nil }

// Encrypt encrypts plaintext in the HSM: AES-GCM with a fresh 96-bit IV, or
// RSA-OAEP.
func (w *Wrapper) Encrypt(ctx context.Context, plaintext []byte) (*seal.BlobInfo, error) {
	ref := keyRef{label: w.cfg.keyLabel, mech: w.mech}
	var blob *seal.BlobInfo
	err := w.withSession(ctx, func(s *session) error {
		kh, err := w.findKey(s, ref)
		if err != nil {
			return err
		}
		ct, iv, err := w.encrypt(s, ref.mech, kh, plaintext)
		if err != nil {
			return err
		}
		blob = &seal.BlobInfo{Ciphertext: ct, IV: iv, KeyID: ref.label, Mechanism: mechanismString(ref.mech)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return blob, nil
}

// Decrypt decrypts a blob with the key it names (its label, or
// default_key_label for blobs that name none). A blob that the key did not
// produce, or whose key is not on the token, is an error wrapping
// seal.ErrInvalidKey; an HSM that cannot be reached is any other error.
func (w *Wrapper) Decrypt(ctx context.Context, blob *seal.BlobInfo) ([]byte, error) {
	ref, err := w.blobKey(blob)
	if err != nil {
		return nil, err
	}
	var pt []byte
	err = w.withSession(ctx, func(s *session) error {
		kh, err := w.findKey(s, ref)
		if errors.Is(err, ErrKeyNotFound) {
			return fmt.Errorf("%w: no %s key labelled %q on the token", seal.ErrInvalidKey, keyKind(ref.mech), ref.label)
		}
		if err != nil {
			return err
		}
		pt, err = w.decrypt(s, ref, kh, blob.IV, blob.Ciphertext)
		return err
	})
	if err != nil {
		return nil, err
	}
	return pt, nil
}

// selfTest encrypts and decrypts a random value with the key.
func (w *Wrapper) selfTest(ctx context.Context) error {
	probe := make([]byte, 32)
	if _, err := rand.Read(probe); err != nil {
		return fmt.Errorf("pkcs11 seal: self-test: %w", err)
	}
	blob, err := w.Encrypt(ctx, probe)
	if err == nil {
		var got []byte
		got, err = w.Decrypt(ctx, blob)
		if err == nil && !bytes.Equal(got, probe) {
			err = errors.New("decryption returned other bytes")
		}
	}
	if err == nil {
		return nil
	}
	hint := ""
	if w.mech == MechanismRSAOAEP {
		hint = fmt.Sprintf(" (does the HSM support RSA-OAEP with rsa_oaep_hash %q? SoftHSM2 supports only sha1)", w.cfg.oaepHash.name)
	}
	return fmt.Errorf("pkcs11 seal: self-test with key %q and mechanism %s failed%s: %w",
		w.cfg.keyLabel, mechanismString(w.mech), hint, err)
}

// blobKey checks a blob's shape and names the key and mechanism for it.
func (w *Wrapper) blobKey(blob *seal.BlobInfo) (keyRef, error) {
	if blob == nil || len(blob.Ciphertext) == 0 {
		return keyRef{}, fmt.Errorf("%w: empty blob", seal.ErrInvalidKey)
	}
	ref := keyRef{label: blob.KeyID, mech: w.mech}
	if ref.label == "" {
		ref.label = w.cfg.defaultKeyLabel
	}
	if ref.label == "" {
		ref.label = w.cfg.keyLabel
	}
	if blob.Mechanism != "" {
		m, err := parseMechanism(blob.Mechanism)
		if err != nil {
			return keyRef{}, fmt.Errorf("%w: blob %v", seal.ErrInvalidKey, err)
		}
		ref.mech = m
	}
	if ref.mech == MechanismAESGCM && (len(blob.IV) != gcmIVSize || len(blob.Ciphertext) < gcmTagBits/8) {
		return keyRef{}, fmt.Errorf("%w: malformed AES-GCM blob", seal.ErrInvalidKey)
	}
	return ref, nil
}

// Close waits for operations in flight, closes this Wrapper's sessions and
// releases the module (finalizing it when no other Wrapper uses it).
func (w *Wrapper) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.done)
	w.mu.Unlock()
	for range cap(w.sem) {
		w.sem <- struct{}{}
	}
	w.mu.Lock()
	idle := w.idle
	w.idle = nil
	w.mu.Unlock()
	for _, s := range idle {
		_ = w.mod.ctx.CloseSession(s.h)
	}
	w.mod.release()
	return nil
}
