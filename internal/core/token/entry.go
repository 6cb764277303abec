package token

import (
	"regexp"
	"slices"
	"strings"
	"time"
)

// Token types and well-known policy names.
const (
	// TypeService tokens are stored, renewable and revocable.
	TypeService = "service"

	// RootPolicy grants everything; a token holding it holds nothing else.
	RootPolicy = "root"
	// DefaultPolicy is attached to tokens unless asked not to.
	DefaultPolicy = "default"

	// PathRoot is the creation path recorded in root tokens.
	PathRoot = "auth/token/root"
)

// pendingUses in NumUses marks a token whose revocation has begun (or whose
// last use has been spent): it is no longer valid, whatever else it says.
const pendingUses = -1

// Entry is one token as the store knows it. The raw token is not part of it:
// only its salted hash (ID) is.
type Entry struct {
	// ID is hex(HMAC-SHA256(salt, token)), the token's storage name.
	ID string
	// Accessor is the token's public handle.
	Accessor string
	// Parent is the parent token's ID; empty for orphans.
	Parent string
	// Policies are sorted and deduplicated; a root token has only "root".
	Policies []string
	// Path is where the token was created ("auth/token/create",
	// "auth/userpass/login/bob").
	Path        string
	Meta        map[string]string
	DisplayName string
	// NumUses is the number of uses left; 0 is unlimited.
	NumUses      int
	CreationTime time.Time
	// TTL is the TTL given at creation; 0 means the token never expires.
	TTL            time.Duration
	ExplicitMaxTTL time.Duration
	Period         time.Duration
	Renewable      bool
	Orphan         bool
	Type           string
	EntityID       string
	// ExpireTime is when the token stops being valid; zero for never.
	ExpireTime time.Time
	// LastRenewalTime is zero until the first renewal.
	LastRenewalTime time.Time
	// MaxTTL is the mount maximum the token was issued under; renewals stay
	// within CreationTime+MaxTTL (periodic tokens excepted).
	MaxTTL time.Duration
	// BoundCIDRs are the addresses the token may be used from (CIDR
	// blocks or single IPs); empty: anywhere.
	BoundCIDRs []string
	// Role is the token role the token was created against (create/<role>);
	// renewals follow the role's current period and explicit max TTL.
	Role string
}

// IsRoot reports whether the entry carries the root policy.
func (e *Entry) IsRoot() bool {
	return len(e.Policies) == 1 && e.Policies[0] == RootPolicy
}

// Expired reports whether the entry is past its expiry at now.
func (e *Entry) Expired(now time.Time) bool {
	return !e.ExpireTime.IsZero() && !now.Before(e.ExpireTime)
}

// RemainingTTL is the time left at now: zero for tokens that never expire
// and for expired ones.
func (e *Entry) RemainingTTL(now time.Time) time.Duration {
	if e.ExpireTime.IsZero() || !now.Before(e.ExpireTime) {
		return 0
	}
	return e.ExpireTime.Sub(now)
}

func (e *Entry) clone() *Entry {
	c := *e
	c.Policies = slices.Clone(e.Policies)
	c.BoundCIDRs = slices.Clone(e.BoundCIDRs)
	if e.Meta != nil {
		c.Meta = make(map[string]string, len(e.Meta))
		for k, v := range e.Meta {
			c.Meta[k] = v
		}
	}
	return &c
}

// record is an Entry as stored: the accessor sealed, times as Unix
// nanoseconds so the encoding does not depend on the zone.
type record struct {
	ID              string            `json:"id"`
	SealedAccessor  []byte            `json:"sealed_accessor"`
	Parent          string            `json:"parent,omitempty"`
	Policies        []string          `json:"policies"`
	Path            string            `json:"path"`
	Meta            map[string]string `json:"meta,omitempty"`
	DisplayName     string            `json:"display_name"`
	NumUses         int               `json:"num_uses"`
	CreationTime    int64             `json:"creation_time"`
	TTL             time.Duration     `json:"ttl"`
	ExplicitMaxTTL  time.Duration     `json:"explicit_max_ttl"`
	Period          time.Duration     `json:"period"`
	Renewable       bool              `json:"renewable"`
	Type            string            `json:"type"`
	EntityID        string            `json:"entity_id"`
	ExpireTime      int64             `json:"expire_time,omitempty"`
	LastRenewalTime int64             `json:"last_renewal_time,omitempty"`
	MaxTTL          time.Duration     `json:"max_ttl"`
	BoundCIDRs      []string          `json:"bound_cidrs,omitempty"`
	Role            string            `json:"role,omitempty"`
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// sanitizePolicies trims, lowercases, drops empties, sorts and dedupes;
// adds "default" when addDefault; and reduces any set holding "root" to
// just ["root"], as Vault does.
func sanitizePolicies(in []string, addDefault bool) []string {
	out := make([]string, 0, len(in)+1)
	for _, p := range in {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		if p == RootPolicy {
			return []string{RootPolicy}
		}
		out = append(out, p)
	}
	if addDefault {
		out = append(out, DefaultPolicy)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// isSubset reports whether every element of sub is in set.
func isSubset(set, sub []string) bool {
	for _, s := range sub {
		if !slices.Contains(set, s) {
			return false
		}
	}
	return true
}

var displayNameSanitize = regexp.MustCompile("[^a-zA-Z0-9-]")

// tokenDisplayName is Vault's display name for tokens made by auth/token:
// "token", or "token-<name>" with anything but letters, digits and dashes
// turned into dashes.
func tokenDisplayName(name string) string {
	if name == "" {
		return "token"
	}
	full := displayNameSanitize.ReplaceAllString("token-"+name, "-")
	return strings.TrimSuffix(full, "-")
}
