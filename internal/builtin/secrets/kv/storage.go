package kv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

const (
	configKey      = "config"
	metadataPrefix = "metadata/"
	versionsPrefix = "versions/"

	// defaultMaxVersions is kept when neither the key nor the engine sets
	// max_versions, as in Vault.
	defaultMaxVersions = 10
)

// engineConfig is the v2 mount-wide configuration at "config".
type engineConfig struct {
	MaxVersions uint32 `json:"max_versions"`
	CasRequired bool   `json:"cas_required"`
	// DeleteVersionAfter: 0 unset, negative disables it for every key.
	DeleteVersionAfter time.Duration `json:"delete_version_after"`
}

// versionMeta is what the metadata entry remembers of one version.
type versionMeta struct {
	CreatedTime time.Time `json:"created_time"`
	// DeletionTime is zero when the version is not (scheduled to be)
	// deleted; a time in the future comes from delete_version_after.
	DeletionTime time.Time `json:"deletion_time,omitzero"`
	Destroyed    bool      `json:"destroyed,omitempty"`
}

// deleted reports whether the version reads as deleted at now.
func (v *versionMeta) deleted(now time.Time) bool {
	return !v.DeletionTime.IsZero() && !v.DeletionTime.After(now)
}

// keyMeta is one secret's metadata entry at "metadata/<path>".
type keyMeta struct {
	Key                string                  `json:"key"`
	Versions           map[uint64]*versionMeta `json:"versions"`
	CurrentVersion     uint64                  `json:"current_version"`
	OldestVersion      uint64                  `json:"oldest_version"`
	CreatedTime        time.Time               `json:"created_time"`
	UpdatedTime        time.Time               `json:"updated_time"`
	MaxVersions        uint32                  `json:"max_versions"`
	CasRequired        bool                    `json:"cas_required"`
	DeleteVersionAfter time.Duration           `json:"delete_version_after"`
	CustomMetadata     map[string]string       `json:"custom_metadata,omitempty"`
}

// versionEntry is one version's data at "versions/<hash>/<n>".
type versionEntry struct {
	Data        json.RawMessage `json:"data"`
	CreatedTime time.Time       `json:"created_time"`
}

// formatTime renders a time like Vault: RFC 3339 with nanoseconds, UTC, and
// "" for none.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// versionDir is the storage folder holding every version of key. Hashing
// keeps it flat and free of the key's own slashes.
func versionDir(key string) string {
	sum := sha256.Sum256([]byte(key))
	return versionsPrefix + hex.EncodeToString(sum[:]) + "/"
}

func versionKey(key string, n uint64) string {
	return versionDir(key) + strconv.FormatUint(n, 10)
}

// loadConfig returns the engine's configuration, from the cache when it is
// there: every write needs it, and it changes only through saveConfig.
func (b *versioned) loadConfig(ctx context.Context, s logical.Storage) (*engineConfig, error) {
	c, ok, gen := b.conf.Get(configKey)
	if ok {
		return c, nil
	}
	c, err := loadConfig(ctx, s)
	if err == nil {
		b.conf.Fill(configKey, c, gen)
	}
	return c, err
}

// saveConfig writes the configuration and keeps the cache in step.
func (b *versioned) saveConfig(ctx context.Context, s logical.Storage, c *engineConfig) error {
	b.conf.Invalidate(configKey)
	if err := saveConfig(ctx, s, c); err != nil {
		return err
	}
	b.conf.Set(configKey, c)
	return nil
}

func cloneConfig(c *engineConfig) *engineConfig {
	out := *c
	return &out
}

func loadConfig(ctx context.Context, s logical.Storage) (*engineConfig, error) {
	e, err := s.Get(ctx, configKey)
	if err != nil {
		return nil, fmt.Errorf("kv: read config: %w", err)
	}
	c := &engineConfig{}
	if e == nil {
		return c, nil
	}
	if err := json.Unmarshal(e.Value, c); err != nil {
		return nil, fmt.Errorf("kv: decode config: %w", err)
	}
	return c, nil
}

func saveConfig(ctx context.Context, s logical.Storage, c *engineConfig) error {
	buf, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("kv: encode config: %w", err)
	}
	if err := s.Put(ctx, &logical.StorageEntry{Key: configKey, Value: buf}); err != nil {
		return fmt.Errorf("kv: write config: %w", err)
	}
	return nil
}

// maxCachedMeta bounds the metadata cache of one mount.
const maxCachedMeta = 50_000

// loadMeta returns the key's metadata (from the cache when it is there),
// or nil when the key does not exist.
func (b *versioned) loadMeta(ctx context.Context, s logical.Storage, key string) (*keyMeta, error) {
	m, ok, gen := b.meta.Get(key)
	if ok {
		return m, nil
	}
	m, err := loadMeta(ctx, s, key)
	if err == nil && m != nil {
		b.meta.Fill(key, m, gen)
	}
	return m, err
}

// saveMeta writes metadata and keeps the cache in step.
func (b *versioned) saveMeta(ctx context.Context, s logical.Storage, m *keyMeta) error {
	b.meta.Invalidate(m.Key)
	if err := saveMeta(ctx, s, m); err != nil {
		return err
	}
	b.meta.Set(m.Key, m)
	return nil
}

// clone deep-copies metadata, so cached values are never shared.
func (m *keyMeta) clone() *keyMeta {
	out := *m
	out.Versions = make(map[uint64]*versionMeta, len(m.Versions))
	for n, v := range m.Versions {
		vc := *v
		out.Versions[n] = &vc
	}
	out.CustomMetadata = maps.Clone(m.CustomMetadata)
	return &out
}

// loadMeta reads and decodes the key's metadata, or nil when the key does
// not exist.
func loadMeta(ctx context.Context, s logical.Storage, key string) (*keyMeta, error) {
	if key == "" {
		return nil, nil
	}
	e, err := s.Get(ctx, metadataPrefix+key)
	if err != nil {
		return nil, fmt.Errorf("kv: read metadata: %w", err)
	}
	if e == nil {
		return nil, nil
	}
	m := &keyMeta{}
	if err := json.Unmarshal(e.Value, m); err != nil {
		return nil, fmt.Errorf("kv: decode metadata: %w", err)
	}
	if m.Versions == nil {
		m.Versions = map[uint64]*versionMeta{}
	}
	return m, nil
}

func saveMeta(ctx context.Context, s logical.Storage, m *keyMeta) error {
	buf, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("kv: encode metadata: %w", err)
	}
	if err := s.Put(ctx, &logical.StorageEntry{Key: metadataPrefix + m.Key, Value: buf}); err != nil {
		return fmt.Errorf("kv: write metadata: %w", err)
	}
	return nil
}

// loadVersionData returns a version's data, or nil when it is gone.
func loadVersionData(ctx context.Context, s logical.Storage, key string, n uint64) (map[string]any, error) {
	e, err := s.Get(ctx, versionKey(key, n))
	if err != nil {
		return nil, fmt.Errorf("kv: read version %d: %w", n, err)
	}
	if e == nil {
		return nil, nil
	}
	var v versionEntry
	if err := json.Unmarshal(e.Value, &v); err != nil {
		return nil, fmt.Errorf("kv: decode version %d: %w", n, err)
	}
	// UseNumber keeps large integers exact on the way back out.
	dec := json.NewDecoder(bytes.NewReader(v.Data))
	dec.UseNumber()
	data := map[string]any{}
	if err := dec.Decode(&data); err != nil {
		return nil, fmt.Errorf("kv: decode version %d data: %w", n, err)
	}
	return data, nil
}

// encodeVersion builds the storage entry of one version's data.
func encodeVersion(key string, n uint64, data map[string]any, created time.Time) (*logical.StorageEntry, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, logical.BadRequest("data cannot be encoded as JSON: %v", err)
	}
	buf, err := json.Marshal(versionEntry{Data: raw, CreatedTime: created})
	if err != nil {
		return nil, fmt.Errorf("kv: encode version %d: %w", n, err)
	}
	return &logical.StorageEntry{Key: versionKey(key, n), Value: buf}, nil
}

// commitVersion writes a new version, the metadata that references it and
// the trimmed versions' deletions in one transaction: one storage commit,
// one raft entry, and no window where the metadata and data disagree.
func (b *versioned) commitVersion(ctx context.Context, tx logical.Transactional, m *keyMeta, ve *logical.StorageEntry, dropped []uint64) error {
	meta, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("kv: encode metadata: %w", err)
	}
	ops := []*logical.TxnOp{{Entry: ve}, {Entry: &logical.StorageEntry{Key: metadataPrefix + m.Key, Value: meta}}}
	for _, old := range dropped {
		ops = append(ops, &logical.TxnOp{Delete: true, Entry: &logical.StorageEntry{Key: versionKey(m.Key, old)}})
	}
	b.meta.Invalidate(m.Key)
	if err := tx.Transaction(ctx, ops); err != nil {
		return fmt.Errorf("kv: write version: %w", err)
	}
	b.meta.Set(m.Key, m)
	return nil
}

// effectiveMaxVersions is the key's max_versions, else the engine's, else 10.
func effectiveMaxVersions(m *keyMeta, c *engineConfig) uint64 {
	switch {
	case m.MaxVersions > 0:
		return uint64(m.MaxVersions)
	case c.MaxVersions > 0:
		return uint64(c.MaxVersions)
	}
	return defaultMaxVersions
}

// deletionTimeFor returns when a version created (or undeleted) at from
// should be deleted: from plus the smaller non-zero of the engine's and the
// key's delete_version_after; zero when neither applies.
func deletionTimeFor(from time.Time, m *keyMeta, c *engineConfig) time.Time {
	if c.DeleteVersionAfter < 0 {
		return time.Time{}
	}
	after := m.DeleteVersionAfter
	if c.DeleteVersionAfter > 0 && (after == 0 || c.DeleteVersionAfter < after) {
		after = c.DeleteVersionAfter
	}
	if after <= 0 {
		return time.Time{}
	}
	return from.Add(after)
}

// addVersion records a new current version and slides the window of kept
// versions; it returns the new version's metadata and the version numbers
// that fell out of the window (whose data the caller deletes).
func (m *keyMeta) addVersion(created time.Time, c *engineConfig) (*versionMeta, []uint64) {
	vm := &versionMeta{CreatedTime: created, DeletionTime: deletionTimeFor(created, m, c)}
	m.CurrentVersion++
	m.Versions[m.CurrentVersion] = vm
	m.UpdatedTime = created
	if m.CreatedTime.IsZero() {
		m.CreatedTime = created
	}
	keep := effectiveMaxVersions(m, c)
	var dropped []uint64
	if m.CurrentVersion-m.OldestVersion >= keep {
		last := m.CurrentVersion - keep
		for n := m.OldestVersion; n <= last; n++ {
			if _, ok := m.Versions[n]; ok {
				delete(m.Versions, n)
				dropped = append(dropped, n)
			}
		}
		m.OldestVersion = last + 1
	}
	return vm, dropped
}

// versionResponse is a version's metadata as Vault shows it.
func versionResponse(n uint64, v *versionMeta, m *keyMeta) map[string]any {
	return map[string]any{
		"version":         n,
		"created_time":    formatTime(v.CreatedTime),
		"deletion_time":   formatTime(v.DeletionTime),
		"destroyed":       v.Destroyed,
		"custom_metadata": customMetadataValue(m.CustomMetadata),
	}
}

// customMetadataValue renders custom metadata as Vault does: null when
// there is none, else an object of strings.
func customMetadataValue(cm map[string]string) any {
	if len(cm) == 0 {
		return nil
	}
	out := make(map[string]any, len(cm))
	for k, v := range cm {
		out[k] = v
	}
	return out
}
