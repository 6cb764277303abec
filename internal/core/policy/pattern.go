package policy

import (
	"strings"
)

// patternKind tells how a path pattern matches.
type patternKind int

const (
	// exactPattern matches one path.
	exactPattern patternKind = iota
	// prefixPattern ends in "*" and has no "+": it matches every path that
	// starts with the text before the "*".
	prefixPattern
	// segmentPattern has "+" segments, each matching exactly one path
	// segment; with a trailing "*" its last segment matches by prefix and
	// any further segments are allowed.
	segmentPattern
)

// pattern is a compiled policy path.
type pattern struct {
	// key identifies the pattern: identical keys from several policies are
	// merged. It is the path as written, leading "/" removed.
	key  string
	kind patternKind
	// stem is the path without its trailing "*" (if any).
	stem string
	// glob is true when the path ends in "*".
	glob bool
	// segs is stem split on "/" (segmentPattern only).
	segs []string
	// firstWild is the index of the first "+" or "*" in key, wildcards the
	// number of "+" segments: inputs to Vault's priority order.
	firstWild int
	wildcards int
}

// compilePattern validates a policy path and compiles it. The error message
// is the part after `path "...":`.
func compilePattern(path string) (pattern, string) {
	path = strings.TrimPrefix(path, "/")
	if path == "" {
		return pattern{}, "path must not be empty"
	}
	if i := strings.IndexByte(path, '*'); i >= 0 && i != len(path)-1 {
		return pattern{}, "the glob \"*\" is only allowed as the last character of a path"
	}
	p := pattern{key: path, stem: strings.TrimSuffix(path, "*")}
	p.glob = len(p.stem) != len(path)
	for _, seg := range strings.Split(path, "/") {
		switch {
		case seg == "+":
			p.wildcards++
		case strings.Contains(seg, "+"):
			return pattern{}, "the wildcard \"+\" must be a whole path segment (like \"secret/+/config\")"
		}
	}
	switch {
	case p.wildcards > 0:
		p.kind = segmentPattern
		p.segs = strings.Split(p.stem, "/")
		p.firstWild = strings.IndexByte(path, '+')
	case p.glob:
		p.kind = prefixPattern
		p.firstWild = len(p.stem)
	default:
		p.kind = exactPattern
		p.firstWild = len(path)
	}
	return p, ""
}

// matches reports whether a non-exact pattern matches a request path.
func (p *pattern) matches(path string) bool {
	switch p.kind {
	case exactPattern:
		return path == p.key
	case prefixPattern:
		return strings.HasPrefix(path, p.stem)
	}
	parts := strings.Split(path, "/")
	if len(parts) < len(p.segs) || (!p.glob && len(parts) != len(p.segs)) {
		return false
	}
	last := len(p.segs) - 1
	for i, seg := range p.segs {
		switch {
		case seg == "+", seg == parts[i]:
		case p.glob && i == last && strings.HasPrefix(parts[i], seg):
		default:
			return false
		}
	}
	return true
}

// lowerPriority reports whether a has lower priority than b when both match
// a path. It implements the rules of Vault's "Priority matching" docs, in
// order:
//
//  1. the pattern whose first "+" or "*" comes earlier is lower;
//  2. a pattern ending in "*" is lower than one that does not;
//  3. the pattern with more "+" segments is lower;
//  4. the shorter pattern (without its trailing "*") is lower;
//  5. the lexicographically smaller pattern is lower.
//
// Exact patterns never get here: an exact match always wins.
func lowerPriority(a, b *pattern) bool {
	if a.firstWild != b.firstWild {
		return a.firstWild < b.firstWild
	}
	if a.glob != b.glob {
		return a.glob
	}
	if a.wildcards != b.wildcards {
		return a.wildcards > b.wildcards
	}
	if len(a.stem) != len(b.stem) {
		return len(a.stem) < len(b.stem)
	}
	return a.stem < b.stem
}
