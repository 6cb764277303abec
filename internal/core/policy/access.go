package policy

import "strings"

// HasAccessUnder reports whether the ACL grants any capability on some path
// at or below prefix ("secret/"). The core uses it to decide whether a
// caller may learn that a mount exists (sys/internal/ui/mounts). For "+"
// patterns only the literal text before the first wildcard is compared, so
// the answer may be generous there: it reveals a mount, never data.
func (a *ACL) HasAccessUnder(prefix string) bool {
	if a == nil {
		return false
	}
	if a.root {
		return true
	}
	for key, p := range a.exact {
		if p.caps.grants() && strings.HasPrefix(key, prefix) {
			return true
		}
	}
	for _, g := range a.globs {
		if !g.caps.grants() {
			continue
		}
		stem := g.pat.stem
		if g.pat.kind == segmentPattern {
			stem = g.pat.key[:g.pat.firstWild]
		}
		if strings.HasPrefix(stem, prefix) || strings.HasPrefix(prefix, stem) {
			return true
		}
	}
	return false
}
