package barrier

import (
	"context"
	"errors"
	"fmt"
	"time"

	metrics "github.com/hashicorp/go-metrics"

	"github.com/strongbox/strongbox/internal/physical"
)

// Metric names, as Vault emits them (vault_barrier_get, …); allocated once
// so the hot path does not build them per call.
var (
	metricGet    = []string{"barrier", "get"}
	metricPut    = []string{"barrier", "put"}
	metricDelete = []string{"barrier", "delete"}
	metricList   = []string{"barrier", "list"}
)

// Get reads and decrypts the value at key; (nil, nil) when there is none.
// A value that does not authenticate returns an error wrapping ErrDecrypt.
func (b *Barrier) Get(ctx context.Context, key string) (*physical.Entry, error) {
	defer metrics.MeasureSince(metricGet, time.Now())
	if key == keyringPath {
		return nil, fmt.Errorf("barrier: get %q: %w", key, ErrReservedKey)
	}
	if b.Sealed() {
		return nil, ErrSealed
	}
	e, err := b.backend.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("barrier: get %q: %w", key, err)
	}
	if e == nil {
		return nil, nil
	}
	pt, newer, err := b.decrypt(key, e.Value)
	if newer {
		// Another node sharing this storage has rotated: pick up its keyring
		// and try once more.
		rerr := b.ReloadKeyring(ctx)
		if errors.Is(rerr, ErrSealed) {
			return nil, ErrSealed
		}
		if rerr != nil {
			// Say why the newer term is still unknown: the reload failed
			// (storage unreachable, a keyring this root key no longer
			// opens), not that the value is bad.
			return nil, fmt.Errorf("barrier: get %q: the value is sealed under a key term newer than this node's keyring, and reloading the keyring failed: %w", key, rerr)
		}
		pt, _, err = b.decrypt(key, e.Value)
	}
	if err != nil {
		return nil, fmt.Errorf("barrier: get %q: %w", key, err)
	}
	return &physical.Entry{Key: key, Value: pt}, nil
}

// Put encrypts the entry under the active term and stores it.
func (b *Barrier) Put(ctx context.Context, entry *physical.Entry) error {
	defer metrics.MeasureSince(metricPut, time.Now())
	if entry == nil {
		return errors.New("barrier: put: nil entry")
	}
	if entry.Key == keyringPath {
		return fmt.Errorf("barrier: put %q: %w", entry.Key, ErrReservedKey)
	}
	value, err := b.encrypt(entry.Key, entry.Value)
	if err != nil {
		return err
	}
	if err := b.backend.Put(ctx, &physical.Entry{Key: entry.Key, Value: value}); err != nil {
		return fmt.Errorf("barrier: put %q: %w", entry.Key, err)
	}
	return nil
}

// Delete removes key.
func (b *Barrier) Delete(ctx context.Context, key string) error {
	defer metrics.MeasureSince(metricDelete, time.Now())
	if key == keyringPath {
		return fmt.Errorf("barrier: delete %q: %w", key, ErrReservedKey)
	}
	if b.Sealed() {
		return ErrSealed
	}
	if err := b.backend.Delete(ctx, key); err != nil {
		return fmt.Errorf("barrier: delete %q: %w", key, err)
	}
	return nil
}

// List returns the children of prefix. Keys are stored in the clear, so
// List reads nothing it must decrypt.
func (b *Barrier) List(ctx context.Context, prefix string) ([]string, error) {
	defer metrics.MeasureSince(metricList, time.Now())
	if b.Sealed() {
		return nil, ErrSealed
	}
	keys, err := b.backend.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("barrier: list %q: %w", prefix, err)
	}
	return keys, nil
}

// Transaction encrypts the puts among ops and applies them all. It is atomic
// when the backend is physical.Transactional; otherwise the ops are applied
// in order and a failure leaves the earlier ones applied. The caller's ops
// and entries are not modified.
func (b *Barrier) Transaction(ctx context.Context, ops []*physical.TxnOp) error {
	if b.Sealed() {
		return ErrSealed
	}
	sealed := make([]*physical.TxnOp, len(ops))
	for i, op := range ops {
		if op == nil || op.Entry == nil {
			return fmt.Errorf("barrier: transaction op %d: missing entry", i)
		}
		key := op.Entry.Key
		if key == keyringPath {
			return fmt.Errorf("barrier: transaction op %d %q: %w", i, key, ErrReservedKey)
		}
		switch op.Op {
		case physical.PutOp:
			value, err := b.encrypt(key, op.Entry.Value)
			if err != nil {
				return err
			}
			sealed[i] = &physical.TxnOp{Op: physical.PutOp, Entry: &physical.Entry{Key: key, Value: value}}
		case physical.DeleteOp:
			sealed[i] = &physical.TxnOp{Op: physical.DeleteOp, Entry: &physical.Entry{Key: key}}
		default:
			return fmt.Errorf("barrier: transaction op %d %q: unknown operation %d", i, key, op.Op)
		}
	}

	if txn, ok := b.backend.(physical.Transactional); ok {
		if err := txn.Transaction(ctx, sealed); err != nil {
			return fmt.Errorf("barrier: transaction: %w", err)
		}
		return nil
	}
	for i, op := range sealed {
		var err error
		if op.Op == physical.PutOp {
			err = b.backend.Put(ctx, op.Entry)
		} else {
			err = b.backend.Delete(ctx, op.Entry.Key)
		}
		if err != nil {
			return fmt.Errorf("barrier: transaction op %d %q (earlier ops applied): %w", i, op.Entry.Key, err)
		}
	}
	return nil
}

// encrypt seals plaintext for path under the active term.
func (b *Barrier) encrypt(path string, plaintext []byte) ([]byte, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.keyring == nil {
		return nil, ErrSealed
	}
	k := b.keyring.activeKey()
	value, err := sealValue(k.aead, k.term, path, plaintext)
	if err != nil {
		return nil, fmt.Errorf("barrier: encrypt %q: %w", path, err)
	}
	b.encryptions.Add(1)
	return value, nil
}

// decrypt opens a stored value for path. newer reports that the value names
// a term above the active one, which a keyring reload may supply.
func (b *Barrier) decrypt(path string, value []byte) (plaintext []byte, newer bool, err error) {
	term, err := parseHeader(value)
	if err != nil {
		return nil, false, err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.keyring == nil {
		return nil, false, ErrSealed
	}
	k, ok := b.keyring.keys[term]
	if !ok {
		return nil, term > b.keyring.active, fmt.Errorf("%w: unknown key term %d", ErrDecrypt, term)
	}
	plaintext, err = openValue(k.aead, path, value)
	return plaintext, false, err
}
