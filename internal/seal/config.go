package seal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/strongbox/strongbox/internal/physical"
)

// Storage keys in the unencrypted area; the barrier never writes there.
const (
	configKey  = "core/seal-config"
	rootKeyKey = "core/hsm/barrier-unseal-keys"
)

// Errors callers branch on.
var (
	// ErrNotInitialized means no seal configuration is stored yet.
	ErrNotInitialized = errors.New("seal: not initialized")
	// ErrInvalidKey means the key material does not unwrap the root key.
	ErrInvalidKey = errors.New("seal: invalid key")
	// ErrInvalidConfig means the shares/threshold are out of range.
	ErrInvalidConfig = errors.New("seal: invalid configuration")
)

// Config is the stored seal configuration, as sys/seal-status reports it.
type Config struct {
	Type            string `json:"type"`
	SecretShares    int    `json:"secret_shares"`
	SecretThreshold int    `json:"secret_threshold"`
}

// Validate checks Vault's rules: 1 ≤ T ≤ N ≤ 255, and T=1 only with N=1.
func (c *Config) Validate() error {
	switch {
	case c.SecretShares < 1:
		return fmt.Errorf("%w: shares must be at least one", ErrInvalidConfig)
	case c.SecretThreshold < 1:
		return fmt.Errorf("%w: threshold must be at least one", ErrInvalidConfig)
	case c.SecretShares > 255:
		return fmt.Errorf("%w: shares must be less than 256", ErrInvalidConfig)
	case c.SecretThreshold > c.SecretShares:
		return fmt.Errorf("%w: threshold cannot be larger than shares", ErrInvalidConfig)
	case c.SecretShares > 1 && c.SecretThreshold == 1:
		return fmt.Errorf("%w: threshold must be greater than one for multiple shares", ErrInvalidConfig)
	}
	return nil
}

// LoadConfig reads the stored configuration; ErrNotInitialized when absent.
func LoadConfig(ctx context.Context, b physical.Backend) (*Config, error) {
	e, err := b.Get(ctx, configKey)
	if err != nil {
		return nil, fmt.Errorf("seal: read config: %w", err)
	}
	if e == nil {
		return nil, ErrNotInitialized
	}
	var c Config
	if err := json.Unmarshal(e.Value, &c); err != nil {
		return nil, fmt.Errorf("seal: decode config: %w", err)
	}
	return &c, nil
}

func storeConfig(ctx context.Context, b physical.Backend, c *Config) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := b.Put(ctx, &physical.Entry{Key: configKey, Value: raw}); err != nil {
		return fmt.Errorf("seal: store config: %w", err)
	}
	return nil
}
