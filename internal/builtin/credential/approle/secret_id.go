package approle

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// secretIDEntry is what is kept of a secret ID: never the secret ID
// itself, which only its HMAC (the storage key) stands for.
type secretIDEntry struct {
	Accessor string `json:"secret_id_accessor"`
	// NumUses is the logins left; 0 is unlimited.
	NumUses         int               `json:"secret_id_num_uses"`
	TTL             time.Duration     `json:"secret_id_ttl"`
	CreationTime    time.Time         `json:"creation_time"`
	ExpirationTime  time.Time         `json:"expiration_time"`
	LastUpdatedTime time.Time         `json:"last_updated_time"`
	Metadata        map[string]string `json:"metadata"`
	CIDRList        []string          `json:"cidr_list"`
	TokenBoundCIDRs []string          `json:"token_bound_cidrs"`
}

func (e *secretIDEntry) expired(now time.Time) bool {
	return !e.ExpirationTime.IsZero() && !now.Before(e.ExpirationTime)
}

// data is the entry as secret-id/lookup shows it.
func (e *secretIDEntry) data() map[string]any {
	meta := e.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	orEmpty := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return map[string]any{
		"secret_id_accessor": e.Accessor,
		"secret_id_num_uses": e.NumUses,
		"secret_id_ttl":      int64(e.TTL / time.Second),
		"creation_time":      e.CreationTime,
		"expiration_time":    e.ExpirationTime,
		"last_updated_time":  e.LastUpdatedTime,
		"metadata":           meta,
		"cidr_list":          orEmpty(e.CIDRList),
		"token_bound_cidrs":  orEmpty(e.TokenBoundCIDRs),
	}
}

// accessorEntry points an accessor at its secret ID's storage key.
type accessorEntry struct {
	SecretIDKey string `json:"secret_id_key"`
}

// secretPrefix is the storage folder of a role's secret IDs: named by a
// random ID the role gets at creation, so a role deleted and made again
// under the same name never sees secret IDs the old one left behind.
func (r *role) secretPrefix() string {
	p := secretIDPrefix
	if r.LocalSecretIDs {
		p = secretIDLocalPrefix
	}
	return p + r.SecretIDFolder + "/"
}

func (r *role) accessorKey(h hasher, accessor string) string {
	p := accessorPrefix
	if r.LocalSecretIDs {
		p = accessorLocalPrefix
	}
	return p + h.sum("accessor", accessor)
}

// secretKey is the storage key of a role's secret ID.
func (r *role) secretKey(h hasher, secretID string) string {
	return r.secretPrefix() + h.sum("secret_id", secretID)
}

// readSecretID reads an entry; the caller holds its lock when it goes on
// to change it.
func readSecretID(ctx context.Context, s logical.Storage, key string) (*secretIDEntry, error) {
	var e secretIDEntry
	ok, err := getJSON(ctx, s, key, &e)
	if err != nil || !ok {
		return nil, err
	}
	return &e, nil
}

// destroySecretID removes a secret ID (prefix + its HMAC) and its accessor.
func (b *backend) destroySecretID(ctx context.Context, s logical.Storage, r *role, prefix, hmacID string) error {
	key := prefix + hmacID
	defer b.lockSecret(key)()
	return b.destroyLocked(ctx, s, r, key)
}

// destroyLocked is destroySecretID with the secret ID's lock held. The
// accessor goes last: an accessor without its secret ID is harmless (tidy
// removes it), a secret ID without its accessor could not be destroyed by
// accessor.
func (b *backend) destroyLocked(ctx context.Context, s logical.Storage, r *role, key string) error {
	e, err := readSecretID(ctx, s, key)
	if err != nil || e == nil {
		return err
	}
	if err := s.Delete(ctx, key); err != nil {
		return fmt.Errorf("approle: delete secret id: %w", err)
	}
	h, err := b.hasher(ctx, s)
	if err != nil {
		return err
	}
	if err := s.Delete(ctx, r.accessorKey(h, e.Accessor)); err != nil {
		return fmt.Errorf("approle: delete secret id accessor: %w", err)
	}
	return nil
}

// cidrsWithin checks that every block of child lies inside a block of
// parent (no parent blocks: anything goes).
func cidrsWithin(child, parent []string) (string, bool) {
	if len(parent) == 0 {
		return "", true
	}
	for _, c := range child {
		cp, err := prefixOf(c)
		if err != nil {
			return c, false
		}
		ok := slices.ContainsFunc(parent, func(p string) bool {
			pp, err := prefixOf(p)
			return err == nil && pp.Bits() <= cp.Bits() && pp.Contains(cp.Addr())
		})
		if !ok {
			return c, false
		}
	}
	return "", true
}

func prefixOf(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
