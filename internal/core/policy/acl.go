package policy

import (
	"fmt"
	"strings"

	"github.com/strongbox/strongbox/internal/logical"
)

// ACL is the compiled, merged view of a token's policies. It is immutable
// and safe for concurrent use.
type ACL struct {
	root bool
	// exact holds exact patterns by path.
	exact map[string]capSet
	// globs holds prefix and segment-wildcard patterns, one per distinct
	// pattern (identical patterns from several policies are merged).
	globs []*aclRule
}

type aclRule struct {
	pat  pattern
	caps capSet
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
}

// NewACL merges policies into an ACL. nil policies are skipped. If any
// policy is named "root", the ACL is a root ACL: it allows everything, with
// sudo everywhere. Policies are compiled from their exported fields, so a
// hand-built Policy with an invalid path or capability is an error wrapping
// ErrInvalidPolicy.
func NewACL(policies ...*Policy) (*ACL, error) {
	a := &ACL{exact: map[string]capSet{}}
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
			pat, msg := compilePattern(r.Path)
			if msg != "" {
				return nil, invalidf("policy %q: path %q: %s", p.Name, r.Path, msg)
			}
			caps, err := capsOf(r.Capabilities)
			if err != nil {
				return nil, fmt.Errorf("policy %q: path %q: %w", p.Name, r.Path, err)
			}
			if pat.kind == exactPattern {
				if old, ok := a.exact[pat.key]; ok {
					caps = old.merge(caps)
				}
				a.exact[pat.key] = caps
				continue
			}
			if g, ok := globs[pat.key]; ok {
				g.caps = g.caps.merge(caps)
				continue
			}
			g := &aclRule{pat: pat, caps: caps}
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
	caps := a.lookup(path, true)
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
	caps := a.lookup(path, op == logical.ListOperation || op == logical.HelpOperation)
	res := Result{Sudo: caps.has(capSudo)}
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
func (a *ACL) lookup(path string, list bool) capSet {
	if a == nil {
		return 0
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
				return r.caps
			}
		}
	}
	if r := a.bestGlob(path); r != nil {
		return r.caps
	}
	return 0
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
