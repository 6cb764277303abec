package expiration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fakeHost records what the manager routes; fail makes revokes fail.
type fakeHost struct {
	mu      sync.Mutex
	m       *Manager
	revoked []string
	renewed []time.Duration
	tokens  map[string]string // token id → creation path
	fail    bool
	mc      logical.MountConfig
}

func (h *fakeHost) RouteLease(_ context.Context, op logical.Operation, path string, s *logical.Secret) (*logical.Response, logical.MountConfig, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch op {
	case logical.RevokeOperation:
		if h.fail {
			return nil, h.mc, errors.New("backend down")
		}
		h.revoked = append(h.revoked, s.LeaseID)
		return nil, h.mc, nil
	case logical.RenewOperation:
		h.renewed = append(h.renewed, s.Increment)
		return &logical.Response{Secret: &logical.Secret{LeaseOptions: logical.LeaseOptions{TTL: s.Increment, Renewable: true}}}, h.mc, nil
	}
	return nil, h.mc, fmt.Errorf("unexpected %s on %s", op, path)
}

// RevokeToken does what the core does: the token goes, then its leases
// through TokenRevoked.
func (h *fakeHost) RevokeToken(ctx context.Context, id string) error {
	h.mu.Lock()
	path, ok := h.tokens[id]
	delete(h.tokens, id)
	h.mu.Unlock()
	if !ok {
		return nil
	}
	return h.m.TokenRevoked(ctx, id, path)
}

func (h *fakeHost) TokenExists(_ context.Context, id string) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.tokens[id]
	return ok, nil
}

func (h *fakeHost) revokedCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.revoked)
}

type harness struct {
	t       *testing.T
	ctx     context.Context
	host    *fakeHost
	clock   *fakeClock
	storage *logical.InmemStorage
	m       *Manager
	conf    Config
}

func newHarness(t *testing.T, conf Config) *harness {
	t.Helper()
	h := &harness{
		t: t, ctx: context.Background(), storage: logical.NewInmemStorage(),
		host:  &fakeHost{tokens: map[string]string{}, mc: logical.MountConfig{DefaultLeaseTTL: time.Hour, MaxLeaseTTL: 24 * time.Hour}},
		clock: &fakeClock{now: time.Date(2026, 12, 7, 12, 0, 30, 0, time.UTC)},
	}
	if conf.Now == nil {
		conf.Now = h.clock.Now
	}
	h.conf = conf
	h.start()
	return h
}

func (h *harness) start() {
	h.t.Helper()
	h.m = New(h.host, h.conf)
	h.host.m = h.m
	if err := h.m.Start(h.ctx, h.storage); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(h.m.Stop)
}

func (h *harness) restart() {
	h.t.Helper()
	h.m.Stop()
	h.start()
}

func (h *harness) register(path string, ttl time.Duration, creator string) string {
	h.t.Helper()
	s := &logical.Secret{LeaseOptions: logical.LeaseOptions{TTL: ttl, Renewable: true}, InternalData: map[string]any{"user": path}}
	if err := h.m.Register(h.ctx, path, "acc", creator, s, h.host.mc); err != nil {
		h.t.Fatal(err)
	}
	return s.LeaseID
}

func (h *harness) queued() int {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	return h.m.q.Len()
}

func (h *harness) keys(prefix string) []string {
	h.t.Helper()
	ks, err := h.storage.List(h.ctx, prefix)
	if err != nil {
		h.t.Fatal(err)
	}
	return ks
}

// kick wakes the workers after the fake clock moved.
func (h *harness) kick() {
	h.m.mu.Lock()
	for range cap(h.m.wake) {
		h.m.wakeLocked()
	}
	h.m.mu.Unlock()
}

func pollFor(t *testing.T, what string, cond func() bool, kick func()) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		if kick != nil {
			kick()
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRestoreLoadsOnlyLeasesDueSoon: after a restart only the leases due
// within the horizon are in memory; the rest come in as the horizon moves.
func TestRestoreLoadsOnlyLeasesDueSoon(t *testing.T) {
	h := newHarness(t, Config{Horizon: 10 * time.Minute})
	h.host.mc.MaxLeaseTTL = 40 * 24 * time.Hour
	for i := range 300 {
		h.register(fmt.Sprintf("db/creds/far%d", i), time.Duration(i+1)*2*time.Hour, "")
	}
	for i := range 20 {
		h.register(fmt.Sprintf("db/creds/near%d", i), time.Duration(i+1)*20*time.Second, "")
	}
	h.restart()
	if n := h.queued(); n != 20 {
		t.Fatalf("restore loaded %d leases, want the 20 due within 10 minutes", n)
	}
	// Two days later (the near ones revoked meanwhile), the loader has
	// the leases due by then plus the horizon.
	h.clock.Advance(48 * time.Hour)
	if err := h.m.advance(h.ctx); err != nil {
		t.Fatal(err)
	}
	pollFor(t, "the due leases to be revoked", func() bool {
		return h.host.revokedCount() == 20+24 && len(h.keys(idPrefix+"db/creds/")) == 300-24
	}, h.kick)
	if n := h.queued(); n != 0 {
		t.Fatalf("%d leases left in memory", n)
	}
	if got := len(h.keys(idPrefix + "db/creds/")); got != 300-24 {
		t.Fatalf("%d leases stored, want %d", got, 300-24)
	}
}

// TestExpiryRevokesAndCleansUp: a due lease is revoked through the host,
// its keys and (on the next pass) its bucket's marker are gone.
func TestExpiryRevokesAndCleansUp(t *testing.T) {
	h := newHarness(t, Config{})
	id := h.register("db/creds/a", time.Minute, "tok1")
	if _, err := h.m.Lookup(h.ctx, id); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(3 * time.Minute)
	pollFor(t, "revocation", func() bool { return h.host.revokedCount() == 1 && len(h.keys(timePrefix)) == 0 }, h.kick)
	if _, err := h.m.Lookup(h.ctx, id); !errors.Is(err, ErrInvalidLease) {
		t.Fatalf("lookup after expiry: %v", err)
	}
	for _, p := range []string{idPrefix + "db/creds/", tokenPrefix, timePrefix} {
		if ks := h.keys(p); len(ks) != 0 {
			t.Fatalf("%s left: %v", p, ks)
		}
	}
	if err := h.m.advance(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.restart()
	if ks := h.keys(bucketPrefix); len(ks) != 0 {
		t.Fatalf("bucket markers left: %v", ks)
	}
}

// TestRenewClampsAndMoves: a renewal asks the engine with the increment,
// is capped by the max TTL from issue, and moves the expiry index.
func TestRenewClampsAndMoves(t *testing.T) {
	h := newHarness(t, Config{})
	h.host.mc.MaxLeaseTTL = 2 * time.Hour
	id := h.register("db/creds/a", time.Hour, "")
	resp, err := h.m.Renew(h.ctx, id, 5*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Secret.LeaseID != id || resp.Secret.TTL != 2*time.Hour || len(resp.Warnings) != 1 {
		t.Fatalf("renew: %+v %v", resp.Secret, resp.Warnings)
	}
	l, err := h.m.Lookup(h.ctx, id)
	if err != nil || !l.ExpireTime.Equal(h.clock.Now().Add(2*time.Hour)) || l.LastRenewal.IsZero() {
		t.Fatalf("after renew: %+v %v", l, err)
	}
	if ks := h.keys(timePrefix); len(ks) != 1 {
		t.Fatalf("expiry index buckets: %v", ks)
	}
	if _, err := h.m.Renew(h.ctx, id, -time.Second); err == nil {
		t.Fatal("negative increment accepted")
	}
	h.clock.Advance(2*time.Hour + time.Second)
	if _, err := h.m.Renew(h.ctx, id, time.Minute); !errors.Is(err, ErrInvalidLease) {
		t.Fatalf("renew of an expired lease: %v", err)
	}
}

// TestFailuresBecomeIrrevocable: a failing engine is retried with
// backoff, then the lease is irrevocable: kept, listed, and out of the
// expiry index; a forced prefix revocation deletes it.
func TestFailuresBecomeIrrevocable(t *testing.T) {
	h := newHarness(t, Config{Now: time.Now, MaxRevokeAttempts: 3, RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond})
	h.host.fail = true
	h.host.mc.DefaultLeaseTTL = 50 * time.Millisecond
	id := h.register("db/creds/x", 0, "")
	pollFor(t, "irrevocable", func() bool {
		ls, err := h.m.Irrevocable(h.ctx)
		return err == nil && len(ls) == 1
	}, nil)
	ls, _ := h.m.Irrevocable(h.ctx)
	if ls[0].ID != id || ls[0].RevokeAttempts != 3 || !strings.Contains(ls[0].LastError, "backend down") {
		t.Fatalf("irrevocable lease: %+v", ls[0])
	}
	if ks := h.keys(timePrefix); len(ks) != 0 {
		t.Fatalf("irrevocable lease still in the expiry index: %v", ks)
	}
	if _, err := h.m.RevokePrefix(h.ctx, "db/creds", false); err == nil {
		t.Fatal("revoke-prefix of a failing lease succeeded")
	}
	n, err := h.m.RevokePrefix(h.ctx, "db/creds", true)
	if err != nil || n != 1 {
		t.Fatalf("revoke-force: %d %v", n, err)
	}
	if ks := h.keys(irrevocablePrefix); len(ks) != 0 {
		t.Fatalf("irrevocable index left: %v", ks)
	}
}

// TestTokenLeases: a token's lease revokes it at expiry, and with it the
// secrets it created; revoke-prefix on the login path ends every login.
func TestTokenLeases(t *testing.T) {
	h := newHarness(t, Config{})
	now := h.clock.Now()
	for _, tok := range []string{"t1", "t2"} {
		h.host.tokens[tok] = "auth/userpass/login/bob"
		if err := h.m.RegisterToken(h.ctx, "auth/userpass/login/bob", tok, true, now, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	sec := h.register("db/creds/a", time.Hour, "t1")
	// A renewal moves the token's lease.
	if err := h.m.RegisterToken(h.ctx, "auth/userpass/login/bob", "t2", true, now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(2 * time.Minute)
	pollFor(t, "t1 revoked", func() bool {
		ok, _ := h.host.TokenExists(h.ctx, "t1")
		return !ok && h.host.revokedCount() == 1
	}, h.kick)
	if _, err := h.m.Lookup(h.ctx, sec); !errors.Is(err, ErrInvalidLease) {
		t.Fatalf("secret of a revoked token: %v", err)
	}
	if ok, _ := h.host.TokenExists(h.ctx, "t2"); !ok {
		t.Fatal("renewed token revoked at its old expiry")
	}
	n, err := h.m.RevokePrefix(h.ctx, "auth/userpass/login", false)
	if err != nil || n != 1 {
		t.Fatalf("revoke-prefix: %d %v", n, err)
	}
	if ok, _ := h.host.TokenExists(h.ctx, "t2"); ok {
		t.Fatal("revoke-prefix left the login token")
	}
}

// TestTidyDropsLeasesOfGoneTokens: a token lease whose token vanished
// (a crash between the two writes) is deleted; a secret whose creator
// vanished is revoked.
func TestTidyDropsLeasesOfGoneTokens(t *testing.T) {
	h := newHarness(t, Config{})
	now := h.clock.Now()
	if err := h.m.RegisterToken(h.ctx, "auth/token/create", "ghost", true, now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	h.register("db/creds/a", time.Hour, "ghost")
	deleted, revoked, err := h.m.Tidy(h.ctx)
	if err != nil || deleted != 1 || revoked != 1 {
		t.Fatalf("tidy: %d %d %v", deleted, revoked, err)
	}
	pollFor(t, "the orphaned secret revoked", func() bool { return h.host.revokedCount() == 1 }, h.kick)
}

// TestOverdueBacklogIsBounded: leases that expired while no node was
// active are loaded a bounded batch at a time, and all get revoked.
func TestOverdueBacklogIsBounded(t *testing.T) {
	h := newHarness(t, Config{MaxBacklog: 50})
	for i := range 200 {
		h.register(fmt.Sprintf("db/creds/u%d", i), time.Duration(i+1)*time.Minute, "")
	}
	h.m.Stop()
	h.clock.Advance(5 * time.Hour)
	// The node comes back: the restore loads at most one batch.
	h.m = New(h.host, h.conf)
	h.host.m = h.m
	if err := h.m.restoreOnly(h.ctx, h.storage); err != nil {
		t.Fatal(err)
	}
	if n, left := h.queued(), len(h.m.pendingBacklog()); n != 50 || left != 150 {
		t.Fatalf("restore loaded %d leases with %d buckets left, want 50 and 150", n, left)
	}
	h.m.clear()
	h.start()
	pollFor(t, "every overdue lease revoked", func() bool {
		return h.host.revokedCount() == 200 && len(h.keys(idPrefix+"db/creds/")) == 0
	}, h.kick)
}

// restoreOnly is Start without the loader and workers, to look at what a
// restore loads.
func (m *Manager) restoreOnly(ctx context.Context, s logical.Storage) error {
	m.mu.Lock()
	m.storage, m.q = s, newQueue()
	m.marked, m.loaded = map[int64]bool{}, map[int64]bool{}
	m.wake = make(chan struct{}, m.conf.Workers)
	m.mu.Unlock()
	return m.restore(ctx)
}
