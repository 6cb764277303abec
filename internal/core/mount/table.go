package mount

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

	secretDataPrefix = "logical/"
	authDataPrefix   = "auth/"
)

// Config is a mount's tunable configuration.
type Config struct {
	DefaultLeaseTTL           time.Duration `json:"default_lease_ttl"`
	MaxLeaseTTL               time.Duration `json:"max_lease_ttl"`
	ForceNoCache              bool          `json:"force_no_cache"`
	ListingVisibility         string        `json:"listing_visibility,omitempty"`
	AuditNonHMACRequestKeys   []string      `json:"audit_non_hmac_request_keys,omitempty"`
	AuditNonHMACResponseKeys  []string      `json:"audit_non_hmac_response_keys,omitempty"`
	PassthroughRequestHeaders []string      `json:"passthrough_request_headers,omitempty"`
	AllowedResponseHeaders    []string      `json:"allowed_response_headers,omitempty"`
	// UserLockout is the auth mount's tuned user lockout (nil: the
	// server's settings apply).
	UserLockout *UserLockoutConfig `json:"user_lockout_config,omitempty"`
	// TokenType is an auth mount's token_type: "default-service" (also
	// when empty), "default-batch", "service" or "batch". The core weighs
	// it against the type the login asks for.
	TokenType string `json:"token_type,omitempty"`
}

// Entry is one row of a mount, auth or audit table.
type Entry struct {
	Path        string            `json:"path"`
	Type        string            `json:"type"`
	Description string            `json:"description"`
	UUID        string            `json:"uuid"`
	Accessor    string            `json:"accessor"`
	Config      Config            `json:"config"`
	Options     map[string]string `json:"options"`
	Local       bool              `json:"local"`
	SealWrap    bool              `json:"seal_wrap"`
	// ExternalEntropyAccess and the plugin fields are kept for API shape.
	ExternalEntropyAccess bool `json:"external_entropy_access"`
}

// Table is a persisted, ordered table of mount entries: one barrier entry
// per row under its key prefix. Its methods are safe for concurrent use.
type Table struct {
	mu      sync.RWMutex
	b       physical.Backend
	key     string
	entries []*Entry
}

// List returns the rows sorted by path.
func (t *Table) List() []*Entry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]*Entry, len(t.entries))
	copy(out, t.entries)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Find returns the row at path ("a/b/" form), or nil.
func (t *Table) Find(path string) *Entry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, e := range t.entries {
		if e.Path == path {
			return e
		}
	}
	return nil
}

// LoadTable reads the table stored under prefix (e.g. "core/audit/") in b,
// which is the barrier; Save and Remove write there too.
func LoadTable(ctx context.Context, b physical.Backend, prefix string) (*Table, error) {
	keys, err := b.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", prefix, err)
	}
	t := &Table{b: b, key: prefix, entries: make([]*Entry, 0, len(keys))}
	for _, k := range keys {
		e, err := b.Get(ctx, prefix+k)
		if err != nil {
			return nil, fmt.Errorf("load %s%s: %w", prefix, k, err)
		}
		if e == nil {
			continue
		}
		var me Entry
		if err := json.Unmarshal(e.Value, &me); err != nil {
			return nil, fmt.Errorf("decode %s%s: %w", prefix, k, err)
		}
		t.entries = append(t.entries, &me)
	}
	return t, nil
}

// storeEntry writes one table row; the caller updates memory on success.
func storeEntry(ctx context.Context, b physical.Backend, prefix string, me *Entry) error {
	raw, err := json.Marshal(me)
	if err != nil {
		return err
	}
	if err := b.Put(ctx, &physical.Entry{Key: prefix + me.UUID, Value: raw}); err != nil {
		return fmt.Errorf("persist %s%s: %w", prefix, me.Path, err)
	}
	return nil
}

// Save persists me (a new row, or a changed one with the same UUID) and
// then shows it in the in-memory table.
func (t *Table) Save(ctx context.Context, me *Entry) error {
	if err := storeEntry(ctx, t.b, t.key, me); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	next := make([]*Entry, 0, len(t.entries)+1)
	for _, e := range t.entries {
		if e.UUID != me.UUID {
			next = append(next, e)
		}
	}
	t.entries = append(next, me)
	return nil
}

// Remove deletes the row with the given UUID from storage, then from memory.
func (t *Table) Remove(ctx context.Context, uuid string) error {
	if err := t.b.Delete(ctx, t.key+uuid); err != nil {
		return fmt.Errorf("delete %s%s: %w", t.key, uuid, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	next := make([]*Entry, 0, len(t.entries))
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

// NormalizePath cleans a user-supplied mount path into "a/b/" form; an
// empty path or one with empty, "." or ".." segments is a 400.
func NormalizePath(p string) (string, error) {
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
func conflict(t *Table, path string) *Entry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, e := range t.entries {
		if strings.HasPrefix(path, e.Path) || strings.HasPrefix(e.Path, path) {
			return e
		}
	}
	return nil
}

// LogicalConfig converts a mount's config to what engines see: a zero TTL
// of the mount falls back to the system's sysDefault or sysMax.
func (e *Entry) LogicalConfig(sysDefault, sysMax time.Duration) logical.MountConfig {
	def, max := e.Config.DefaultLeaseTTL, e.Config.MaxLeaseTTL
	if def == 0 {
		def = sysDefault
	}
	if max == 0 {
		max = sysMax
	}
	return logical.MountConfig{DefaultLeaseTTL: def, MaxLeaseTTL: max, Options: e.Options}
}
