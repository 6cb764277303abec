package physical

import (
	"sort"
	"strings"
)

// ChildrenOf turns the full keys under prefix into List's answer: immediate
// children, folders once with a trailing slash, sorted. Backends that scan a
// sorted keyspace share it so that List behaves the same everywhere.
func ChildrenOf(prefix string, keys []string) []string {
	seen := make(map[string]struct{}, len(keys))
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		rest := k[len(prefix):]
		if rest == "" {
			continue
		}
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i+1]
		}
		if _, ok := seen[rest]; ok {
			continue
		}
		seen[rest] = struct{}{}
		out = append(out, rest)
	}
	sort.Strings(out)
	return out
}
