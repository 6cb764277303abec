package token

import (
	"context"
	"fmt"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// Renew extends a token's life by increment (its own TTL when zero; its
// period for periodic tokens), within its explicit max TTL, the mount max
// counted from creation and its parent's expiry. It returns the updated
// entry and warnings for the client when the TTL was capped.
func (s *Store) Renew(ctx context.Context, e *Entry, increment time.Duration) (*Entry, []string, error) {
	if e == nil {
		return nil, nil, logical.BadRequest("lease not found")
	}
	if e.Type == TypeBatch {
		return nil, nil, errBatchRenew
	}
	if increment < 0 {
		return nil, nil, logical.BadRequest("increment must be positive")
	}
	terms, err := s.askRenew(ctx, e, increment)
	if err != nil {
		return nil, nil, err
	}
	mu := s.lockFor(e.ID)
	mu.Lock()
	defer mu.Unlock()
	cur, err := s.load(ctx, e.ID)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	switch {
	case cur == nil || cur.NumUses < 0:
		return nil, nil, logical.BadRequest("lease not found")
	case cur.ExpireTime.IsZero() || !cur.Renewable:
		return nil, nil, logical.BadRequest("lease is not renewable")
	case cur.Expired(now):
		return nil, nil, logical.BadRequest("lease expired")
	}
	maxTTL := cur.MaxTTL
	if maxTTL <= 0 {
		maxTTL = s.maxTTL
	}
	ownTTL := cur.TTL
	// A role's token follows the role as it is now (an operator may have
	// changed its period); a role that is gone renews nothing, as in Vault.
	// The explicit max TTL only ever tightens: the token's own may be the
	// request's, lower than the role's.
	if cur.Role != "" {
		role, err := s.role(ctx, cur.Role)
		if err != nil {
			return nil, nil, err
		}
		if role == nil {
			return nil, nil, logical.BadRequest("original token role %q could not be found, not renewing", cur.Role)
		}
		cur.Period = role.Params.Period
		if m := role.Params.ExplicitMaxTTL; m > 0 && (cur.ExplicitMaxTTL == 0 || m < cur.ExplicitMaxTTL) {
			cur.ExplicitMaxTTL = m
		}
	}
	if terms != nil {
		ownTTL, cur.Period = terms.TTL, terms.Period
		if terms.MaxTTL > 0 {
			maxTTL, cur.MaxTTL = terms.MaxTTL, terms.MaxTTL
		}
	}
	ttl, warnings, err := calculateTTL(ttlInput{
		now: now, start: cur.CreationTime, increment: increment, ttl: ownTTL,
		period: cur.Period, explicitMax: cur.ExplicitMaxTTL,
		defaultTTL: min(s.defaultTTL, maxTTL), maxTTL: maxTTL,
	})
	if err != nil {
		return nil, nil, err
	}
	if cur.Parent != "" {
		p, err := s.load(ctx, cur.Parent)
		if err != nil {
			return nil, nil, err
		}
		if p != nil && !p.ExpireTime.IsZero() {
			left := p.ExpireTime.Sub(now).Truncate(time.Second)
			if left <= 0 {
				return nil, nil, logical.BadRequest("lease expired")
			}
			if ttl > left {
				warnings = append(warnings, fmt.Sprintf("TTL of %q exceeded the parent token's remaining TTL of %q; TTL value is capped accordingly", humanDuration(ttl), humanDuration(left)))
				ttl = left
			}
		}
	}
	cur.ExpireTime = now.Add(ttl)
	cur.LastRenewalTime = now
	// The lease moves first: if the entry's write then fails, the lease
	// outlives the token (which is invalid past its ExpireTime anyway)
	// rather than revoking a renewed token early.
	if s.onExpiry != nil {
		if err := s.onExpiry(ctx, cur.clone()); err != nil {
			return nil, nil, fmt.Errorf("token: move lease: %w", err)
		}
	}
	if err := s.save(ctx, cur); err != nil {
		return nil, nil, err
	}
	return cur.clone(), warnings, nil
}

// askRenew consults OnRenew for a token that can be renewed at all (the
// method is not asked about a token the store refuses anyway).
func (s *Store) askRenew(ctx context.Context, e *Entry, increment time.Duration) (*RenewTerms, error) {
	if s.onRenew == nil {
		return nil, nil
	}
	cur, err := s.load(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	if cur == nil || cur.NumUses < 0 || cur.ExpireTime.IsZero() || !cur.Renewable || cur.Expired(s.now()) {
		return nil, nil // Renew answers with the store's own message
	}
	return s.onRenew(ctx, cur, increment)
}
