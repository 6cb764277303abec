package policy

import "slices"

// Union merges two policy lists (a token's and its identity's), sorted and
// deduplicated.
func Union(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
