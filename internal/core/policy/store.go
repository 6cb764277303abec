package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/strongbox/strongbox/internal/logical"
)

// storagePrefix is where policies live in the store's storage view.
const storagePrefix = "policy/"

// storedPolicy is the storage entry of one policy.
type storedPolicy struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
	Raw     string `json:"raw"`
}

// Store keeps ACL policies in a logical.Storage under "policy/<name>" and
// caches parsed policies in memory. "root" always exists and cannot be
// written or deleted; "default" always exists (it is written with
// DefaultPolicy on Setup or first use) and can be rewritten but not deleted.
// A Store is safe for concurrent use. Returned policies are shared: treat
// them as read-only.
type Store struct {
	storage logical.Storage

	// writeMu serializes writes to storage (Set, Delete, creating the
	// default policy) with the cache updates that follow them.
	writeMu sync.Mutex
	// mu guards cache and gen; cache hits take only its read lock.
	mu    sync.RWMutex
	cache map[string]*Policy
	// gen counts writes and invalidations, so that a cache fill that raced
	// with one is dropped instead of caching a replaced policy.
	gen uint64
}

// NewStore returns a Store over storage (typically the core's system view).
func NewStore(storage logical.Storage) *Store {
	return &Store{storage: storage, cache: map[string]*Policy{}}
}

// Setup writes the default policy if it is not stored yet. The core calls it
// when it becomes active; Get and ACL do the same lazily.
func (s *Store) Setup(ctx context.Context) error {
	_, err := s.Get(ctx, DefaultName)
	return err
}

// Get returns the named policy, (nil, nil) when it does not exist. The name
// is sanitized (trimmed, lowercased).
func (s *Store) Get(ctx context.Context, name string) (*Policy, error) {
	name = SanitizeName(name)
	switch name {
	case RootName:
		return Root(), nil
	case ResponseWrappingName:
		return ResponseWrapping(), nil
	case "":
		return nil, nil
	}
	s.mu.RLock()
	p, ok := s.cache[name]
	gen := s.gen
	s.mu.RUnlock()
	if ok {
		return p, nil
	}

	p, err := s.load(ctx, name)
	if err != nil {
		return nil, err
	}
	if p == nil && name == DefaultName {
		return s.createDefault(ctx)
	}
	if p != nil {
		s.mu.Lock()
		// Cache only if no write happened while we read: otherwise what
		// we read may already be stale.
		if s.gen == gen {
			s.cache[name] = p
		}
		s.mu.Unlock()
	}
	return p, nil
}

// createDefault stores DefaultPolicy unless a default policy appeared
// meanwhile, and returns the stored default.
func (s *Store) createDefault(ctx context.Context) (*Policy, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	p, err := s.load(ctx, DefaultName)
	if err != nil {
		return nil, err
	}
	if p == nil {
		if p, err = s.put(ctx, DefaultName, DefaultPolicy); err != nil {
			return nil, fmt.Errorf("policy store: create default policy: %w", err)
		}
	}
	s.remember(DefaultName, p)
	return p, nil
}

// remember records a write or an invalidation in the cache (p nil: forget
// the name). Callers that wrote storage hold writeMu.
func (s *Store) remember(name string, p *Policy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	if p == nil {
		delete(s.cache, name)
		return
	}
	s.cache[name] = p
}

// load reads and parses a stored policy.
func (s *Store) load(ctx context.Context, name string) (*Policy, error) {
	e, err := s.storage.Get(ctx, storagePrefix+name)
	if err != nil {
		return nil, fmt.Errorf("policy store: read %q: %w", name, err)
	}
	if e == nil {
		return nil, nil
	}
	var sp storedPolicy
	if err := json.Unmarshal(e.Value, &sp); err != nil {
		return nil, fmt.Errorf("policy store: decode %q: %w", name, err)
	}
	p, err := Parse(name, sp.Raw)
	if err != nil {
		return nil, fmt.Errorf("policy store: stored policy %q: %w", name, err)
	}
	return p, nil
}

// put parses and stores a policy; the caller holds writeMu.
func (s *Store) put(ctx context.Context, name, raw string) (*Policy, error) {
	p, err := Parse(name, raw)
	if err != nil {
		return nil, err
	}
	buf, err := json.Marshal(storedPolicy{Version: 1, Name: name, Raw: raw})
	if err != nil {
		return nil, fmt.Errorf("policy store: encode %q: %w", name, err)
	}
	if err := s.storage.Put(ctx, &logical.StorageEntry{Key: storagePrefix + name, Value: buf}); err != nil {
		return nil, fmt.Errorf("policy store: write %q: %w", name, err)
	}
	return p, nil
}

// Set parses raw and stores it as the named policy, replacing any previous
// version. The name is sanitized; an empty or malformed name, empty text or
// a policy that does not parse is an error wrapping ErrInvalidPolicy, "root"
// one wrapping ErrImmutablePolicy; in both cases nothing is stored.
func (s *Store) Set(ctx context.Context, name, raw string) error {
	name = SanitizeName(name)
	if err := validName(name); err != nil {
		return err
	}
	if strings.TrimSpace(raw) == "" {
		return userErrorf(ErrInvalidPolicy, "'policy' parameter not supplied or empty")
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	p, err := s.put(ctx, name, raw)
	if err != nil {
		return err
	}
	s.remember(name, p)
	return nil
}

// validName checks a sanitized name for Set.
func validName(name string) error {
	switch {
	case name == "":
		return userErrorf(ErrInvalidPolicy, "policy name must be provided in the URL")
	case name == RootName, name == ResponseWrappingName:
		return userErrorf(ErrImmutablePolicy, "cannot update %q policy", name)
	case strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//"):
		return userErrorf(ErrInvalidPolicy, "invalid policy name %q: empty path segment", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return userErrorf(ErrInvalidPolicy, "invalid policy name %q: control character", name)
		}
	}
	return nil
}

// Delete removes the named policy; deleting a policy that does not exist is
// not an error. "root" and "default" cannot be deleted (ErrCannotDelete).
func (s *Store) Delete(ctx context.Context, name string) error {
	name = SanitizeName(name)
	switch name {
	case RootName:
		return userErrorf(ErrCannotDelete, "cannot delete %q policy", RootName)
	case DefaultName:
		return userErrorf(ErrCannotDelete, "cannot delete default policy")
	case ResponseWrappingName:
		return userErrorf(ErrCannotDelete, "cannot delete %q policy", name)
	case "":
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.storage.Delete(ctx, storagePrefix+name); err != nil {
		return fmt.Errorf("policy store: delete %q: %w", name, err)
	}
	s.remember(name, nil)
	return nil
}

// List returns the names of all policies, sorted, including "root" and
// "default" (as Vault's sys/policy list does).
func (s *Store) List(ctx context.Context) ([]string, error) {
	names := map[string]struct{}{RootName: {}, DefaultName: {}}
	if err := s.collect(ctx, "", names); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// collect walks the storage folders under prefix (names may contain "/").
func (s *Store) collect(ctx context.Context, prefix string, into map[string]struct{}) error {
	keys, err := s.storage.List(ctx, storagePrefix+prefix)
	if err != nil {
		return fmt.Errorf("policy store: list: %w", err)
	}
	for _, k := range keys {
		if strings.HasSuffix(k, "/") {
			if err := s.collect(ctx, prefix+k, into); err != nil {
				return err
			}
			continue
		}
		into[prefix+k] = struct{}{}
	}
	return nil
}

// ACL builds the ACL of a token holding the named policies. Names are
// sanitized; names of policies that do not exist are skipped, as Vault does;
// "root" among them makes a root ACL.
func (s *Store) ACL(ctx context.Context, names ...string) (*ACL, error) {
	return s.TemplatedACL(ctx, nil, names...)
}

// TemplatedACL is ACL for a caller whose entity is td (nil: none), with
// the identity placeholders of policy paths rendered (NewTemplatedACL).
func (s *Store) TemplatedACL(ctx context.Context, td *TemplateData, names ...string) (*ACL, error) {
	policies := make([]*Policy, 0, len(names))
	seen := make(map[string]struct{}, len(names))
	for _, n := range names {
		n = SanitizeName(n)
		if _, dup := seen[n]; dup {
			continue
		}
		seen[n] = struct{}{}
		if n == RootName {
			return NewACL(Root())
		}
		p, err := s.Get(ctx, n)
		if err != nil {
			return nil, err
		}
		if p != nil {
			policies = append(policies, p)
		}
	}
	return NewTemplatedACL(td, policies...)
}

// Invalidate drops a policy from the cache, for when storage changed under
// the store (replication, a standby following the active node).
func (s *Store) Invalidate(name string) {
	s.remember(SanitizeName(name), nil)
}
