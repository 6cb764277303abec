package token

import (
	"context"
	"fmt"
	"strings"
)

// RevokeByPathPrefix revokes, with their children, the tokens whose creation
// path starts with prefix: what sys/leases/revoke-prefix does to tokens in
// Vault, where a token's lease ID is its creation path. Tokens that never
// expire (root tokens) have no lease there and are left alone, as in Vault.
// It returns how many tokens it revoked (children not counted).
func (s *Store) RevokeByPathPrefix(ctx context.Context, prefix string) (int, error) {
	ids, err := s.storage.List(ctx, idPrefix)
	if err != nil {
		return 0, fmt.Errorf("token: revoke prefix: list tokens: %w", err)
	}
	n := 0
	for _, id := range ids {
		if strings.HasSuffix(id, "/") {
			continue
		}
		e, err := s.load(ctx, id)
		if err != nil {
			return n, err
		}
		if e == nil || e.NumUses < 0 || e.ExpireTime.IsZero() || !strings.HasPrefix(e.Path, prefix) {
			continue
		}
		if err := s.revokeTreeID(ctx, id); err != nil {
			return n, fmt.Errorf("token: revoke prefix: %w", err)
		}
		n++
	}
	return n, nil
}
