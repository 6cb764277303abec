package expiration

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// Lookup returns a live lease: unknown, revoked and expired ones are
// ErrInvalidLease.
func (m *Manager) Lookup(ctx context.Context, id string) (*Lease, error) {
	l, err := m.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if l == nil || !l.ExpireTime.After(m.now()) {
		return nil, ErrInvalidLease
	}
	return l, nil
}

// Renew extends a secret's lease by increment (the engine's TTL when
// zero) through the engine's renew handler, within the mount's max TTL
// and the secret's MaxTTL counted from the lease's issue. The answer is
// the engine's, its Secret carrying the lease id and the new TTL.
func (m *Manager) Renew(ctx context.Context, id string, increment time.Duration) (*logical.Response, error) {
	if increment < 0 {
		return nil, logical.BadRequest("increment must not be negative")
	}
	mu := m.lockFor(id)
	mu.Lock()
	defer mu.Unlock()
	l, err := m.Lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if l.IsAuth() {
		return nil, logical.BadRequest("tokens cannot be renewed through this endpoint")
	}
	if l.Irrevocable || !l.Renewable() {
		return nil, logical.BadRequest("lease is not renewable")
	}
	sec := *l.Secret
	sec.LeaseID, sec.Increment = id, increment
	resp, mc, err := m.host.RouteLease(ctx, logical.RenewOperation, l.Path, &sec)
	if err != nil {
		if errors.Is(err, ErrNoMount) {
			return nil, logical.BadRequest("lease is not renewable: no engine is mounted at %q", l.Path)
		}
		return nil, err
	}
	if resp == nil || resp.Secret == nil {
		return nil, logical.BadRequest("lease is not renewable")
	}
	now := m.now()
	ttl := increment
	if ttl == 0 {
		ttl = resp.Secret.TTL
	}
	if ttl <= 0 {
		ttl = mc.DefaultLeaseTTL
	}
	maxTTL := mc.MaxLeaseTTL
	for _, c := range []time.Duration{resp.Secret.MaxTTL, l.Secret.MaxTTL} {
		if c > 0 && (maxTTL <= 0 || c < maxTTL) {
			maxTTL = c
		}
	}
	if maxTTL > 0 {
		left := l.IssueTime.Add(maxTTL).Sub(now).Truncate(time.Second)
		if left <= 0 {
			return nil, logical.BadRequest("past the max TTL, cannot renew")
		}
		if ttl > left {
			resp.AddWarning(fmt.Sprintf("TTL of %q exceeded the effective max_ttl of %q; TTL value is capped accordingly", ttl, left))
			ttl = left
		}
	}
	old := *l
	next := *l.Secret
	if resp.Secret.InternalData != nil {
		next.InternalData = resp.Secret.InternalData
	}
	next.TTL, next.Increment = ttl, 0
	l.Secret, l.ExpireTime, l.LastRenewal = &next, now.Add(ttl), now
	if err := m.put(ctx, l, &old); err != nil {
		return nil, err
	}
	out := *resp.Secret
	out.LeaseID, out.TTL, out.Renewable, out.InternalData = id, ttl, next.Renewable, nil
	resp.Secret = &out
	return resp, nil
}

// Revoke revokes one lease now: a secret through its engine's revoke
// handler, a token by revoking it (and its children, and their leases).
func (m *Manager) Revoke(ctx context.Context, id string) error {
	return m.revoke(ctx, id, false)
}

// RevokeLater makes the lease expire now, so the workers revoke it (with
// retries) in the background.
func (m *Manager) RevokeLater(ctx context.Context, id string) error {
	if _, err := m.Lookup(ctx, id); err != nil {
		return err
	}
	m.expireNow(ctx, id)
	return nil
}

// revoke ends the lease; with force its entry goes even when the engine
// fails (what revoke-force is for). A lease already gone is
// ErrInvalidLease.
func (m *Manager) revoke(ctx context.Context, id string, force bool) error {
	return m.revokeIf(ctx, id, force, nil)
}

// revokeIf is revoke when cond (if set) accepts the lease as read.
func (m *Manager) revokeIf(ctx context.Context, id string, force bool, cond func(*Lease) error) error {
	mu := m.lockFor(id)
	mu.Lock()
	l, err := m.load(ctx, id)
	if err == nil && l == nil {
		err = ErrInvalidLease
	}
	if err == nil && cond != nil {
		err = cond(l)
	}
	if err != nil {
		mu.Unlock()
		return err
	}
	if l.IsAuth() {
		mu.Unlock()
		// The token store calls TokenRevoked for this token, which deletes
		// this lease (under its lock): hold no lock across the call.
		if err := m.host.RevokeToken(ctx, l.TokenID); err != nil && !force {
			return fmt.Errorf("revoke token: %w", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if l, err = m.load(ctx, id); err != nil || l == nil {
			return err
		}
		return m.deleteLease(ctx, l)
	}
	defer mu.Unlock()
	sec := *l.Secret
	sec.LeaseID = id
	if _, _, err := m.host.RouteLease(ctx, logical.RevokeOperation, l.Path, &sec); err != nil && !force {
		return fmt.Errorf("revoke through the engine at %q: %w", l.Path, err)
	}
	return m.deleteLease(ctx, l)
}

// expireNow moves a lease's expiry to now so a worker revokes it.
func (m *Manager) expireNow(ctx context.Context, id string) {
	mu := m.lockFor(id)
	mu.Lock()
	defer mu.Unlock()
	l, err := m.load(ctx, id)
	if err != nil || l == nil || l.Irrevocable {
		return
	}
	old := *l
	if now := m.now(); l.ExpireTime.After(now) {
		l.ExpireTime = now
	}
	if err := m.put(ctx, l, &old); err != nil {
		m.conf.Logger.Warn("expiring lease now failed", "lease_id", id, "error", err)
	}
}

// expire is a worker's job: revoke the lease if it is (still) due, and
// record a failure.
func (m *Manager) expire(ctx context.Context, id string) {
	err := m.revokeIf(ctx, id, false, m.due)
	if err == nil || errors.Is(err, ErrInvalidLease) || errors.Is(err, errNotDue) || ctx.Err() != nil {
		return
	}
	m.recordFailure(ctx, id, err)
}

// errNotDue: a queued lease was renewed (rescheduled) or made irrevocable
// since it was queued.
var errNotDue = errors.New("expiration: lease not due")

// due is the workers' condition: the lease is past its expiry and not
// given up on; a renewed one goes back in the heap.
func (m *Manager) due(l *Lease) error {
	if l.Irrevocable {
		return errNotDue
	}
	if l.ExpireTime.After(m.now()) {
		m.schedule(l.ID, l.ExpireTime)
		return errNotDue
	}
	return nil
}

// recordFailure counts a failed revocation on the lease and schedules the
// retry, or, after MaxRevokeAttempts, makes the lease irrevocable.
func (m *Manager) recordFailure(ctx context.Context, id string, cause error) {
	mu := m.lockFor(id)
	mu.Lock()
	defer mu.Unlock()
	l, err := m.load(ctx, id)
	if err != nil || l == nil {
		return
	}
	old := *l
	l.RevokeAttempts++
	l.LastError = cause.Error()
	if l.RevokeAttempts >= m.conf.MaxRevokeAttempts {
		l.Irrevocable = true
		m.conf.Logger.Error("lease is irrevocable; revoke-force removes it", "lease_id", id, "attempts", l.RevokeAttempts, "error", cause)
		if err := m.put(ctx, l, &old); err != nil {
			m.conf.Logger.Warn("recording an irrevocable lease failed", "lease_id", id, "error", err)
		}
		return
	}
	backoff := m.conf.RetryBase << (l.RevokeAttempts - 1)
	if backoff > m.conf.RetryMax || backoff <= 0 {
		backoff = m.conf.RetryMax
	}
	m.conf.Logger.Warn("revoking lease failed; will retry", "lease_id", id, "attempt", l.RevokeAttempts, "retry_in", backoff, "error", cause)
	if err := m.put(ctx, l, &old, m.now().Add(backoff)); err != nil {
		m.conf.Logger.Warn("recording a failed revocation failed", "lease_id", id, "error", err)
	}
}

// RevokePrefix revokes every lease whose id starts with prefix (a whole
// id, or a path: "auth/userpass/login" ends every login of the mount).
// With force, leases whose engine fails are deleted anyway. It returns
// how many it revoked.
func (m *Manager) RevokePrefix(ctx context.Context, prefix string, force bool) (int, error) {
	prefix = strings.TrimLeft(prefix, "/")
	if prefix == "" {
		return 0, logical.BadRequest("missing prefix")
	}
	var ids []string
	if !strings.HasSuffix(prefix, "/") {
		l, err := m.load(ctx, prefix)
		if err != nil {
			return 0, err
		}
		if l != nil {
			ids = append(ids, prefix)
		}
		prefix += "/"
	}
	under, err := m.listIDs(ctx, prefix)
	if err != nil {
		return 0, err
	}
	ids = append(ids, under...)
	n := 0
	var errs []error
	for _, id := range ids {
		err := m.revoke(ctx, id, force)
		switch {
		case err == nil:
			n++
		case errors.Is(err, ErrInvalidLease):
			// Gone with a token revoked earlier in this walk.
		default:
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
		}
	}
	if len(errs) > 0 {
		return n, logical.BadRequest("failed to revoke %d of the leases under %q: %v", len(errs), prefix, errors.Join(errs...))
	}
	return n, nil
}

// listIDs lists every lease id under prefix (a folder, with its "/").
func (m *Manager) listIDs(ctx context.Context, prefix string) ([]string, error) {
	s, err := m.view()
	if err != nil {
		return nil, err
	}
	var out []string
	stack := []string{prefix}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		keys, err := s.List(ctx, idPrefix+p)
		if err != nil {
			return nil, fmt.Errorf("expiration: list leases: %w", err)
		}
		for _, k := range keys {
			if strings.HasSuffix(k, "/") {
				stack = append(stack, p+k)
			} else {
				out = append(out, p+k)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// List returns the immediate children of prefix among lease ids, as
// LIST sys/leases/lookup/<prefix> shows them.
func (m *Manager) List(ctx context.Context, prefix string) ([]string, error) {
	s, err := m.view()
	if err != nil {
		return nil, err
	}
	keys, err := s.List(ctx, idPrefix+prefix)
	if err != nil {
		return nil, fmt.Errorf("expiration: list leases: %w", err)
	}
	return keys, nil
}

// Tidy drops the leases of tokens that no longer exist: a token's own
// lease is deleted, the secrets a gone token created are revoked in the
// background. It walks every lease: an operator's request, not a timer's.
func (m *Manager) Tidy(ctx context.Context) (deleted, revoked int, err error) {
	ids, err := m.listIDs(ctx, "")
	if err != nil {
		return 0, 0, err
	}
	exists := map[string]bool{}
	check := func(tok string) (bool, error) {
		if v, ok := exists[tok]; ok {
			return v, nil
		}
		v, err := m.host.TokenExists(ctx, tok)
		if err == nil {
			exists[tok] = v
		}
		return v, err
	}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return deleted, revoked, err
		}
		l, err := m.load(ctx, id)
		if err != nil || l == nil {
			continue
		}
		switch {
		case l.IsAuth():
			ok, err := check(l.TokenID)
			if err != nil || ok {
				continue
			}
			mu := m.lockFor(id)
			mu.Lock()
			err = m.deleteLease(ctx, l)
			mu.Unlock()
			if err == nil {
				deleted++
			}
		case l.CreatorID != "":
			ok, err := check(l.CreatorID)
			if err != nil || ok {
				continue
			}
			m.expireNow(ctx, id)
			revoked++
		}
	}
	m.conf.Logger.Info("lease tidy finished", "leases", len(ids), "token_leases_deleted", deleted, "orphaned_secrets_revoked", revoked)
	return deleted, revoked, nil
}

// Irrevocable returns the irrevocable leases, sorted by id.
func (m *Manager) Irrevocable(ctx context.Context) ([]*Lease, error) {
	s, err := m.view()
	if err != nil {
		return nil, err
	}
	keys, err := s.List(ctx, irrevocablePrefix)
	if err != nil {
		return nil, fmt.Errorf("expiration: list irrevocable leases: %w", err)
	}
	var out []*Lease
	for _, k := range keys {
		id, err := dec(k)
		if err != nil {
			continue
		}
		l, err := m.load(ctx, id)
		if err != nil {
			return nil, err
		}
		if l != nil && l.Irrevocable {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
