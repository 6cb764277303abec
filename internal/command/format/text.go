package format

import (
	"encoding/json"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-secure-stdlib/parseutil"
)

// MaxLineLength is the width help and warning text is wrapped at, as in Vault.
const MaxLineLength = 78

// LooksLikeDuration reports whether a response key holds a duration in
// seconds, so table output shows "768h" instead of "2764800".
func LooksLikeDuration(k string) bool {
	return k == "period" || strings.HasSuffix(k, "_period") ||
		k == "ttl" || strings.HasSuffix(k, "_ttl") ||
		k == "duration" || strings.HasSuffix(k, "_duration") ||
		k == "lease_max" || k == "ttl_max"
}

// HumanDuration prints d the way Vault does: "768h", "1h30m", "45s", "0s".
func HumanDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if idx := strings.Index(s, "h0m"); idx > 0 {
		s = s[:idx+1] + s[idx+3:]
	}
	return s
}

// HumanDurationValue turns a number of seconds (int, int64, json.Number or a
// numeric string) into HumanDuration output; other values come back as is.
func HumanDurationValue(v any) any {
	switch x := v.(type) {
	case int:
		return HumanDuration(time.Duration(x) * time.Second)
	case int64:
		return HumanDuration(time.Duration(x) * time.Second)
	case json.Number:
		if d, err := parseutil.ParseDurationSecond(x); err == nil {
			return HumanDuration(d)
		}
	}
	return v
}

// PadEqualSigns centres header in a run of "=" about totalLen wide:
// "====== Data ======".
func PadEqualSigns(header string, totalLen int) string {
	n := totalLen - (len(header) + 2)
	if n <= 0 {
		n = 4
	}
	if n%2 != 0 {
		n++
	}
	pad := strings.Repeat("=", n/2)
	return pad + " " + header + " " + pad
}

// HeaderForMap is the "== Title ==" line printed above a Key/Value table of
// data, as wide as the table's longest key plus "    Value".
func HeaderForMap(header string, data map[string]any) string {
	maxKey := 0
	for k := range data {
		if len(k) > maxKey {
			maxKey = len(k)
		}
	}
	return PadEqualSigns(header, maxKey+4+5)
}

// Wrap breaks s into lines of at most width runes with minimal raggedness
// (the square of each line's slack is minimised), the layout Vault's messages
// use. Newlines in s are treated as spaces.
func Wrap(s string, width int) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\n", " "))
	words := strings.Split(s, " ")
	n := len(words)
	if n == 0 {
		return ""
	}
	// lineLen(i, j) is the length of words[i..j] joined by single spaces.
	prefix := make([]int, n+1)
	for i, w := range words {
		prefix[i+1] = prefix[i] + utf8.RuneCountInString(w)
	}
	lineLen := func(i, j int) int { return prefix[j+1] - prefix[i] + (j - i) }

	const overlongPenalty = 100000
	cost := make([]int, n+1)
	next := make([]int, n)
	for i := n - 1; i >= 0; i-- {
		if lineLen(i, n-1) <= width {
			cost[i], next[i] = 0, n
			continue
		}
		cost[i] = math.MaxInt32
		for j := i + 1; j < n; j++ {
			slack := width - lineLen(i, j-1)
			c := slack*slack + cost[j]
			if slack < 0 {
				c += overlongPenalty
			}
			if c < cost[i] {
				cost[i], next[i] = c, j
			}
		}
	}
	var lines []string
	for i := 0; i < n; i = next[i] {
		lines = append(lines, strings.Join(words[i:next[i]], " "))
	}
	return strings.Join(lines, "\n")
}

// WrapAtLength wraps s at MaxLineLength.
func WrapAtLength(s string) string { return WrapWithPadding(s, 0) }

// WrapWithPadding wraps s at MaxLineLength-pad and indents every line by pad
// spaces.
func WrapWithPadding(s string, pad int) string {
	lines := strings.Split(Wrap(s, MaxLineLength-pad), "\n")
	indent := strings.Repeat(" ", pad)
	for i := range lines {
		lines[i] = indent + lines[i]
	}
	return strings.Join(lines, "\n")
}
