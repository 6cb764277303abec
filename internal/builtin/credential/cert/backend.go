package cert

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/strongbox/strongbox/internal/logical"
)

// Storage prefixes and keys; see doc.go.
const (
	certPrefix = "cert/"
	crlPrefix  = "crl/"
	configKey  = "config"
)

// nameRe is a certificate or CRL name as Vault accepts it.
const nameRe = `(?P<name>\w(?:[\w.-]*\w)?)`

// Factory builds the method for a mount. It does no I/O: the CRLs are
// read at the first login that needs them.
func Factory(_ context.Context, _ *logical.BackendConfig) (logical.Backend, error) {
	return newBackend().framework(), nil
}

type backend struct {
	// certMu serialises read-modify-write of certificate entries.
	certMu sync.Mutex

	// crlMu guards crls, the revoked serials of every CRL by name, loaded
	// from storage on first use (nil until then) and kept in step by the
	// CRL writes, which hold crlMu for their whole read-modify-write.
	crlMu sync.RWMutex
	crls  map[string]map[string]struct{}

	// trust caches parsed certificate entries (see trust.go).
	trust trustCache
}

func newBackend() *backend { return &backend{} }

func (b *backend) framework() *logical.FrameworkBackend {
	return &logical.FrameworkBackend{
		PathsSpecial: &logical.Paths{Unauthenticated: []string{"login"}},
		Paths: []*logical.Path{
			b.pathLogin(),
			b.pathConfig(),
			b.pathCertsList(),
			b.pathCerts(),
			b.pathCRLsList(),
			b.pathCRLs(),
		},
		AuthRenew: b.renewLogin,
	}
}

func getJSON(ctx context.Context, s logical.Storage, key string, v any) (bool, error) {
	e, err := s.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("cert: read %s: %w", key, err)
	}
	if e == nil {
		return false, nil
	}
	if err := json.Unmarshal(e.Value, v); err != nil {
		return false, fmt.Errorf("cert: decode %s: %w", key, err)
	}
	return true, nil
}

func putJSON(ctx context.Context, s logical.Storage, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cert: encode %s: %w", key, err)
	}
	if err := s.Put(ctx, &logical.StorageEntry{Key: key, Value: raw}); err != nil {
		return fmt.Errorf("cert: write %s: %w", key, err)
	}
	return nil
}

func listKeys(ctx context.Context, s logical.Storage, prefix string) (*logical.Response, error) {
	keys, err := s.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("cert: list %s: %w", prefix, err)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

// name is the request's entry name, lowercased as Vault stores it.
func name(d *logical.FieldData) string {
	return strings.ToLower(d.Get("name").(string))
}
