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
	// Each table row is its own entry (prefix + UUID), so enabling a mount
	// writes one small entry however many mounts exist, and no table ever
	// outgrows a raft log entry.
	mountTableKey = "core/mounts/"
	authTableKey  = "core/auth/"
	auditTableKey = "core/audit/"
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

func (c *Core) loadTable(ctx context.Context, prefix string) (*mountTable, error) {
	keys, err := c.barrier.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", prefix, err)
	}
	t := &mountTable{key: prefix, entries: make([]*MountEntry, 0, len(keys))}
	for _, k := range keys {
		e, err := c.barrier.Get(ctx, prefix+k)
		if err != nil {
			return nil, fmt.Errorf("load %s%s: %w", prefix, k, err)
		}
		if e == nil {
			continue
		}
		var me MountEntry
		if err := json.Unmarshal(e.Value, &me); err != nil {
			return nil, fmt.Errorf("decode %s%s: %w", prefix, k, err)
		}
		t.entries = append(t.entries, &me)
	}
	return t, nil
}

// storeEntry writes one table row; the caller updates memory on success.
func (c *Core) storeEntry(ctx context.Context, prefix string, me *MountEntry) error {
	raw, err := json.Marshal(me)
	if err != nil {
		return err
	}
	if err := c.barrier.Put(ctx, &physical.Entry{Key: prefix + me.UUID, Value: raw}); err != nil {
		return fmt.Errorf("persist %s%s: %w", prefix, me.Path, err)
	}
	return nil
}

// saveEntry persists me (a new row, or a changed one with the same UUID)
// and then shows it in the in-memory table.
func (c *Core) saveEntry(ctx context.Context, t *mountTable, me *MountEntry) error {
	if err := c.storeEntry(ctx, t.key, me); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	next := make([]*MountEntry, 0, len(t.entries)+1)
	for _, e := range t.entries {
		if e.UUID != me.UUID {
			next = append(next, e)
		}
	}
	t.entries = append(next, me)
	return nil
}

// removeEntry deletes a row from storage, then from memory.
func (c *Core) removeEntry(ctx context.Context, t *mountTable, uuid string) error {
	if err := c.barrier.Delete(ctx, t.key+uuid); err != nil {
		return fmt.Errorf("delete %s%s: %w", t.key, uuid, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	next := make([]*MountEntry, 0, len(t.entries))
	for _, e := range t.entries {
		if e.UUID != uuid {
			next = append(next, e)
		}
	}
	t.entries = next
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
