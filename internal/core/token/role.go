package token

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/logical/tokenutil"
)

// rolePrefix is where token roles live in the store's storage.
const rolePrefix = "roles/"

// roleNameRe is the name of a role: word characters, '-' and '.', starting
// and ending with a word character (Vault's generic name).
const roleNameRe = `\w(?:[\w.-]*\w)?`

var (
	validRoleName = regexp.MustCompile(`^` + roleNameRe + `$`)
	// A suffix is one or more such segments; ".." is refused on its own
	// so a suffix never climbs out of the role's creation path.
	validPathSuffix = regexp.MustCompile(`^[\w.-]+(?:/[\w.-]+)*$`)
)

// Role is a token role: what auth/token/create/<name> may issue.
type Role struct {
	Name                   string   `json:"name"`
	AllowedPolicies        []string `json:"allowed_policies"`
	DisallowedPolicies     []string `json:"disallowed_policies"`
	AllowedPoliciesGlob    []string `json:"allowed_policies_glob"`
	DisallowedPoliciesGlob []string `json:"disallowed_policies_glob"`
	AllowedEntityAliases   []string `json:"allowed_entity_aliases"`
	Orphan                 bool     `json:"orphan"`
	Renewable              bool     `json:"renewable"`
	PathSuffix             string   `json:"path_suffix"`
	// ExplicitMaxTTLLegacy: the explicit max TTL was last set under its
	// pre-1.2 name explicit_max_ttl, so it reads back under it too.
	ExplicitMaxTTLLegacy bool `json:"explicit_max_ttl_legacy,omitempty"`
	// Params holds the token_* settings; token_ttl, token_max_ttl and
	// token_policies are not among a token role's fields and stay zero.
	Params tokenutil.Params `json:"params"`
}

// restrictsPolicies reports whether the role has its own policy rules;
// then requested policies are checked against the role, not the parent.
func (r *Role) restrictsPolicies() bool {
	return len(r.AllowedPolicies) > 0 || len(r.DisallowedPolicies) > 0 ||
		len(r.AllowedPoliciesGlob) > 0 || len(r.DisallowedPoliciesGlob) > 0
}

// role loads a role; nil when there is none.
func (s *Store) role(ctx context.Context, name string) (*Role, error) {
	if !validRoleName.MatchString(name) {
		return nil, nil
	}
	se, err := s.storage.Get(ctx, rolePrefix+name)
	if err != nil {
		return nil, fmt.Errorf("token: read role %q: %w", name, err)
	}
	if se == nil {
		return nil, nil
	}
	r := &Role{}
	if err := json.Unmarshal(se.Value, r); err != nil {
		return nil, fmt.Errorf("token: decode role %q: %w", name, err)
	}
	return r, nil
}

func (s *Store) putRole(ctx context.Context, r *Role) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("token: encode role %q: %w", r.Name, err)
	}
	if err := s.storage.Put(ctx, &logical.StorageEntry{Key: rolePrefix + r.Name, Value: b}); err != nil {
		return fmt.Errorf("token: write role %q: %w", r.Name, err)
	}
	return nil
}

// normalizeList lowercases, trims, drops empties, sorts and dedupes, as
// Vault stores a role's policy lists ("root" stays as it is, unlike
// sanitizePolicies, so a disallowed "root" is kept beside the others).
func normalizeList(in []string) []string {
	out := make([]string, 0, len(in))
	for _, p := range in {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// globMatch reports whether s matches pattern, where '*' matches any run
// of characters (possibly empty) and every other character itself.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}

func matchesAny(globs []string, s string) bool {
	return slices.ContainsFunc(globs, func(g string) bool { return globMatch(g, s) })
}

// rolePolicies applies Vault's rules for a role with allowed or disallowed
// policies: "default" is added unless the request or role says not to or
// the role disallows it; with allowed policies set, the requested ones
// must be among them (or match an allowed glob) and no request means the
// allowed ones; otherwise no request means the parent's. A disallowed
// policy (or glob match) is always refused. The parent's policies do not
// bound the result: that is what the role is for.
func rolePolicies(r *Role, parent *Entry, asked []string, noDefault bool) ([]string, error) {
	addDefault := !noDefault && !slices.Contains(r.DisallowedPolicies, DefaultPolicy) &&
		!matchesAny(r.DisallowedPoliciesGlob, DefaultPolicy)
	var out []string
	if len(normalizeList(asked)) > 0 {
		out = sanitizePolicies(asked, addDefault)
	}
	if len(r.AllowedPolicies) > 0 || len(r.AllowedPoliciesGlob) > 0 {
		allowed := sanitizePolicies(r.AllowedPolicies, addDefault)
		if len(out) == 0 {
			out = allowed
		} else {
			for _, p := range out {
				if !slices.Contains(allowed, p) && !matchesAny(r.AllowedPoliciesGlob, p) {
					return nil, logical.BadRequest("token policies (%q) must be subset of the role's allowed policies (%q) or glob policies (%q)", out, allowed, r.AllowedPoliciesGlob)
				}
			}
		}
	} else if len(out) == 0 {
		out = sanitizePolicies(parent.Policies, addDefault)
	}
	for _, p := range out {
		if slices.Contains(r.DisallowedPolicies, p) || matchesAny(r.DisallowedPoliciesGlob, p) {
			return nil, logical.BadRequest("token policy %q is disallowed by this role", p)
		}
	}
	if noDefault {
		out = slices.DeleteFunc(out, func(p string) bool { return p == DefaultPolicy })
	}
	if slices.Contains(out, RootPolicy) && !parent.IsRoot() {
		return nil, logical.BadRequest("root tokens may not be created without parent token being root")
	}
	return out, nil
}
