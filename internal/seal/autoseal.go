package seal

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/shamir"
)

// Storage keys of the auto seal. The recovery configuration is in the
// unencrypted area, so seal-status can report it while sealed; the
// recovery key itself is written by the core through the barrier.
const (
	recoveryConfigKey = "core/recovery-config"
	// RecoveryKeyPath is where the core keeps the recovery key, inside the
	// barrier (never in the clear area).
	RecoveryKeyPath = "core/recovery-key"
)

// Recovery key defaults, as Vault's `operator init` uses them.
const (
	DefaultRecoveryShares    = 5
	DefaultRecoveryThreshold = 3
)

// RecoveryType is the type of the recovery configuration: the recovery key
// is split with Shamir's scheme whatever the auto seal is.
const RecoveryType = "shamir"

// recoveryKeySize is the length of a recovery key: shares are one byte
// longer, so they pass the same length checks as unseal key shares.
const recoveryKeySize = 32

// AutoSeal is the auto-unseal seal: a key service (HSM, KMS) encrypts the
// root key, and the encrypted blob is stored in the clear area at
// core/hsm/barrier-unseal-keys. Operators hold recovery key shares, which
// authorize sensitive operations but cannot decrypt anything.
type AutoSeal struct {
	storage physical.Backend
	wrapper Wrapper
}

// NewAutoSeal returns the auto seal over the raw (unencrypted) storage.
func NewAutoSeal(storage physical.Backend, w Wrapper) *AutoSeal {
	return &AutoSeal{storage: storage, wrapper: w}
}

// Type is the seal type reported by sys/seal-status: the key service's.
func (a *AutoSeal) Type() string { return a.wrapper.Type() }

// RetryInterval is the steady interval at which a failing key service is
// retried, when the Wrapper asks for one (RetryPacer); zero otherwise.
func (a *AutoSeal) RetryInterval() time.Duration {
	if p, ok := a.wrapper.(RetryPacer); ok {
		return p.RetryInterval()
	}
	return 0
}

// Wrap encrypts rootKey with the key service and returns the blob as it is
// stored. The blob is decrypted once before it is returned, so a key service
// that cannot give the key back fails here, before anything is stored, and
// not at the next restart.
func (a *AutoSeal) Wrap(ctx context.Context, rootKey []byte) ([]byte, error) {
	blob, err := a.wrapper.Encrypt(ctx, rootKey)
	if err != nil {
		return nil, fmt.Errorf("seal: %s: encrypt root key: %w", a.Type(), err)
	}
	back, err := a.wrapper.Decrypt(ctx, blob)
	if err != nil {
		return nil, fmt.Errorf("seal: %s: decrypt the freshly encrypted root key: %w", a.Type(), err)
	}
	same := subtle.ConstantTimeCompare(back, rootKey) == 1
	clear(back)
	if !same {
		return nil, fmt.Errorf("seal: %s: the key service returned other bytes than it encrypted", a.Type())
	}
	raw, err := json.Marshal(blob)
	if err != nil {
		return nil, fmt.Errorf("seal: encode root key blob: %w", err)
	}
	return raw, nil
}

// Unwrap decrypts a stored blob (from this node's storage or from a raft
// join challenge) with the key service. A blob that is not one, or that the
// service refuses as not its own, is an error wrapping ErrInvalidKey; any
// other error means the service could not be reached, and callers retry.
func (a *AutoSeal) Unwrap(ctx context.Context, wrapped []byte) ([]byte, error) {
	var blob BlobInfo
	if err := json.Unmarshal(wrapped, &blob); err != nil || len(blob.Ciphertext) == 0 {
		return nil, fmt.Errorf("%w: the stored root key is not a key-service blob (was storage initialized with another seal?)", ErrInvalidKey)
	}
	root, err := a.wrapper.Decrypt(ctx, &blob)
	if err != nil {
		return nil, fmt.Errorf("seal: %s: decrypt root key: %w", a.Type(), err)
	}
	return root, nil
}

// Initialize stores the wrapped root key (from Wrap), the recovery
// configuration and the seal configuration. The seal configuration marks
// the node initialized, so it is written last, or with the rest at once
// when the storage is transactional.
func (a *AutoSeal) Initialize(ctx context.Context, recovery *Config, wrapped []byte) error {
	if err := recovery.Validate(); err != nil {
		return err
	}
	rconf := *recovery
	rconf.Type = RecoveryType
	rraw, err := json.Marshal(&rconf)
	if err != nil {
		return err
	}
	sraw, err := json.Marshal(&Config{Type: a.Type(), SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		return err
	}
	ops := []*physical.TxnOp{
		{Op: physical.PutOp, Entry: &physical.Entry{Key: rootKeyKey, Value: wrapped}},
		{Op: physical.PutOp, Entry: &physical.Entry{Key: recoveryConfigKey, Value: rraw}},
		{Op: physical.PutOp, Entry: &physical.Entry{Key: configKey, Value: sraw}},
	}
	if tx, ok := a.storage.(physical.Transactional); ok {
		if err := tx.Transaction(ctx, ops); err != nil {
			return fmt.Errorf("seal: store auto seal: %w", err)
		}
		return nil
	}
	for _, op := range ops {
		if err := a.storage.Put(ctx, op.Entry); err != nil {
			return fmt.Errorf("seal: store auto seal: %w", err)
		}
	}
	return nil
}

// RootKey reads the stored blob and has the key service decrypt it.
// ErrNotInitialized when no blob is stored; see Unwrap for the rest.
func (a *AutoSeal) RootKey(ctx context.Context) ([]byte, error) {
	wrapped, err := WrappedRootKey(ctx, a.storage)
	if err != nil {
		return nil, err
	}
	return a.Unwrap(ctx, wrapped)
}

// Rewrap encrypts rootKey anew with the key service's current key and
// replaces the stored blob: a barrier rekey under an auto seal. A single
// write, so a crash leaves either blob, and both decrypt to the same key.
func (a *AutoSeal) Rewrap(ctx context.Context, rootKey []byte) error {
	wrapped, err := a.Wrap(ctx, rootKey)
	if err != nil {
		return err
	}
	if err := a.storage.Put(ctx, &physical.Entry{Key: rootKeyKey, Value: wrapped}); err != nil {
		return fmt.Errorf("seal: store re-wrapped root key: %w", err)
	}
	return nil
}

// LoadRecoveryConfig reads the recovery configuration; ErrNotInitialized
// when absent (a Shamir seal, or before init).
func LoadRecoveryConfig(ctx context.Context, b physical.Backend) (*Config, error) {
	e, err := b.Get(ctx, recoveryConfigKey)
	if err != nil {
		return nil, fmt.Errorf("seal: read recovery config: %w", err)
	}
	if e == nil {
		return nil, ErrNotInitialized
	}
	var c Config
	if err := json.Unmarshal(e.Value, &c); err != nil {
		return nil, fmt.Errorf("seal: decode recovery config: %w", err)
	}
	return &c, nil
}

// StoreRecoveryConfig writes the recovery configuration (after a recovery
// key rekey).
func StoreRecoveryConfig(ctx context.Context, b physical.Backend, c *Config) error {
	conf := *c
	conf.Type = RecoveryType
	raw, err := json.Marshal(&conf)
	if err != nil {
		return err
	}
	if err := b.Put(ctx, &physical.Entry{Key: recoveryConfigKey, Value: raw}); err != nil {
		return fmt.Errorf("seal: store recovery config: %w", err)
	}
	return nil
}

// NewRecoveryKey checks c and returns a fresh random recovery key and its
// shares (the key itself when c asks for one share).
func NewRecoveryKey(c *Config) (key []byte, shares [][]byte, err error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	key = make([]byte, recoveryKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, fmt.Errorf("seal: generate recovery key: %w", err)
	}
	shares, err = splitKey(key, c.SecretShares, c.SecretThreshold)
	if err != nil {
		return nil, nil, err
	}
	if c.SecretShares == 1 {
		// splitKey hands back the key itself; the caller may wipe it.
		shares = [][]byte{append([]byte(nil), key...)}
	}
	return key, shares, nil
}

// CombineShares rebuilds a key from a threshold of shares (one share is the
// key itself). Shares that do not combine are an error wrapping
// ErrInvalidKey; shares that combine to the wrong key are not detected
// here: callers compare the result with what they hold.
func CombineShares(shares [][]byte) ([]byte, error) {
	switch len(shares) {
	case 0:
		return nil, fmt.Errorf("%w: no key shares", ErrInvalidKey)
	case 1:
		return append([]byte(nil), shares[0]...), nil
	}
	k, err := shamir.Combine(shares)
	if err != nil {
		return nil, fmt.Errorf("%w: combine shares: %v", ErrInvalidKey, err)
	}
	return k, nil
}

// ErrCredentialsRefused marks a key service that refused this server's
// credentials (a wrong HSM PIN): retrying cannot help, and an HSM locks a
// PIN after a few wrong tries, so callers do not retry.
var ErrCredentialsRefused = errors.New("seal: the key service refused this server's credentials")

// ErrRecoveryMismatch is what comparing a combined key with the stored
// recovery key yields when they differ; it wraps ErrInvalidKey.
var ErrRecoveryMismatch = fmt.Errorf("%w: the key shares do not combine to the recovery key", ErrInvalidKey)

// MatchRecoveryKey compares a combined key with the stored recovery key in
// constant time.
func MatchRecoveryKey(combined, stored []byte) error {
	if len(stored) == 0 {
		return errors.New("seal: no recovery key is stored")
	}
	if subtle.ConstantTimeCompare(combined, stored) != 1 {
		return ErrRecoveryMismatch
	}
	return nil
}
