package format

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/vault/api"
)

// Table aligns rows into columns separated by four spaces, inserts a "---"
// underline below the first (header) row, and prints empty cells as "n/a",
// matching the layout of Vault's tables. The result has no trailing newline.
func Table(rows [][]string) string {
	if len(rows) == 0 {
		return ""
	}
	underline := make([]string, len(rows[0]))
	for i, h := range rows[0] {
		underline[i] = strings.Repeat("-", len(strings.TrimSpace(h)))
	}
	all := make([][]string, 0, len(rows)+1)
	all = append(all, rows[0], underline)
	all = append(all, rows[1:]...)
	return Columns(all)
}

// Columns aligns rows like Table but without a header underline.
func Columns(rows [][]string) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 4, ' ', tabwriter.StripEscape)
	for _, row := range rows {
		for i, cell := range row {
			if i > 0 {
				_, _ = tw.Write([]byte{'\t'})
			}
			_, _ = tw.Write([]byte(escapeCell(cell)))
		}
		_, _ = tw.Write([]byte{'\n'})
	}
	_ = tw.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

// escapeCell trims a cell, shows an empty one as "n/a", and brackets it in
// tabwriter escapes so tabs or newlines inside a value don't split columns.
func escapeCell(cell string) string {
	cell = strings.TrimSpace(cell)
	if cell == "" {
		return "n/a"
	}
	cell = strings.ReplaceAll(cell, string([]byte{tabwriter.Escape}), "\uFFFD")
	esc := string([]byte{tabwriter.Escape})
	return esc + cell + esc
}

// SecretRows are the Key/Value rows (header first) Vault prints for a
// secret: lease or refresh_interval, token fields, wrapping fields, then the
// data keys in sorted order. It returns nil when there is nothing to print.
func SecretRows(s *api.Secret) [][]string {
	if s == nil {
		return nil
	}
	var out [][]string
	add := func(k string, v any) { out = append(out, []string{k, fmt.Sprintf("%v", v)}) }
	if s.LeaseDuration > 0 {
		if s.LeaseID != "" {
			add("lease_id", s.LeaseID)
			add("lease_duration", HumanDurationValue(s.LeaseDuration))
			add("lease_renewable", s.Renewable)
		} else {
			add("refresh_interval", HumanDurationValue(s.LeaseDuration))
		}
	}
	if a := s.Auth; a != nil {
		add("token", a.ClientToken)
		add("token_accessor", a.Accessor)
		if a.LeaseDuration == 0 {
			add("token_duration", "∞")
		} else {
			add("token_duration", HumanDurationValue(a.LeaseDuration))
		}
		add("token_renewable", a.Renewable)
		add("token_policies", fmt.Sprintf("%q", nonNil(a.TokenPolicies)))
		add("identity_policies", fmt.Sprintf("%q", nonNil(a.IdentityPolicies)))
		add("policies", fmt.Sprintf("%q", nonNil(a.Policies)))
		for _, k := range sortedKeys(a.Metadata) {
			add("token_meta_"+k, a.Metadata[k])
		}
	}
	if w := s.WrapInfo; w != nil {
		add("wrapping_token:", w.Token)
		add("wrapping_accessor:", w.Accessor)
		add("wrapping_token_ttl:", HumanDurationValue(w.TTL))
		add("wrapping_token_creation_time:", w.CreationTime.String())
		add("wrapping_token_creation_path:", w.CreationPath)
		if w.WrappedAccessor != "" {
			add("wrapped_accessor:", w.WrappedAccessor)
		}
	}
	out = append(out, MapRows(s.Data)[min(1, len(s.Data)):]...)
	if len(out) == 0 {
		return nil
	}
	return append([][]string{{"Key", "Value"}}, out...)
}

// MapRows are the Key/Value rows (header first) for a map, keys sorted and
// duration-looking values humanised. It returns nil for an empty map.
func MapRows(data map[string]any) [][]string {
	if len(data) == 0 {
		return nil
	}
	out := [][]string{{"Key", "Value"}}
	for _, k := range sortedKeys(data) {
		v := data[k]
		if LooksLikeDuration(k) {
			v = HumanDurationValue(v)
		}
		out = append(out, []string{k, fmt.Sprintf("%v", v)})
	}
	return out
}

// ListRows are the rows of a key listing: a "Keys" header and the sorted
// keys. When info (a LIST response's key_info) is given, its fields become
// extra columns, "n/a" where a key lacks one.
func ListRows(keys []string, info map[string]any) [][]string {
	keys = append([]string(nil), keys...)
	sort.Strings(keys)
	seen := map[string]bool{}
	for _, k := range keys {
		if m, ok := info[k].(map[string]any); ok {
			for h := range m {
				seen[h] = true
			}
		}
	}
	headers := sortedKeys(seen)
	out := [][]string{append([]string{"Keys"}, headers...)}
	for _, k := range keys {
		row := []string{k}
		m, _ := info[k].(map[string]any)
		for _, h := range headers {
			v, ok := m[h]
			if !ok {
				row = append(row, "n/a")
				continue
			}
			if LooksLikeDuration(h) {
				v = HumanDurationValue(v)
			}
			row = append(row, fmt.Sprintf("%v", v))
		}
		out = append(out, row)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
