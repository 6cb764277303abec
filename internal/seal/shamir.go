package seal

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"

	"github.com/strongbox/strongbox/internal/barrier"
	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/shamir"
)

// Shamir is the default seal: operators hold shares of an unseal key.
type Shamir struct {
	storage physical.Backend
}

// NewShamir returns the Shamir seal over the raw (unencrypted) storage.
func NewShamir(storage physical.Backend) *Shamir { return &Shamir{storage: storage} }

// Type is the seal type reported by sys/seal-status.
func (s *Shamir) Type() string { return "shamir" }

// Initialize wraps rootKey under a fresh unseal key, stores the wrapped key
// and the configuration, and returns the unseal key's shares.
func (s *Shamir) Initialize(ctx context.Context, c *Config, rootKey []byte) ([][]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.Type = s.Type()
	unsealKey := make([]byte, 32)
	if _, err := rand.Read(unsealKey); err != nil {
		return nil, fmt.Errorf("seal: generate unseal key: %w", err)
	}
	if err := s.wrap(ctx, unsealKey, rootKey); err != nil {
		clear(unsealKey)
		return nil, err
	}
	if err := storeConfig(ctx, s.storage, c); err != nil {
		clear(unsealKey)
		return nil, err
	}
	return splitUnsealKey(unsealKey, c.SecretShares, c.SecretThreshold)
}

// RootKey combines shares into the unseal key and unwraps the root key.
// Shares that do not belong together yield ErrInvalidKey.
func (s *Shamir) RootKey(ctx context.Context, shares [][]byte) ([]byte, error) {
	wrapped, err := WrappedRootKey(ctx, s.storage)
	if err != nil {
		return nil, err
	}
	return UnwrapRootKey(shares, wrapped)
}

// WrappedRootKey returns the stored, wrapped root key as it is in storage
// (a joining node receives it from the cluster it joins).
func WrappedRootKey(ctx context.Context, b physical.Backend) ([]byte, error) {
	e, err := b.Get(ctx, rootKeyKey)
	if err != nil {
		return nil, fmt.Errorf("seal: read wrapped root key: %w", err)
	}
	if e == nil {
		return nil, ErrNotInitialized
	}
	return e.Value, nil
}

// UnwrapRootKey combines Shamir shares into the unseal key and decrypts a
// wrapped root key with it.
// The combined unseal key is wiped before it returns; the caller owns (and
// wipes) the shares and the root key.
func UnwrapRootKey(shares [][]byte, wrapped []byte) ([]byte, error) {
	return unwrapRootKey(shares, wrapped, shamir.Combine)
}

func unwrapRootKey(shares [][]byte, wrapped []byte, combine func([][]byte) ([]byte, error)) ([]byte, error) {
	var unsealKey []byte
	if len(shares) == 1 {
		unsealKey = shares[0]
	} else {
		k, err := combine(shares)
		if err != nil {
			return nil, fmt.Errorf("%w: combine shares: %v", ErrInvalidKey, err)
		}
		defer clear(k)
		unsealKey = k
	}
	root, err := barrier.Decrypt(unsealKey, []byte(rootKeyKey), wrapped)
	if err != nil {
		return nil, ErrInvalidKey
	}
	return root, nil
}

// Rekey replaces the unseal key (and so every share) for rootKey under a new
// configuration. Old shares no longer unwrap anything.
func (s *Shamir) Rekey(ctx context.Context, c *Config, rootKey []byte) ([][]byte, error) {
	return s.Initialize(ctx, c, rootKey)
}

// Staged is a rekey prepared in memory: its shares can be handed out and
// verified before Commit makes them the only ones that unseal.
type Staged struct {
	storage physical.Backend
	config  Config
	wrapped []byte
}

// Stage prepares a rekey without writing anything.
func (s *Shamir) Stage(c *Config, rootKey []byte) (*Staged, [][]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	unsealKey := make([]byte, 32)
	if _, err := rand.Read(unsealKey); err != nil {
		return nil, nil, fmt.Errorf("seal: generate unseal key: %w", err)
	}
	wrapped, err := barrier.Encrypt(unsealKey, []byte(rootKeyKey), rootKey)
	if err != nil {
		clear(unsealKey)
		return nil, nil, fmt.Errorf("seal: wrap root key: %w", err)
	}
	shares, err := splitUnsealKey(unsealKey, c.SecretShares, c.SecretThreshold)
	if err != nil {
		return nil, nil, err
	}
	conf := *c
	conf.Type = s.Type()
	return &Staged{storage: s.storage, config: conf, wrapped: wrapped}, shares, nil
}

// RootKey unwraps the staged root key with the staged shares (to verify
// that operators hold them).
func (st *Staged) RootKey(shares [][]byte) ([]byte, error) {
	return UnwrapRootKey(shares, st.wrapped)
}

// Commit stores the staged wrapped key and configuration, atomically when
// the storage is transactional.
func (st *Staged) Commit(ctx context.Context) error {
	raw, err := json.Marshal(&st.config)
	if err != nil {
		return err
	}
	ops := []*physical.TxnOp{
		{Op: physical.PutOp, Entry: &physical.Entry{Key: rootKeyKey, Value: st.wrapped}},
		{Op: physical.PutOp, Entry: &physical.Entry{Key: configKey, Value: raw}},
	}
	if tx, ok := st.storage.(physical.Transactional); ok {
		if err := tx.Transaction(ctx, ops); err != nil {
			return fmt.Errorf("seal: store new unseal key: %w", err)
		}
		return nil
	}
	for _, op := range ops {
		if err := st.storage.Put(ctx, op.Entry); err != nil {
			return fmt.Errorf("seal: store new unseal key: %w", err)
		}
	}
	return nil
}

func (s *Shamir) wrap(ctx context.Context, unsealKey, rootKey []byte) error {
	ct, err := barrier.Encrypt(unsealKey, []byte(rootKeyKey), rootKey)
	if err != nil {
		return fmt.Errorf("seal: wrap root key: %w", err)
	}
	if err := s.storage.Put(ctx, &physical.Entry{Key: rootKeyKey, Value: ct}); err != nil {
		return fmt.Errorf("seal: store wrapped root key: %w", err)
	}
	return nil
}

func splitKey(key []byte, n, t int) ([][]byte, error) {
	if n == 1 {
		return [][]byte{key}, nil
	}
	shares, err := shamir.Split(key, n, t)
	if err != nil {
		return nil, fmt.Errorf("seal: split unseal key: %w", err)
	}
	return shares, nil
}

// splitUnsealKey splits a freshly made unseal key into the operators'
// shares and wipes it: from then on only the shares exist (with one share,
// the share is the key itself and is returned as it is).
func splitUnsealKey(key []byte, n, t int) ([][]byte, error) {
	shares, err := splitKey(key, n, t)
	if n != 1 || err != nil {
		clear(key)
	}
	return shares, err
}
