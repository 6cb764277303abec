package kv

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// firstValue unwraps a query parameter given more than once (the HTTP layer
// hands those over as a []string) to its first value. JSON arrays ([]any)
// are left alone: they are not a valid scalar.
func firstValue(v any) any {
	if x, ok := v.([]string); ok && len(x) > 0 {
		return x[0]
	}
	return v
}

// parseInt reads an integer from JSON (number), a query string, or a Go
// integer. Fractions, overflow and other types are errors.
func parseInt(v any) (int64, error) {
	switch x := firstValue(v).(type) {
	case nil:
		return 0, nil
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case uint64:
		if x > math.MaxInt64 {
			return 0, fmt.Errorf("%d out of range", x)
		}
		return int64(x), nil
	case float64:
		if x != math.Trunc(x) || x > math.MaxInt64 || x < math.MinInt64 {
			return 0, fmt.Errorf("expected an integer, got %v", x)
		}
		return int64(x), nil
	case json.Number:
		return strconv.ParseInt(x.String(), 10, 64)
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return 0, nil
		}
		return strconv.ParseInt(s, 10, 64)
	}
	return 0, fmt.Errorf("expected an integer, got %T", v)
}

// intParam reads an optional non-negative integer field such as "version"
// or "depth"; absent means 0.
func intParam(d *logical.FieldData, name string) (int64, error) {
	raw, ok := d.Raw[name]
	if !ok {
		return 0, nil
	}
	n, err := parseInt(raw)
	if err != nil {
		return 0, logical.BadRequest("invalid %s: %v", name, err)
	}
	if n < 0 {
		return 0, logical.BadRequest("invalid %s: must be a non-negative integer, got %d", name, n)
	}
	return n, nil
}

// parseVersions reads the "versions" parameter of delete, undelete and
// destroy: a JSON list of numbers or numeric strings, a comma-separated
// string, or a single number.
func parseVersions(v any) ([]uint64, error) {
	var items []any
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []any:
		items = x
	case []string:
		for _, s := range x {
			items = append(items, s)
		}
	case []int:
		for _, n := range x {
			items = append(items, n)
		}
	case string:
		for _, s := range strings.Split(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
	default:
		items = []any{x}
	}
	out := make([]uint64, 0, len(items))
	for _, it := range items {
		if s, ok := it.(string); ok && strings.Contains(s, ",") {
			more, err := parseVersions(s)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
			continue
		}
		n, err := parseInt(it)
		if err != nil {
			return nil, fmt.Errorf("invalid version %v: %w", it, err)
		}
		if n < 0 {
			return nil, fmt.Errorf("invalid version %d: must not be negative", n)
		}
		out = append(out, uint64(n))
	}
	return out, nil
}

// parseBool reads a boolean from JSON or a query string.
func parseBool(v any) (bool, error) {
	switch x := firstValue(v).(type) {
	case nil:
		return false, nil
	case bool:
		return x, nil
	case string:
		if x == "" {
			return false, nil
		}
		return strconv.ParseBool(x)
	case json.Number, float64, int, int64:
		n, err := parseInt(x)
		return n != 0, err
	}
	return false, fmt.Errorf("expected a boolean, got %T", v)
}

// parseSignedDuration reads a duration that may be negative ("-1s" disables
// delete_version_after in the engine config). Whole seconds, like Vault.
func parseSignedDuration(v any) (time.Duration, error) {
	v = firstValue(v)
	neg := false
	switch x := v.(type) {
	case string:
		s := strings.TrimSpace(x)
		if strings.HasPrefix(s, "-") {
			neg, v = true, strings.TrimPrefix(s, "-")
		}
	case json.Number:
		if strings.HasPrefix(x.String(), "-") {
			neg, v = true, json.Number(strings.TrimPrefix(x.String(), "-"))
		}
	case float64:
		if x < 0 {
			neg, v = true, -x
		}
	case int:
		if x < 0 {
			neg, v = true, -x
		}
	case int64:
		if x < 0 {
			neg, v = true, -x
		}
	}
	d, err := logical.ParseDuration(v)
	if err != nil {
		return 0, err
	}
	d = d.Truncate(time.Second)
	if neg {
		d = -d
	}
	return d, nil
}

// parseDurationNonNeg is parseSignedDuration that rejects negatives.
func parseDurationNonNeg(v any) (time.Duration, error) {
	d, err := parseSignedDuration(v)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, fmt.Errorf("duration must not be negative, got %s", d)
	}
	return d, nil
}

// objectParam returns a field that must be a JSON object; ok is false when it
// is absent. null counts as absent.
func objectParam(d *logical.FieldData, name string) (map[string]any, bool, error) {
	raw, ok := d.Raw[name]
	if !ok || raw == nil {
		return nil, false, nil
	}
	m, isMap := raw.(map[string]any)
	if !isMap {
		return nil, false, logical.BadRequest("%s must be a JSON object, got %s", name, jsonKind(raw))
	}
	return m, true, nil
}

// jsonKind names a decoded JSON value's type the way a user thinks of it.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case []any, []string:
		return "array"
	case map[string]any:
		return "object"
	case json.Number, float64, int, int64:
		return "number"
	}
	return fmt.Sprintf("%T", v)
}
