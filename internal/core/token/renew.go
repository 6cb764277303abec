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
	if increment < 0 {
		return nil, nil, logical.BadRequest("increment must be positive")
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
	ttl, warnings, err := calculateTTL(ttlInput{
		now: now, start: cur.CreationTime, increment: increment, ttl: cur.TTL,
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
