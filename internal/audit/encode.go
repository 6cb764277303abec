package audit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// The audit line is written by hand rather than through encoding/json:
// reflection and sorting map keys through reflect dominated the cost of an
// entry, and hashing while writing avoids deep-copying the data just to
// replace its strings. The output is byte for byte what encoding/json gives
// for the entry types (tests check that), HTML escaping included.

// dataEncoder writes request or response data, replacing each string by
// its HMAC under key unless key is nil (log_raw) or the nearest enclosing
// map key is in nonHMAC (Vault's audit_non_hmac_*_keys, applied at every
// depth). Keys, numbers, booleans and nulls are written as they are.
type dataEncoder struct {
	key     *saltKey
	nonHMAC []string
}

// str writes s, hashed unless exempt.
func (d *dataEncoder) str(b []byte, s, key string) []byte {
	if d.key != nil && !(len(d.nonHMAC) > 0 && slices.Contains(d.nonHMAC, key)) {
		return d.key.appendHMAC(b, s)
	}
	return appendString(b, s)
}

// value appends v, which sits under map key key.
func (d *dataEncoder) value(b []byte, v any, key string) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return d.str(b, t, key), nil
	case bool:
		return strconv.AppendBool(b, t), nil
	case json.Number:
		return appendNumber(b, t)
	case float64:
		return appendFloat(b, t, 64)
	case float32:
		return appendFloat(b, float64(t), 32)
	case int:
		return strconv.AppendInt(b, int64(t), 10), nil
	case int8:
		return strconv.AppendInt(b, int64(t), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(t), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(t), 10), nil
	case int64:
		return strconv.AppendInt(b, t, 10), nil
	case time.Duration:
		return strconv.AppendInt(b, int64(t), 10), nil
	case uint:
		return strconv.AppendUint(b, uint64(t), 10), nil
	case uint8:
		return strconv.AppendUint(b, uint64(t), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(t), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(t), 10), nil
	case uint64:
		return strconv.AppendUint(b, t, 10), nil
	case time.Time:
		// In clear even when hashing, as Vault does: a time says when, not what.
		return appendString(b, t.Format(time.RFC3339Nano)), nil
	case []byte:
		if d.key != nil {
			return d.str(b, string(t), key), nil
		}
		if t == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, t)
		return append(b, '"'), nil
	case map[string]any:
		if t == nil {
			return append(b, "null"...), nil
		}
		return d.object(b, t)
	case []any:
		if t == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = d.value(b, e, key); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case []string:
		if t == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			b = d.str(b, e, key)
		}
		return append(b, ']'), nil
	case map[string]string:
		if t == nil {
			return append(b, "null"...), nil
		}
		var arr [16]string
		b = append(b, '{')
		for i, k := range sortedStringKeysInto(arr[:0], t) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = d.str(b, t[k], k)
		}
		return append(b, '}'), nil
	default:
		return d.generic(b, v, key)
	}
}

// object appends m with its keys sorted, as encoding/json does.
func (d *dataEncoder) object(b []byte, m map[string]any) ([]byte, error) {
	var arr [16]string
	b = append(b, '{')
	for i, k := range sortedKeysInto(arr[:0], m) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		var err error
		if b, err = d.value(b, m[k], k); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// generic handles any other type through encoding/json: written as is when
// raw, else decoded back into plain values (numbers kept exact) and hashed.
func (d *dataEncoder) generic(b []byte, v any, key string) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("audit: encode %T under %q: %w", v, key, err)
	}
	if d.key == nil {
		return append(b, raw...), nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var plain any
	if err := dec.Decode(&plain); err != nil {
		return nil, fmt.Errorf("audit: decode %T under %q: %w", v, key, err)
	}
	return d.value(b, plain, key)
}

// sortedKeysInto appends the keys of m to keys, sorted; callers pass a
// stack array so small maps sort without allocating.
func sortedKeysInto(keys []string, m map[string]any) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedStringKeysInto(keys []string, m map[string]string) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var errBadNumber = errors.New("audit: invalid json.Number")

// appendNumber writes n as encoding/json does ("" is 0; invalid fails).
func appendNumber(b []byte, n json.Number) ([]byte, error) {
	s := n.String()
	if s == "" {
		return append(b, '0'), nil
	}
	if !isJSONNumber(s) {
		return nil, fmt.Errorf("%w: %q", errBadNumber, s)
	}
	return append(b, s...), nil
}

// isJSONNumber reports whether s is a JSON number literal.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

// appendFloat writes f exactly as encoding/json does; NaN and infinities
// have no JSON form and fail.
func appendFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("audit: unsupported value %v", f)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) ||
			bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

const hexDigits = "0123456789abcdef"

// jsonSafe[c] reports whether ASCII byte c is written as itself inside a
// JSON string with HTML escaping on. Read-only after initialisation.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString writes s as a JSON string the way encoding/json does with
// HTML escaping on: <, > and & as \u003c..., U+2028 and U+2029 escaped,
// invalid UTF-8 replaced by U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
