package ldap

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"

	"github.com/strongbox/strongbox/internal/logical"
)

// Storage keys.
const (
	configKey   = "config"
	groupPrefix = "group/"
	userPrefix  = "user/"
)

// Factory builds the method for a mount. It does no I/O.
func Factory(_ context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	logger := slog.New(slog.DiscardHandler)
	if conf != nil && conf.Logger != nil {
		logger = conf.Logger
	}
	return newBackend(logger).framework(), nil
}

type backend struct {
	logger *slog.Logger
	// configMu serialises writes of the config (a read-modify-write).
	configMu sync.Mutex
	// locks serialise read-modify-write of one user or group, striped.
	locks [32]sync.Mutex
}

func newBackend(logger *slog.Logger) *backend { return &backend{logger: logger} }

func (b *backend) framework() *logical.FrameworkBackend {
	return &logical.FrameworkBackend{
		PathsSpecial: &logical.Paths{
			Unauthenticated: []string{"login/*"},
			SealWrapStorage: []string{configKey},
		},
		Paths: []*logical.Path{
			b.pathConfig(),
			b.pathGroupsList(),
			b.pathGroups(),
			b.pathUsersList(),
			b.pathUsers(),
			b.pathLogin(),
		},
		AuthRenew: b.renewLogin,
	}
}

func (b *backend) lock(key string) func() {
	h := fnv.New32a()
	h.Write([]byte(key))
	mu := &b.locks[h.Sum32()%uint32(len(b.locks))]
	mu.Lock()
	return mu.Unlock
}

func getJSON(ctx context.Context, s logical.Storage, key string, v any) (bool, error) {
	e, err := s.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("ldap: read %s: %w", key, err)
	}
	if e == nil {
		return false, nil
	}
	if err := json.Unmarshal(e.Value, v); err != nil {
		return false, fmt.Errorf("ldap: decode %s: %w", key, err)
	}
	return true, nil
}

func putJSON(ctx context.Context, s logical.Storage, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("ldap: encode %s: %w", key, err)
	}
	if err := s.Put(ctx, &logical.StorageEntry{Key: key, Value: raw}); err != nil {
		return fmt.Errorf("ldap: write %s: %w", key, err)
	}
	return nil
}

// config returns the stored configuration, or nil when there is none.
func (b *backend) config(ctx context.Context, s logical.Storage) (*config, error) {
	var c config
	ok, err := getJSON(ctx, s, configKey, &c)
	if err != nil || !ok {
		return nil, err
	}
	return &c, nil
}

// caseSensitive reports whether user and group names keep their case: the
// config's case_sensitive_names (false without a config, as Vault).
func (b *backend) caseSensitive(ctx context.Context, s logical.Storage) (bool, error) {
	c, err := b.config(ctx, s)
	if err != nil || c == nil {
		return false, err
	}
	return c.CaseSensitiveNames, nil
}

// canonical is a user or group name as stored.
func canonical(name string, caseSensitive bool) string {
	if caseSensitive {
		return name
	}
	return strings.ToLower(name)
}
