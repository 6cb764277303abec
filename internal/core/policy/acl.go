package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// ACL is the compiled, merged view of a token's policies. It is immutable
// and safe for concurrent use.
type ACL struct {
	root bool
	// exact holds exact patterns by path.
	exact map[string]perms
	// globs holds prefix and segment-wildcard patterns, one per distinct
	// pattern (identical patterns from several policies are merged).
	globs []*aclRule
	// templated is true when a policy path holds {{identity.…}}
	// placeholders: the ACL then depends on the caller's entity.
	templated bool
}

// Templated reports whether a policy path of the ACL holds identity
// placeholders, so the ACL differs from one entity to another.
func (a *ACL) Templated() bool { return a.templated }

type aclRule struct {
	pat pattern
	perms
}

// perms is what a path's rules grant once merged: capabilities, and the
// wrapping TTL bounds a request must meet.
type perms struct {
	caps capSet
	// minWrap and maxWrap are the rules' min_wrapping_ttl and
	// max_wrapping_ttl; zero is no bound.
	minWrap, maxWrap time.Duration
}

// merge combines the rules of one pattern from several policies. Deny on
// either side wins over every capability; of two wrapping bounds the lower
// one is kept, for the minimum and the maximum alike (as Vault merges them).
func (p perms) merge(o perms) perms {
	p.caps = p.caps.merge(o.caps)
	if o.minWrap > 0 && (p.minWrap == 0 || o.minWrap < p.minWrap) {
		p.minWrap = o.minWrap
	}
	if o.maxWrap > 0 && (p.maxWrap == 0 || o.maxWrap < p.maxWrap) {
		p.maxWrap = o.maxWrap
	}
	return p
}

// Result is the answer of ACL.Allowed.
type Result struct {
	// Allowed is true when the operation may proceed.
	Allowed bool
	// Sudo is true when the matching rule grants sudo (always for root),
	// whether or not the operation itself is allowed; root-protected
	// paths need it.
	Sudo bool
	// Root is true for a root ACL.
	Root bool
	// MinWrappingTTL and MaxWrappingTTL are the matching rule's
	// min_wrapping_ttl and max_wrapping_ttl (zero: no bound). A request
	// that is allowed must also ask for its response to be wrapped within
	// them; the request pipeline enforces that (CheckWrapTTL).
	MinWrappingTTL, MaxWrappingTTL time.Duration
}

// CheckWrapTTL reports whether a request asking for wrapTTL (zero for no
// wrapping) meets the rule's wrapping bounds. As in Vault, a request
// that does not is refused like any other the ACL does not allow, and so
// is every request on a path whose merged bounds contradict each other.
func (r Result) CheckWrapTTL(wrapTTL time.Duration) bool {
	if r.Root {
		return true
	}
	// Anything not positive wraps nothing.
	wrapTTL = max(wrapTTL, 0)
	if r.MaxWrappingTTL > 0 && (wrapTTL == 0 || wrapTTL > r.MaxWrappingTTL) {
		return false
	}
	if r.MinWrappingTTL > 0 && (wrapTTL == 0 || wrapTTL < r.MinWrappingTTL) {
		return false
	}
	return r.MinWrappingTTL == 0 || r.MaxWrappingTTL == 0 || r.MaxWrappingTTL >= r.MinWrappingTTL
}

// NewACL merges policies into an ACL. nil policies are skipped. If any
// policy is named "root", the ACL is a root ACL: it allows everything, with
// sudo everywhere. Policies are compiled from their exported fields, so a
// hand-built Policy with an invalid path or capability is an error wrapping
// ErrInvalidPolicy.
func NewACL(policies ...*Policy) (*ACL, error) {
	return NewTemplatedACL(nil, policies...)
}

// NewTemplatedACL is NewACL for a caller whose entity is td (nil: none):
// placeholders in policy paths are rendered with RenderPath, and a path
// that cannot be rendered is left out, as Vault does.
func NewTemplatedACL(td *TemplateData, policies ...*Policy) (*ACL, error) {
	a := &ACL{exact: map[string]perms{}}
	globs := map[string]*aclRule{}
	for _, p := range policies {
		if p == nil {
			continue
		}
		if p.Name == RootName {
			return &ACL{root: true}, nil
		}
		for _, r := range p.Paths {
			if r == nil {
				continue
			}
			path, rendered := r.Path, false
			if hasTemplate(path) {
				a.templated, rendered = true, true
				var ok bool
				if path, ok = RenderPath(path, td); !ok {
					continue
				}
			}
			pat, msg := compilePattern(path)
			if msg != "" && rendered {
				// A value ("*" in a metadata value) made the path invalid:
				// it grants nothing rather than breaking the whole ACL.
				continue
			}
			if msg != "" {
				return nil, invalidf("policy %q: path %q: %s", p.Name, r.Path, msg)
			}
			caps, err := capsOf(r.Capabilities)
			if err != nil {
				return nil, fmt.Errorf("policy %q: path %q: %w", p.Name, r.Path, err)
			}
			pr := perms{caps: caps, minWrap: r.MinWrappingTTL, maxWrap: r.MaxWrappingTTL}
			if pat.kind == exactPattern {
				if old, ok := a.exact[pat.key]; ok {
					pr = old.merge(pr)
				}
				a.exact[pat.key] = pr
				continue
			}
			if g, ok := globs[pat.key]; ok {
				g.perms = g.perms.merge(pr)
				continue
			}
			g := &aclRule{pat: pat, perms: pr}
			globs[pat.key] = g
			a.globs = append(a.globs, g)
		}
	}
	return a, nil
}

// capsOf turns capability names into a set; deny leaves only deny.
func capsOf(names []string) (capSet, error) {
	var caps capSet
	for _, n := range names {
		c, ok := capByName[n]
		if !ok {
			return 0, invalidf("invalid capability %q", n)
		}
		caps |= c
	}
	if caps.has(capDeny) {
		caps = capDeny
	}
	return caps, nil
}

// IsRoot reports whether the ACL is a root ACL.
func (a *ACL) IsRoot() bool { return a != nil && a.root }

// Capabilities returns the sorted capability names the ACL grants on path:
// ["root"] for a root ACL, ["deny"] when nothing is granted. Like Vault's
// sys/capabilities it looks the path up as a list would, so "secret/foo/"
// is also answered by a rule for "secret/foo".
func (a *ACL) Capabilities(path string) []string {
	if a.IsRoot() {
		return []string{CapRoot}
	}
	caps := a.lookup(path, true).caps
	if !caps.grants() {
		return []string{CapDeny}
	}
	return caps.names()
}

// Allowed decides whether op on path is permitted. Read, create, update,
// patch, delete and list need the capability of the same name; help is
// allowed when the path grants any capability at all. Other operations are
// denied unless the ACL is root.
func (a *ACL) Allowed(path string, op logical.Operation) Result {
	if a.IsRoot() {
		return Result{Allowed: true, Sudo: true, Root: true}
	}
	p := a.lookup(path, op == logical.ListOperation || op == logical.HelpOperation)
	caps := p.caps
	res := Result{Sudo: caps.has(capSudo), MinWrappingTTL: p.minWrap, MaxWrappingTTL: p.maxWrap}
	var need capSet
	switch op {
	case logical.ReadOperation:
		need = capRead
	case logical.CreateOperation:
		need = capCreate
	case logical.UpdateOperation:
		need = capUpdate
	case logical.PatchOperation:
		need = capPatch
	case logical.DeleteOperation:
		need = capDelete
	case logical.ListOperation:
		need = capList
	case logical.HelpOperation:
		res.Allowed = caps.grants()
		return res
	default:
		return res
	}
	// A deny set holds only the deny bit, so it never has need.
	res.Allowed = caps.has(need)
	return res
}

// lookup finds the capabilities that apply to path, following Vault: an
// exact rule wins; for a list, an exact rule for the path without its
// trailing slash also counts, and the patterns are tried on the path
// without its trailing slash before the path as given (so "secret/+/foo"
// answers a list of "secret/a/foo/"); otherwise the highest-priority
// matching pattern applies. No match is the empty set.
func (a *ACL) lookup(path string, list bool) perms {
	if a == nil {
		return perms{}
	}
	path = strings.TrimLeft(path, "/")
	if caps, ok := a.exact[path]; ok {
		return caps
	}
	trimmed, hadSlash := strings.CutSuffix(path, "/")
	if list {
		if caps, ok := a.exact[trimmed]; ok {
			return caps
		}
		if hadSlash {
			if r := a.bestGlob(trimmed); r != nil {
				return r.perms
			}
		}
	}
	if r := a.bestGlob(path); r != nil {
		return r.perms
	}
	return perms{}
}

// bestGlob returns the highest-priority non-exact rule matching path.
func (a *ACL) bestGlob(path string) *aclRule {
	var best *aclRule
	for _, r := range a.globs {
		if !r.pat.matches(path) {
			continue
		}
		if best == nil || lowerPriority(&best.pat, &r.pat) {
			best = r
		}
	}
	return best
}
