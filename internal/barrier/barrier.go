package barrier

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strongbox/strongbox/internal/physical"
)

// Barrier encrypts everything written to a physical.Backend. It starts
// sealed: Initialize creates a keyring, Unseal loads it with the root key,
// Seal forgets it. While sealed every data method returns ErrSealed.
type Barrier struct {
	backend physical.Backend

	// mu guards rootKey and keyring. Data methods hold it shared only
	// around encryption and decryption, never across backend I/O, so a slow
	// backend cannot hold up Seal. Lifecycle methods hold it exclusively,
	// including across the keyring write, so two Rotates cannot both add
	// the same term.
	mu      sync.RWMutex
	rootKey []byte   // nil while sealed
	keyring *keyring // nil while sealed

	// encryptions counts values sealed under the active term since it was
	// installed (or since unseal); reset under mu held exclusively.
	encryptions atomic.Int64

	// blobReload is when OpenBlob last reloaded the keyring (Unix nanos).
	blobReload atomic.Int64
}

var _ physical.Transactional = (*Barrier)(nil)

// KeyStatus describes the active keyring term, as sys/key-status reports it.
type KeyStatus struct {
	Term        uint32
	InstallTime time.Time
	// Encryptions is the number of values this process has sealed with the
	// term since it became active or since unseal; it is not persisted.
	Encryptions int64
}

// New returns a sealed barrier over backend.
func New(backend physical.Backend) *Barrier {
	return &Barrier{backend: backend}
}

// GenerateKey returns a new random root key; it is the package-level
// GenerateKey, offered as a method for callers holding a *Barrier.
func (b *Barrier) GenerateKey() ([]byte, error) { return GenerateKey() }

// Initialized reports whether storage holds a keyring.
func (b *Barrier) Initialized(ctx context.Context) (bool, error) {
	e, err := b.backend.Get(ctx, keyringPath)
	if err != nil {
		return false, fmt.Errorf("barrier: read keyring: %w", err)
	}
	return e != nil, nil
}

// Initialize creates a keyring with one fresh key (term 1) and stores it
// sealed under rootKey, which must be KeySize bytes. The barrier stays
// sealed; Unseal with the same root key opens it. It returns
// ErrAlreadyInitialized if a keyring exists.
func (b *Barrier) Initialize(ctx context.Context, rootKey []byte) error {
	if len(rootKey) != KeySize {
		return fmt.Errorf("barrier: initialize: root key is %d bytes, want %d: %w", len(rootKey), KeySize, ErrInvalidKey)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	exists, err := b.Initialized(ctx)
	if err != nil {
		return fmt.Errorf("barrier: initialize: %w", err)
	}
	if exists {
		return ErrAlreadyInitialized
	}
	key, err := GenerateKey()
	if err != nil {
		return fmt.Errorf("barrier: initialize: %w", err)
	}
	kr, err := newKeyring(key, time.Now().UTC())
	if err != nil {
		clear(key)
		return fmt.Errorf("barrier: initialize: %w", err)
	}
	defer kr.wipe() // the barrier stays sealed: Unseal reads it back
	if err := b.persistKeyring(ctx, kr, rootKey); err != nil {
		return fmt.Errorf("barrier: initialize: %w", err)
	}
	return nil
}

// Unseal loads the keyring with rootKey. It returns ErrNotInitialized when
// there is no keyring and ErrInvalidKey when rootKey does not open it; the
// barrier then stays sealed. Unsealing an unsealed barrier with its own root
// key is a no-op.
func (b *Barrier) Unseal(ctx context.Context, rootKey []byte) error {
	if len(rootKey) != KeySize {
		return fmt.Errorf("barrier: unseal: root key is %d bytes, want %d: %w", len(rootKey), KeySize, ErrInvalidKey)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.keyring != nil {
		if subtle.ConstantTimeCompare(b.rootKey, rootKey) == 1 {
			return nil
		}
		return fmt.Errorf("barrier: unseal: %w", ErrInvalidKey)
	}
	kr, err := b.loadKeyring(ctx, rootKey)
	if err != nil {
		return fmt.Errorf("barrier: unseal: %w", err)
	}
	b.keyring = kr
	b.rootKey = bytes.Clone(rootKey)
	b.encryptions.Store(0)
	return nil
}

// Seal zeroes the root key and every keyring key held in memory. Sealing a
// sealed barrier does nothing.
func (b *Barrier) Seal() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.keyring != nil {
		b.keyring.wipe()
		b.keyring = nil
	}
	clear(b.rootKey)
	b.rootKey = nil
	b.encryptions.Store(0)
}

// Sealed reports whether the barrier is sealed.
func (b *Barrier) Sealed() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.keyring == nil
}

// Rotate installs a new key as the next term and persists the keyring;
// values sealed under earlier terms keep decrypting. Writes wait while the
// keyring is being stored. If storing fails the old keyring stays active.
func (b *Barrier) Rotate(ctx context.Context) (uint32, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.keyring == nil {
		return 0, ErrSealed
	}
	key, err := GenerateKey()
	if err != nil {
		return 0, fmt.Errorf("barrier: rotate: %w", err)
	}
	next, err := b.keyring.withNewTerm(key, time.Now().UTC())
	if err != nil {
		clear(key)
		return 0, fmt.Errorf("barrier: rotate: %w", err)
	}
	if err := b.persistKeyring(ctx, next, b.rootKey); err != nil {
		clear(key)
		return 0, fmt.Errorf("barrier: rotate: %w", err)
	}
	// next shares the older terms' keys with the current keyring, so the
	// current one is dropped, not wiped.
	b.keyring = next
	b.encryptions.Store(0)
	return next.active, nil
}

// Rekey re-seals the stored keyring under newRootKey, which then replaces
// the root key in memory (operator rekey). The data keys do not change.
func (b *Barrier) Rekey(ctx context.Context, newRootKey []byte) error {
	if len(newRootKey) != KeySize {
		return fmt.Errorf("barrier: rekey: root key is %d bytes, want %d: %w", len(newRootKey), KeySize, ErrInvalidKey)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.keyring == nil {
		return ErrSealed
	}
	if err := b.persistKeyring(ctx, b.keyring, newRootKey); err != nil {
		return fmt.Errorf("barrier: rekey: %w", err)
	}
	clear(b.rootKey)
	b.rootKey = bytes.Clone(newRootKey)
	return nil
}

// ReloadKeyring replaces the in-memory keyring with the stored one. A
// standby sharing storage with an active node calls it to follow Rotate
// there; Get also calls it when it meets a term newer than its keyring.
func (b *Barrier) ReloadKeyring(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.keyring == nil {
		return ErrSealed
	}
	kr, err := b.loadKeyring(ctx, b.rootKey)
	if err != nil {
		return fmt.Errorf("barrier: reload keyring: %w", err)
	}
	if kr.active != b.keyring.active {
		b.encryptions.Store(0)
	}
	b.keyring.wipe()
	b.keyring = kr
	return nil
}

// KeyStatus reports the active term.
func (b *Barrier) KeyStatus() (KeyStatus, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.keyring == nil {
		return KeyStatus{}, ErrSealed
	}
	k := b.keyring.activeKey()
	return KeyStatus{Term: k.term, InstallTime: k.installTime, Encryptions: b.encryptions.Load()}, nil
}

// RootKey returns a copy of the root key, for the seal layer to protect
// (re-split or re-wrap). The caller should zero it when done.
func (b *Barrier) RootKey() ([]byte, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.keyring == nil {
		return nil, ErrSealed
	}
	return bytes.Clone(b.rootKey), nil
}

// persistKeyring seals kr under rootKey and stores it at keyringPath.
func (b *Barrier) persistKeyring(ctx context.Context, kr *keyring, rootKey []byte) error {
	data, err := kr.marshal()
	if err != nil {
		return fmt.Errorf("serialize keyring: %w", err)
	}
	defer clear(data)
	aead, err := newAEAD(rootKey)
	if err != nil {
		return err
	}
	value, err := sealValue(aead, rootTerm, keyringPath, data)
	if err != nil {
		return err
	}
	if err := b.backend.Put(ctx, &physical.Entry{Key: keyringPath, Value: value}); err != nil {
		return fmt.Errorf("write keyring: %w", err)
	}
	return nil
}

// loadKeyring reads the stored keyring and opens it with rootKey.
func (b *Barrier) loadKeyring(ctx context.Context, rootKey []byte) (*keyring, error) {
	e, err := b.backend.Get(ctx, keyringPath)
	if err != nil {
		return nil, fmt.Errorf("read keyring: %w", err)
	}
	if e == nil {
		return nil, ErrNotInitialized
	}
	aead, err := newAEAD(rootKey)
	if err != nil {
		return nil, err
	}
	term, err := parseHeader(e.Value)
	if err != nil {
		return nil, fmt.Errorf("stored keyring: %w", err)
	}
	if term != rootTerm {
		return nil, fmt.Errorf("stored keyring: %w: sealed under term %d, not the root key", ErrDecrypt, term)
	}
	// A wrong key and a tampered keyring look the same to GCM; the wrong
	// key is by far the likelier, and it is what the operator can fix.
	data, err := openValue(aead, keyringPath, e.Value)
	if err != nil {
		return nil, ErrInvalidKey
	}
	defer clear(data)
	return parseKeyring(data)
}
