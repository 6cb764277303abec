package transit

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/strongbox/strongbox/internal/logical"
)

// Storage layout of a mount.
const (
	policyPrefix   = "policy/"
	cacheConfigKey = "config/cache"
)

// nameRe is a key name as Vault accepts it.
const nameRe = `(?P<name>\w(?:[\w.@-]*\w)?)`

// Factory builds the engine for a mount. It does no I/O: the cache size is
// read at the first request.
func Factory(_ context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	var logger *slog.Logger
	if conf != nil {
		logger = conf.Logger
	}
	return newBackend(logger).framework(), nil
}

type backend struct {
	logger *slog.Logger
	now    func() time.Time
	// locks serialise the changes of one key, striped by name.
	locks [64]sync.Mutex

	// cache holds decrypted keys (immutable policies) by name, so that
	// encrypt and decrypt do no storage read. size 0: unbounded.
	cacheMu   sync.Mutex
	cache     *lru.Cache[string, *policy]
	unbounded map[string]*policy
	cacheSize int
	cacheRead bool
}

func newBackend(logger *slog.Logger) *backend {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &backend{logger: logger, now: time.Now, unbounded: map[string]*policy{}}
}

func (b *backend) framework() *logical.FrameworkBackend {
	return &logical.FrameworkBackend{
		Paths: []*logical.Path{
			b.pathKeysList(), b.pathKeyConfig(), b.pathRotate(), b.pathTrim(), b.pathKeys(),
			b.pathEncrypt(), b.pathDecrypt(), b.pathRewrap(), b.pathDatakey(),
			b.pathSign(), b.pathVerify(), b.pathHMAC(),
			b.pathRandom(), b.pathHash(), b.pathExport(), b.pathBackup(), b.pathRestore(), b.pathCacheConfig(),
		},
		PeriodicFunc: b.autoRotate,
		Clean:        func(context.Context) { b.resetCache(0) },
	}
}

func (b *backend) lock(name string) func() {
	h := fnv.New32a()
	h.Write([]byte(name))
	mu := &b.locks[h.Sum32()%uint32(len(b.locks))]
	mu.Lock()
	return mu.Unlock
}

// ensureCacheConfig reads the stored cache size once.
func (b *backend) ensureCacheConfig(ctx context.Context, s logical.Storage) error {
	b.cacheMu.Lock()
	done := b.cacheRead
	b.cacheMu.Unlock()
	if done {
		return nil
	}
	e, err := s.Get(ctx, cacheConfigKey)
	if err != nil {
		return fmt.Errorf("transit: read cache config: %w", err)
	}
	size := 0
	if e != nil {
		var cc struct {
			Size int `json:"size"`
		}
		if err := json.Unmarshal(e.Value, &cc); err != nil {
			return fmt.Errorf("transit: decode cache config: %w", err)
		}
		size = cc.Size
	}
	b.cacheMu.Lock()
	if !b.cacheRead {
		b.resetCacheLocked(size)
		b.cacheRead = true
	}
	b.cacheMu.Unlock()
	return nil
}

func (b *backend) resetCache(size int) {
	b.cacheMu.Lock()
	b.resetCacheLocked(size)
	b.cacheMu.Unlock()
}

func (b *backend) resetCacheLocked(size int) {
	b.cacheSize = size
	b.unbounded = map[string]*policy{}
	b.cache = nil
	if size > 0 {
		b.cache, _ = lru.New[string, *policy](size)
	}
}

func (b *backend) cached(name string) *policy {
	b.cacheMu.Lock()
	defer b.cacheMu.Unlock()
	if b.cache != nil {
		p, _ := b.cache.Get(name)
		return p
	}
	return b.unbounded[name]
}

func (b *backend) putCache(p *policy) {
	b.cacheMu.Lock()
	defer b.cacheMu.Unlock()
	if b.cache != nil {
		b.cache.Add(p.Name, p)
		return
	}
	b.unbounded[p.Name] = p
}

func (b *backend) dropCache(name string) {
	b.cacheMu.Lock()
	defer b.cacheMu.Unlock()
	if b.cache != nil {
		b.cache.Remove(name)
	}
	delete(b.unbounded, name)
}

// load returns the key name (nil when it does not exist), from the cache
// or from storage. The policy returned must not be modified.
func (b *backend) load(ctx context.Context, s logical.Storage, name string) (*policy, error) {
	if err := b.ensureCacheConfig(ctx, s); err != nil {
		return nil, err
	}
	if p := b.cached(name); p != nil {
		return p, nil
	}
	e, err := s.Get(ctx, policyPrefix+name)
	if err != nil {
		return nil, fmt.Errorf("transit: read key: %w", err)
	}
	if e == nil {
		return nil, nil
	}
	p, err := decodePolicy(e.Value)
	if err != nil {
		return nil, fmt.Errorf("transit: key %q: %w", name, err)
	}
	b.putCache(p)
	return p, nil
}

// store writes p and makes it the cached version. The caller holds the
// key's lock.
func (b *backend) store(ctx context.Context, s logical.Storage, p *policy) error {
	buf, err := p.encode()
	if err != nil {
		return err
	}
	if err := s.Put(ctx, &logical.StorageEntry{Key: policyPrefix + p.Name, Value: buf}); err != nil {
		b.dropCache(p.Name)
		return fmt.Errorf("transit: store key: %w", err)
	}
	b.putCache(p)
	return nil
}

// existingKey loads key name for a request that needs it to exist (400
// when it does not).
func (b *backend) existingKey(ctx context.Context, req *logical.Request, name string) (*policy, error) {
	p, err := b.load(ctx, req.Storage, name)
	if err == nil && p == nil {
		err = keyNotFound(name)
	}
	return p, err
}

// update runs change on a copy of key name under its lock and stores it.
// It answers 400 when the key does not exist.
func (b *backend) update(ctx context.Context, s logical.Storage, name string, change func(p *policy) error) (*policy, error) {
	defer b.lock(name)()
	cur, err := b.load(ctx, s, name)
	if err != nil {
		return nil, err
	}
	if cur == nil {
		return nil, errBadInput("encryption key not found")
	}
	next := cur.clone()
	if err := change(next); err != nil {
		return nil, err
	}
	return next, b.store(ctx, s, next)
}

// autoRotate rotates the keys whose auto_rotate_period has passed since
// their latest version (the periodic hook, on the active node).
func (b *backend) autoRotate(ctx context.Context, req *logical.Request) error {
	names, err := req.Storage.List(ctx, policyPrefix)
	if err != nil {
		return fmt.Errorf("transit: list keys: %w", err)
	}
	now := b.now()
	for _, name := range names {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p, err := b.load(ctx, req.Storage, name)
		if err != nil || p == nil {
			continue
		}
		latest := p.entry(p.LatestVersion)
		if p.AutoRotatePeriod <= 0 || latest == nil || now.Sub(latest.CreationTime) < p.AutoRotatePeriod {
			continue
		}
		_, err = b.update(ctx, req.Storage, name, func(p *policy) error {
			// Checked again under the lock: a rotation may have come first.
			if l := p.entry(p.LatestVersion); l != nil && now.Sub(l.CreationTime) < p.AutoRotatePeriod {
				return errNoChange
			}
			return p.rotate(now)
		})
		if err != nil && err != errNoChange {
			b.logger.Error("automatic key rotation failed", "key", name, "error", err)
			continue
		}
		if err == nil {
			b.logger.Info("key rotated automatically", "key", name)
		}
	}
	return nil
}

// errNoChange stops an update without storing anything.
var errNoChange = fmt.Errorf("no change")
