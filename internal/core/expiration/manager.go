package expiration

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// Manager is the expiration manager. It is built once per core and runs
// between Start (after unseal, on the active node) and Stop. All methods
// are safe for concurrent use.
type Manager struct {
	host Host
	conf Config

	// locks serialise the read-modify-write of one lease; striped by id.
	locks [256]sync.Mutex

	// mu guards everything below, set by Start and cleared by Stop.
	mu      sync.Mutex
	storage logical.Storage
	q       *queue
	// loadedUntil: every lease in a bucket below it is in q (or being
	// revoked, or done).
	loadedUntil int64
	// marked: buckets whose markers this activation knows are stored;
	// loaded: buckets loaded into q, swept once empty and past.
	marked map[int64]bool
	loaded map[int64]bool
	// backlog: overdue buckets found at restore, not yet loaded.
	backlog []int64
	wake    chan struct{}
	stop    context.CancelFunc
	done    chan struct{}
}

// New builds a stopped manager.
func New(host Host, conf Config) *Manager {
	return &Manager{host: host, conf: conf.withDefaults()}
}

func (m *Manager) now() time.Time { return m.conf.Now() }

func (m *Manager) lockFor(id string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(id))
	return &m.locks[h.Sum32()%uint32(len(m.locks))]
}

// Start restores the leases due soon from storage (the manager's view of
// the barrier) and starts the loader and the revocation workers. The
// restore runs before Start returns, so it costs the unseal.
func (m *Manager) Start(ctx context.Context, storage logical.Storage) error {
	m.mu.Lock()
	if m.stop != nil {
		m.mu.Unlock()
		return errors.New("expiration: already started")
	}
	m.storage = storage
	m.q = newQueue()
	m.marked, m.loaded = map[int64]bool{}, map[int64]bool{}
	m.wake = make(chan struct{}, m.conf.Workers)
	m.mu.Unlock()
	if err := m.restore(ctx); err != nil {
		m.clear()
		return err
	}
	bg, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	m.mu.Lock()
	m.stop, m.done = cancel, done
	m.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(m.conf.Workers + 1)
	go func() { defer wg.Done(); m.runLoader(bg) }()
	for range m.conf.Workers {
		go func() { defer wg.Done(); m.runWorker(bg) }()
	}
	go func() { wg.Wait(); close(done) }()
	return nil
}

// Stop ends the loader and the workers, waiting for revocations in flight
// (they see a cancelled context), and drops the in-memory state.
func (m *Manager) Stop() {
	m.mu.Lock()
	stop, done := m.stop, m.done
	m.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	m.clear()
}

func (m *Manager) clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.storage, m.q, m.marked, m.loaded, m.stop, m.done, m.backlog = nil, nil, nil, nil, nil, nil, nil
	m.loadedUntil = 0
}

func (m *Manager) view() (logical.Storage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.storage == nil {
		return nil, ErrNotRunning
	}
	return m.storage, nil
}

// Register makes a lease of the secret an engine returned for the request
// at path (mount included), created by the token with store ID creator.
// The TTL defaults to the mount's default and is capped by the mount's
// max (and the secret's MaxTTL). It fills secret.LeaseID, TTL and
// IssueTime; the lease is one write.
func (m *Manager) Register(ctx context.Context, path, mountAccessor, creator string, secret *logical.Secret, mc logical.MountConfig) error {
	now := m.now()
	ttl := secret.TTL
	if ttl <= 0 {
		ttl = mc.DefaultLeaseTTL
	}
	maxTTL := mc.MaxLeaseTTL
	if secret.MaxTTL > 0 && (maxTTL <= 0 || secret.MaxTTL < maxTTL) {
		maxTTL = secret.MaxTTL
	}
	if maxTTL > 0 && ttl > maxTTL {
		ttl = maxTTL
	}
	if ttl <= 0 {
		return logical.BadRequest("lease has no TTL")
	}
	rid, err := randomID()
	if err != nil {
		return err
	}
	secret.TTL, secret.IssueTime, secret.LeaseID = ttl, now, path+"/"+rid
	stored := *secret
	stored.Increment = 0
	l := &Lease{
		ID: secret.LeaseID, Path: path, MountAccessor: mountAccessor, Secret: &stored, CreatorID: creator,
		IssueTime: now, ExpireTime: now.Add(ttl),
	}
	if err := m.put(ctx, l, nil); err != nil {
		secret.LeaseID = ""
		return err
	}
	return nil
}

// RegisterToken makes (or moves) the lease of a token with a TTL: id
// "<creation path>/<token id>", expiring with the token. Tokens that never
// expire have no lease.
func (m *Manager) RegisterToken(ctx context.Context, path, tokenID string, renewable bool, issued, expires time.Time) error {
	if expires.IsZero() {
		return nil
	}
	id := path + "/" + tokenID
	mu := m.lockFor(id)
	mu.Lock()
	defer mu.Unlock()
	old, err := m.load(ctx, id)
	if err != nil {
		return err
	}
	l := &Lease{ID: id, Path: path, TokenID: tokenID, TokenRenewable: renewable, IssueTime: issued, ExpireTime: expires}
	if old != nil {
		l.IssueTime, l.LastRenewal = old.IssueTime, m.now()
	}
	return m.put(ctx, l, old)
}

// TokenRevoked is the token store's revocation hook: it revokes the
// secret leases the token created (each through its engine; one that
// fails is left to expire now and be retried) and deletes the token's own
// lease.
func (m *Manager) TokenRevoked(ctx context.Context, tokenID, path string) error {
	s, err := m.view()
	if err != nil {
		return err
	}
	keys, err := s.List(ctx, tokenPrefix+tokenID+"/")
	if err != nil {
		return fmt.Errorf("expiration: list token's leases: %w", err)
	}
	for _, k := range keys {
		id, err := dec(k)
		if err != nil {
			continue
		}
		if err := m.revoke(ctx, id, false); err != nil && !errors.Is(err, ErrInvalidLease) {
			m.conf.Logger.Warn("revoking a revoked token's lease failed; retrying at its expiry", "lease_id", id, "error", err)
			m.expireNow(ctx, id)
		}
	}
	if path == "" {
		return nil
	}
	id := path + "/" + tokenID
	mu := m.lockFor(id)
	mu.Lock()
	defer mu.Unlock()
	l, err := m.load(ctx, id)
	if err != nil || l == nil {
		return err
	}
	return m.deleteLease(ctx, l)
}

// load reads a lease; nil when absent.
func (m *Manager) load(ctx context.Context, id string) (*Lease, error) {
	s, err := m.view()
	if err != nil {
		return nil, err
	}
	e, err := s.Get(ctx, idPrefix+id)
	if err != nil {
		return nil, fmt.Errorf("expiration: read lease: %w", err)
	}
	if e == nil {
		return nil, nil
	}
	return decodeLease(e.Value)
}

// put stores l with its index keys in one transaction, replacing old's
// (nil for a new lease), and schedules it at its expiry (at, when set: a
// retry).
func (m *Manager) put(ctx context.Context, l, old *Lease, at ...time.Time) error {
	s, err := m.view()
	if err != nil {
		return err
	}
	b, err := encodeLease(l)
	if err != nil {
		return err
	}
	ops := []*logical.TxnOp{{Entry: &logical.StorageEntry{Key: idPrefix + l.ID, Value: b}}}
	if old == nil && l.CreatorID != "" {
		ops = append(ops, &logical.TxnOp{Entry: &logical.StorageEntry{Key: tokenKey(l)}})
	}
	if old != nil && !old.Irrevocable && (l.Irrevocable || !old.ExpireTime.Equal(l.ExpireTime)) {
		ops = append(ops, &logical.TxnOp{Delete: true, Entry: &logical.StorageEntry{Key: timeKey(old)}})
	}
	var newBucket int64 = -1
	if !l.Irrevocable {
		ops = append(ops, &logical.TxnOp{Entry: &logical.StorageEntry{Key: timeKey(l)}})
		bk := bucketOf(l.ExpireTime)
		m.mu.Lock()
		known := m.marked[bk]
		m.mu.Unlock()
		if !known {
			newBucket = bk
			ops = append(ops,
				&logical.TxnOp{Entry: &logical.StorageEntry{Key: bucketMarker(bk)}},
				&logical.TxnOp{Entry: &logical.StorageEntry{Key: dayMarker(dayOf(bk))}})
		}
	} else {
		ops = append(ops, &logical.TxnOp{Entry: &logical.StorageEntry{Key: irrevocablePrefix + enc(l.ID)}})
	}
	if err := transact(ctx, s, ops); err != nil {
		return fmt.Errorf("expiration: store lease: %w", err)
	}
	if newBucket >= 0 {
		m.mu.Lock()
		if m.marked != nil {
			m.marked[newBucket] = true
		}
		m.mu.Unlock()
	}
	if l.Irrevocable {
		m.unschedule(l.ID)
	} else {
		when := l.ExpireTime
		if len(at) > 0 {
			when = at[0]
		}
		m.schedule(l.ID, when)
	}
	return nil
}

// deleteLease removes l and its index keys in one transaction.
func (m *Manager) deleteLease(ctx context.Context, l *Lease) error {
	s, err := m.view()
	if err != nil {
		return err
	}
	ops := []*logical.TxnOp{
		{Delete: true, Entry: &logical.StorageEntry{Key: idPrefix + l.ID}},
		{Delete: true, Entry: &logical.StorageEntry{Key: timeKey(l)}},
	}
	if k := tokenKey(l); k != "" {
		ops = append(ops, &logical.TxnOp{Delete: true, Entry: &logical.StorageEntry{Key: k}})
	}
	if l.Irrevocable {
		ops = append(ops, &logical.TxnOp{Delete: true, Entry: &logical.StorageEntry{Key: irrevocablePrefix + enc(l.ID)}})
	}
	if err := transact(ctx, s, ops); err != nil {
		return fmt.Errorf("expiration: delete lease: %w", err)
	}
	m.unschedule(l.ID)
	return nil
}

// transact applies ops atomically when the storage offers transactions,
// in order otherwise.
func transact(ctx context.Context, s logical.Storage, ops []*logical.TxnOp) error {
	if t, ok := s.(logical.Transactional); ok {
		return t.Transaction(ctx, ops)
	}
	for _, op := range ops {
		var err error
		if op.Delete {
			err = s.Delete(ctx, op.Entry.Key)
		} else {
			err = s.Put(ctx, op.Entry)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

const idChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomID is a 24-character base62 id, as Vault's lease ids end with.
func randomID() (string, error) {
	buf := make([]byte, 24)
	out := make([]byte, 0, 24)
	for len(out) < 24 {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("expiration: random id: %w", err)
		}
		for _, b := range buf {
			// 62*4 = 248: reject the top bytes so every char is equally likely.
			if b < 248 && len(out) < 24 {
				out = append(out, idChars[b%62])
			}
		}
	}
	return string(out), nil
}

// InMemory is how many leases the heap holds (those due within the
// horizon), for metrics and benchmarks.
func (m *Manager) InMemory() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.q == nil {
		return 0
	}
	return m.q.Len()
}
