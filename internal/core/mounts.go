package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
)

// Storage locations (inside the barrier) of the tables and of mount data.
const (
	mountTableKey = "core/mounts"
	authTableKey  = "core/auth"
	auditTableKey = "core/audit"
	clusterKey    = "core/cluster-info"

	secretDataPrefix = "logical/"
	authDataPrefix   = "auth/"
	systemPrefix     = "sys/"
)

// MountConfig is a mount's tunable configuration.
type MountConfig struct {
	DefaultLeaseTTL           time.Duration `json:"default_lease_ttl"`
	MaxLeaseTTL               time.Duration `json:"max_lease_ttl"`
	ForceNoCache              bool          `json:"force_no_cache"`
	ListingVisibility         string        `json:"listing_visibility,omitempty"`
	AuditNonHMACRequestKeys   []string      `json:"audit_non_hmac_request_keys,omitempty"`
	AuditNonHMACResponseKeys  []string      `json:"audit_non_hmac_response_keys,omitempty"`
	PassthroughRequestHeaders []string      `json:"passthrough_request_headers,omitempty"`
	AllowedResponseHeaders    []string      `json:"allowed_response_headers,omitempty"`
}

// MountEntry is one row of a mount, auth or audit table.
type MountEntry struct {
	Path        string            `json:"path"`
	Type        string            `json:"type"`
	Description string            `json:"description"`
	UUID        string            `json:"uuid"`
	Accessor    string            `json:"accessor"`
	Config      MountConfig       `json:"config"`
	Options     map[string]string `json:"options"`
	Local       bool              `json:"local"`
	SealWrap    bool              `json:"seal_wrap"`
	// ExternalEntropyAccess and the plugin fields are kept for API shape.
	ExternalEntropyAccess bool `json:"external_entropy_access"`
}

// mountTable is a persisted, ordered table of mount entries.
type mountTable struct {
	mu      sync.RWMutex
	key     string
	entries []*MountEntry
}

func (t *mountTable) list() []*MountEntry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]*MountEntry, len(t.entries))
	copy(out, t.entries)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func (t *mountTable) find(path string) *MountEntry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, e := range t.entries {
		if e.Path == path {
			return e
		}
	}
	return nil
}

func (c *Core) loadTable(ctx context.Context, key string) (*mountTable, bool, error) {
	e, err := c.barrier.Get(ctx, key)
	if err != nil {
		return nil, false, fmt.Errorf("load %s: %w", key, err)
	}
	t := &mountTable{key: key}
	if e == nil {
		return t, false, nil
	}
	if err := json.Unmarshal(e.Value, &t.entries); err != nil {
		return nil, false, fmt.Errorf("decode %s: %w", key, err)
	}
	return t, true, nil
}

// persist writes the table with entries replaced by next; the in-memory
// table changes only when the write succeeded.
func (c *Core) persist(ctx context.Context, t *mountTable, next []*MountEntry) error {
	raw, err := json.Marshal(next)
	if err != nil {
		return err
	}
	if err := c.barrier.Put(ctx, &physical.Entry{Key: t.key, Value: raw}); err != nil {
		return fmt.Errorf("persist %s: %w", t.key, err)
	}
	t.mu.Lock()
	t.entries = next
	t.mu.Unlock()
	return nil
}

func randomAccessor(typ string) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return typ + "_" + hex.EncodeToString(b)
}

// normalizeMountPath cleans a user-supplied path into "a/b/" form.
func normalizeMountPath(p string) (string, error) {
	p = strings.Trim(strings.TrimSpace(p), "/")
	if p == "" {
		return "", logical.BadRequest("path cannot be empty")
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", logical.BadRequest("invalid mount path %q", p)
		}
	}
	return p + "/", nil
}

// conflict reports whether path overlaps an existing entry (either is a
// prefix of the other): such a mount would shadow the other's routes.
func conflict(t *mountTable, path string) *MountEntry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, e := range t.entries {
		if strings.HasPrefix(path, e.Path) || strings.HasPrefix(e.Path, path) {
			return e
		}
	}
	return nil
}

// logicalConfig converts a mount's config to what engines see.
func (e *MountEntry) logicalConfig(sysDefault, sysMax time.Duration) logical.MountConfig {
	def, max := e.Config.DefaultLeaseTTL, e.Config.MaxLeaseTTL
	if def == 0 {
		def = sysDefault
	}
	if max == 0 {
		max = sysMax
	}
	return logical.MountConfig{DefaultLeaseTTL: def, MaxLeaseTTL: max, Options: e.Options}
}

type systemView struct{ def, max time.Duration }

func (s systemView) DefaultLeaseTTL() time.Duration { return s.def }
func (s systemView) MaxLeaseTTL() time.Duration     { return s.max }
