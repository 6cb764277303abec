package logical

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// FieldType is the type of a request field.
type FieldType int

// Field types, named as Vault's framework names them.
const (
	TypeString FieldType = iota + 1
	TypeLowerCaseString
	TypeInt
	TypeInt64
	TypeBool
	// TypeDurationSecond accepts "1h", "30s" or plain seconds; yields int seconds.
	TypeDurationSecond
	TypeMap
	// TypeStringSlice accepts a JSON array or a comma-separated string.
	TypeStringSlice
	// TypeCommaStringSlice is TypeStringSlice, trimmed of blanks and empties.
	TypeCommaStringSlice
	// TypeKVPairs accepts a map of strings or "k=v" strings; yields map[string]string.
	TypeKVPairs
	// TypeRaw passes the value through unchanged.
	TypeRaw
)

// FieldSchema describes one field.
type FieldSchema struct {
	Type        FieldType
	Default     any
	Description string
	Required    bool
}

// FieldData is the request's data interpreted through a path's schema.
type FieldData struct {
	Raw    map[string]any
	Schema map[string]*FieldSchema
}

// Validate converts every present field, so bad input fails before any
// handler runs (and before anything is written). A JSON null counts as not
// given: clients such as hvac send every optional parameter, null when unset.
func (d *FieldData) Validate() error {
	for k, s := range d.Schema {
		v, ok := d.Raw[k]
		if !ok || v == nil {
			if s.Required {
				return BadRequest("missing required field %q", k)
			}
			continue
		}
		if _, err := convert(v, s.Type); err != nil {
			return BadRequest("field %q: %v", k, err)
		}
	}
	return nil
}

// GetOk returns the converted field and whether the client sent it.
func (d *FieldData) GetOk(k string) (any, bool) {
	s, ok := d.Schema[k]
	if !ok {
		panic(fmt.Sprintf("logical: field %q not in schema", k))
	}
	v, ok := d.Raw[k]
	if !ok || v == nil {
		return d.defaultOf(s), false
	}
	out, err := convert(v, s.Type)
	if err != nil {
		return d.defaultOf(s), false
	}
	return out, true
}

// Get returns the converted field, or its default (the zero value of its type
// when no default is set).
func (d *FieldData) Get(k string) any {
	v, _ := d.GetOk(k)
	return v
}

func (d *FieldData) defaultOf(s *FieldSchema) any {
	if s.Default != nil {
		out, err := convert(s.Default, s.Type)
		if err == nil {
			return out
		}
	}
	switch s.Type {
	case TypeString, TypeLowerCaseString:
		return ""
	case TypeInt, TypeDurationSecond:
		return 0
	case TypeInt64:
		return int64(0)
	case TypeBool:
		return false
	case TypeMap:
		return map[string]any{}
	case TypeStringSlice, TypeCommaStringSlice:
		return []string{}
	case TypeKVPairs:
		return map[string]string{}
	}
	return nil
}

func convert(v any, t FieldType) (any, error) {
	switch t {
	case TypeRaw:
		return v, nil
	case TypeString:
		return toString(v)
	case TypeLowerCaseString:
		s, err := toString(v)
		return strings.ToLower(s), err
	case TypeInt:
		i, err := toInt64(v)
		if err != nil {
			return nil, err
		}
		if i > math.MaxInt32 || i < math.MinInt32 {
			return nil, fmt.Errorf("%d out of range", i)
		}
		return int(i), nil
	case TypeInt64:
		return toInt64(v)
	case TypeBool:
		return toBool(v)
	case TypeDurationSecond:
		d, err := ParseDuration(v)
		if err != nil {
			return nil, err
		}
		return int(d / time.Second), nil
	case TypeMap:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("expected a map, got %T", v)
		}
		return m, nil
	case TypeStringSlice, TypeCommaStringSlice:
		return toStringSlice(v, t == TypeCommaStringSlice)
	case TypeKVPairs:
		return toKVPairs(v)
	}
	return nil, fmt.Errorf("unknown field type %d", t)
}

func toString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("expected a string, got %T", v)
}

func toInt64(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case float64:
		if x != math.Trunc(x) {
			return 0, fmt.Errorf("expected an integer, got %v", x)
		}
		return int64(x), nil
	case json.Number:
		return x.Int64()
	case string:
		if x == "" {
			return 0, nil
		}
		return strconv.ParseInt(x, 10, 64)
	}
	return 0, fmt.Errorf("expected an integer, got %T", v)
}

func toBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		if x == "" {
			return false, nil
		}
		return strconv.ParseBool(x)
	case json.Number:
		i, err := x.Int64()
		return i != 0, err
	case int:
		return x != 0, nil
	case float64:
		return x != 0, nil
	}
	return false, fmt.Errorf("expected a boolean, got %T", v)
}

// ParseDuration accepts a Go duration string ("72h", "30m"), an integer
// number of seconds as a number or string, or a number with a unit "d".
// A number of seconds or days past what a time.Duration holds (about 292
// years) is an error, never a wrapped-around value.
func ParseDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case time.Duration:
		return x, nil
	case int:
		return seconds(int64(x), v)
	case int64:
		return seconds(x, v)
	case float64:
		return floatSeconds(x, v)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return seconds(i, v)
		}
		f, err := x.Float64()
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", x)
		}
		return floatSeconds(f, v)
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return 0, nil
		}
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			if i < 0 {
				return 0, fmt.Errorf("invalid duration %q: negative", x)
			}
			return seconds(i, v)
		}
		if strings.HasSuffix(s, "d") {
			if i, err := strconv.ParseInt(strings.TrimSuffix(s, "d"), 10, 64); err == nil && i >= 0 {
				if i > maxDurationSeconds/(24*60*60) {
					return 0, fmt.Errorf("invalid duration %q: too long", x)
				}
				return time.Duration(i) * 24 * time.Hour, nil
			}
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", x)
		}
		if d < 0 {
			return 0, fmt.Errorf("invalid duration %q: negative", x)
		}
		return d, nil
	}
	return 0, fmt.Errorf("invalid duration of type %T", v)
}

// maxDurationSeconds is the most whole seconds a time.Duration holds.
const maxDurationSeconds = math.MaxInt64 / int64(time.Second)

func seconds(n int64, v any) (time.Duration, error) {
	if n > maxDurationSeconds || n < -maxDurationSeconds {
		return 0, fmt.Errorf("invalid duration %v: too long", v)
	}
	return time.Duration(n) * time.Second, nil
}

func floatSeconds(f float64, v any) (time.Duration, error) {
	if math.IsNaN(f) || math.Abs(f) > float64(maxDurationSeconds) {
		return 0, fmt.Errorf("invalid duration %v: too long", v)
	}
	return time.Duration(f * float64(time.Second)), nil
}

func toStringSlice(v any, trim bool) ([]string, error) {
	var out []string
	switch x := v.(type) {
	case nil:
		return []string{}, nil
	case string:
		if x == "" {
			return []string{}, nil
		}
		out = strings.Split(x, ",")
	case []string:
		out = append(out, x...)
	case []any:
		for _, e := range x {
			s, err := toString(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
	default:
		return nil, fmt.Errorf("expected a list of strings, got %T", v)
	}
	if trim {
		kept := out[:0]
		for _, s := range out {
			if s = strings.TrimSpace(s); s != "" {
				kept = append(kept, s)
			}
		}
		out = kept
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

func toKVPairs(v any) (map[string]string, error) {
	out := map[string]string{}
	switch x := v.(type) {
	case nil:
		return out, nil
	case map[string]any:
		for k, e := range x {
			s, err := toString(e)
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", k, err)
			}
			out[k] = s
		}
		return out, nil
	case map[string]string:
		for k, e := range x {
			out[k] = e
		}
		return out, nil
	}
	list, err := toStringSlice(v, true)
	if err != nil {
		return nil, err
	}
	for _, kv := range list {
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("expected key=value, got %q", kv)
		}
		out[k] = val
	}
	return out, nil
}

// SortedKeys returns the map's keys in order; handy for stable output.
func SortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
