package token

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// Storage prefixes.
const (
	idPrefix       = "id/"
	accessorPrefix = "accessor/"
	parentPrefix   = "parent/"
)

// Defaults used when Options leave them zero.
const (
	DefaultTTL    = 768 * time.Hour
	DefaultMaxTTL = 768 * time.Hour
)

// RevocationPending is the NumUses of an entry whose last use has been
// spent: UseToken returns it so the caller knows the token is gone after
// the current request.
const RevocationPending = pendingUses

// Options configure a Store.
type Options struct {
	Logger *slog.Logger
	// Now is the clock; time.Now when nil. Tests pass a fake.
	Now func() time.Time
	// DefaultTTL and MaxTTL are the system defaults for tokens whose
	// creator does not give mount values (768h each when zero).
	DefaultTTL, MaxTTL time.Duration
	// OnRevoke is called once for each token being revoked, before its
	// entry is deleted; an error stops that revocation (it is retried by a
	// later revoke or by Tidy). The core deletes the token's cubbyhole and
	// leases here.
	OnRevoke func(ctx context.Context, e *Entry) error
	// OnExpiry is called when a token gets an expiry or its expiry moves:
	// after a token with a TTL is stored (an error revokes it and fails
	// the create), and before a renewal is stored (an error fails the
	// renewal). The core keeps the token's lease here, whose expiry
	// revokes the token; a token past its ExpireTime is invalid whether
	// or not that has happened yet.
	OnExpiry func(ctx context.Context, e *Entry) error
	// PersistNew, when set, stores a new token over transactional
	// storage: ops are its entry and indexes (keys relative to the
	// store's storage), which the hook stores in one transaction together
	// with the token's lease, so a login is one durable write. OnExpiry is
	// then not called for the creation. Nil: the store writes them itself.
	PersistNew func(ctx context.Context, e *Entry, ops []*logical.TxnOp) error
	// CacheEntries keeps decoded entries in memory. Only valid while this
	// store is the sole writer of its storage; a node that follows another
	// writer must call InvalidateCache when storage changes under it.
	CacheEntries bool
	// OnRenew asks, before a token is renewed, whether the login that
	// made it still holds (Vault's AuthRenew: the user still exists, its
	// policies did not change). The core routes it to the auth method
	// that issued the token. An error refuses the renewal; nil terms keep
	// the token's own. It is called without the entry's lock held.
	OnRenew func(ctx context.Context, e *Entry, increment time.Duration) (*RenewTerms, error)
	// IdentityPolicies returns the policies a token tied to the entity
	// gets from identity (the entity's and its groups'), which lookups
	// show as identity_policies. Nil: none.
	IdentityPolicies func(entityID string) []string
	// EntityForAlias returns the identity entity holding the alias on the
	// token store's mount (created when none does): create/<role> with an
	// entity_alias the role allows ties the token to it. An error (a
	// disabled entity) refuses the creation. Nil: entity_alias is refused.
	EntityForAlias func(ctx context.Context, mountAccessor, alias string) (string, error)
	// SealBatch and OpenBatch seal and open the entry a batch token
	// carries, with a key every node of the cluster holds (the barrier's
	// keyring). OpenBatch wraps ErrBatchUnreadable for a blob that does
	// not authenticate. Nil: batch tokens cannot be created or used.
	SealBatch func(plaintext []byte) ([]byte, error)
	OpenBatch func(ctx context.Context, blob []byte) ([]byte, error)
}

// RenewTerms are an auth method's current settings for the tokens of a
// login, which a renewal follows (a role's TTLs may have changed since).
type RenewTerms struct {
	// TTL is the token's TTL when no increment is asked for.
	TTL time.Duration
	// MaxTTL replaces the max TTL the token was issued under (zero keeps
	// it); Period makes (or stops making) the token periodic.
	MaxTTL, Period time.Duration
}

// Store is the token store. All methods are safe for concurrent use.
type Store struct {
	storage logical.Storage
	keys    *keys
	logger  *slog.Logger
	now     func() time.Time
	rnd     io.Reader

	defaultTTL, maxTTL time.Duration
	onRevoke           func(ctx context.Context, e *Entry) error
	onExpiry           func(ctx context.Context, e *Entry) error
	persistHook        func(ctx context.Context, e *Entry, ops []*logical.TxnOp) error

	// rolesMu serialises token role writes (read-modify-write of a role).
	rolesMu sync.Mutex
	// locks serialise read-modify-write of one entry; striped by ID.
	locks [256]sync.RWMutex
	// finishing holds the IDs whose final deletion is under way, so two
	// overlapping revocations call OnRevoke once.
	finishing sync.Map
	tidying   atomic.Bool

	cache    *logical.ReadCache[*Entry]
	useCache bool

	backendOnce sync.Once
	backend     *logical.FrameworkBackend

	onRenew func(ctx context.Context, e *Entry, increment time.Duration) (*RenewTerms, error)

	identityPolicies func(entityID string) []string
	entityForAlias   func(ctx context.Context, mountAccessor, alias string) (string, error)
	sealBatchFn      func(plaintext []byte) ([]byte, error)
	openBatchFn      func(ctx context.Context, blob []byte) ([]byte, error)
}

// New opens the token store on storage, creating the salt on first start.
func New(ctx context.Context, storage logical.Storage, opts Options) (*Store, error) {
	if storage == nil {
		return nil, errors.New("token: nil storage")
	}
	s := &Store{
		storage:     storage,
		logger:      opts.Logger,
		now:         opts.Now,
		rnd:         rand.Reader,
		defaultTTL:  opts.DefaultTTL,
		maxTTL:      opts.MaxTTL,
		onRevoke:    opts.OnRevoke,
		onExpiry:    opts.OnExpiry,
		persistHook: opts.PersistNew,
		useCache:    opts.CacheEntries,
		cache:       logical.NewReadCache(maxCachedEntries, (*Entry).clone),
		onRenew:     opts.OnRenew,

		identityPolicies: opts.IdentityPolicies,
		entityForAlias:   opts.EntityForAlias,
		sealBatchFn:      opts.SealBatch,
		openBatchFn:      opts.OpenBatch,
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.defaultTTL <= 0 {
		s.defaultTTL = DefaultTTL
	}
	if s.maxTTL <= 0 {
		s.maxTTL = DefaultMaxTTL
	}
	if s.defaultTTL > s.maxTTL {
		s.defaultTTL = s.maxTTL
	}
	k, err := loadOrCreateSalt(ctx, storage, s.rnd)
	if err != nil {
		return nil, err
	}
	s.keys = k
	return s, nil
}

func (s *Store) lockFor(id string) *sync.RWMutex {
	h := fnv.New32a()
	h.Write([]byte(id))
	return &s.locks[h.Sum32()%uint32(len(s.locks))]
}

// load reads an entry by ID, pending ones included; nil when absent.
func (s *Store) load(ctx context.Context, id string) (*Entry, error) {
	if !s.useCache {
		return s.loadStored(ctx, id)
	}
	cached, ok, gen := s.cache.Get(id)
	if ok {
		return cached, nil
	}
	e, err := s.loadStored(ctx, id)
	if err == nil && e != nil {
		s.cache.Fill(id, e, gen)
	}
	return e, err
}

func (s *Store) loadStored(ctx context.Context, id string) (*Entry, error) {
	se, err := s.storage.Get(ctx, idPrefix+id)
	if err != nil {
		return nil, fmt.Errorf("token: read entry: %w", err)
	}
	if se == nil {
		return nil, nil
	}
	var r record
	if err := json.Unmarshal(se.Value, &r); err != nil {
		return nil, fmt.Errorf("token: decode entry: %w", err)
	}
	acc, err := s.keys.openAccessor(id, r.SealedAccessor)
	if err != nil {
		return nil, err
	}
	return &Entry{
		ID:              id,
		Accessor:        acc,
		Parent:          r.Parent,
		Policies:        r.Policies,
		Path:            r.Path,
		Meta:            r.Meta,
		DisplayName:     r.DisplayName,
		NumUses:         r.NumUses,
		CreationTime:    fromUnixNano(r.CreationTime),
		TTL:             r.TTL,
		ExplicitMaxTTL:  r.ExplicitMaxTTL,
		Period:          r.Period,
		Renewable:       r.Renewable,
		Orphan:          r.Parent == "",
		Type:            r.Type,
		EntityID:        r.EntityID,
		ExpireTime:      fromUnixNano(r.ExpireTime),
		LastRenewalTime: fromUnixNano(r.LastRenewalTime),
		MaxTTL:          r.MaxTTL,
		BoundCIDRs:      r.BoundCIDRs,
		Role:            r.Role,
	}, nil
}

// save writes an entry (not its indexes).
func (s *Store) save(ctx context.Context, e *Entry) error {
	b, err := s.encode(e)
	if err != nil {
		return err
	}
	s.cache.Invalidate(e.ID)
	if err := s.storage.Put(ctx, &logical.StorageEntry{Key: idPrefix + e.ID, Value: b}); err != nil {
		return fmt.Errorf("token: write entry: %w", err)
	}
	s.cache.Set(e.ID, e)
	return nil
}

// encode is an entry as stored, its accessor sealed.
func (s *Store) encode(e *Entry) ([]byte, error) {
	sealed, err := s.keys.sealAccessor(s.rnd, e.ID, e.Accessor)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(&record{
		ID:              e.ID,
		SealedAccessor:  sealed,
		Parent:          e.Parent,
		Policies:        e.Policies,
		Path:            e.Path,
		Meta:            e.Meta,
		DisplayName:     e.DisplayName,
		NumUses:         e.NumUses,
		CreationTime:    unixNano(e.CreationTime),
		TTL:             e.TTL,
		ExplicitMaxTTL:  e.ExplicitMaxTTL,
		Period:          e.Period,
		Renewable:       e.Renewable,
		Type:            e.Type,
		EntityID:        e.EntityID,
		ExpireTime:      unixNano(e.ExpireTime),
		LastRenewalTime: unixNano(e.LastRenewalTime),
		MaxTTL:          e.MaxTTL,
		BoundCIDRs:      e.BoundCIDRs,
		Role:            e.Role,
	})
	if err != nil {
		return nil, fmt.Errorf("token: encode entry: %w", err)
	}
	return b, nil
}

// Lookup returns the entry of a raw token, or nil, nil when the token is
// unknown, revoked, used up or expired. An expired token found here is
// revoked (with its children) on the spot. A batch token is opened, not
// read: it is valid until it expires, and while its parent is.
func (s *Store) Lookup(ctx context.Context, token string) (*Entry, error) {
	if token == "" {
		return nil, nil
	}
	if strings.HasPrefix(token, BatchPrefix) {
		return s.lookupBatch(ctx, token)
	}
	return s.lookupID(ctx, s.keys.hashToken(token))
}

// LookupAccessor returns the valid entry an accessor names, or nil, nil.
func (s *Store) LookupAccessor(ctx context.Context, accessor string) (*Entry, error) {
	id, err := s.idOfAccessor(ctx, accessor)
	if err != nil || id == "" {
		return nil, err
	}
	return s.lookupID(ctx, id)
}

func (s *Store) idOfAccessor(ctx context.Context, accessor string) (string, error) {
	if accessor == "" {
		return "", nil
	}
	se, err := s.storage.Get(ctx, accessorPrefix+s.keys.hashAccessor(accessor))
	if err != nil {
		return "", fmt.Errorf("token: read accessor index: %w", err)
	}
	if se == nil {
		return "", nil
	}
	return string(se.Value), nil
}

func (s *Store) lookupID(ctx context.Context, id string) (*Entry, error) {
	mu := s.lockFor(id)
	mu.RLock()
	e, err := s.load(ctx, id)
	mu.RUnlock()
	if err != nil || e == nil {
		return nil, err
	}
	// A token whose last use was spent stays visible to the request that
	// spent it (lookup-self on the last use answers), to nothing else.
	if e.NumUses < 0 && !lastUseOf(ctx, id) {
		return nil, nil
	}
	if e.Expired(s.now()) {
		if err := s.revokeTreeID(ctx, id); err != nil {
			// The token is invalid either way; Tidy retries the cleanup.
			s.logger.Warn("revoking expired token failed", "error", err)
		}
		return nil, nil
	}
	return e, nil
}

// UseToken spends one use of a token with limited uses. It returns the
// entry valid for the current request, with NumUses the uses left; on the
// last use NumUses is RevocationPending: no other request can use the token
// any more, and the caller serves the current request under LastUse(ctx, e)
// and then calls RevokeUsedUp. It returns nil, nil when the token is no
// longer valid. Tokens with unlimited uses are returned unchanged.
func (s *Store) UseToken(ctx context.Context, e *Entry) (*Entry, error) {
	if e == nil {
		return nil, errors.New("token: UseToken of a nil entry")
	}
	if e.NumUses == 0 {
		return e, nil
	}
	mu := s.lockFor(e.ID)
	mu.Lock()
	defer mu.Unlock()
	cur, err := s.load(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	if cur == nil || cur.NumUses < 0 || cur.Expired(s.now()) {
		return nil, nil
	}
	if cur.NumUses == 1 {
		cur.NumUses = pendingUses
	} else {
		cur.NumUses--
	}
	// The decrement is stored before the lock is let go, so two requests
	// can never share the last use.
	if err := s.save(ctx, cur); err != nil {
		return nil, err
	}
	return cur, nil
}

// RevokeUsedUp revokes a token (and its children) whose last use UseToken
// handed out, once the request that spent it is done. A failure is logged:
// the token is already unusable and Tidy finishes the revocation.
func (s *Store) RevokeUsedUp(ctx context.Context, e *Entry) {
	if e == nil || e.NumUses != pendingUses {
		return
	}
	if err := s.revokeTreeID(context.WithoutCancel(ctx), e.ID); err != nil {
		s.logger.Warn("revoking used-up token failed; tidy will finish", "error", err)
	}
}

type lastUseKey struct{}

// LastUse returns ctx for serving the request that spent e's last use:
// lookups of e inside it still find it.
func LastUse(ctx context.Context, e *Entry) context.Context {
	return context.WithValue(ctx, lastUseKey{}, e.ID)
}

func lastUseOf(ctx context.Context, id string) bool {
	v, _ := ctx.Value(lastUseKey{}).(string)
	return v != "" && v == id
}
