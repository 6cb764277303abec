package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// dataHasher is the test oracle for dataEncoder: it returns HMAC'd deep
// copies of request and response data.
// Only string values are replaced; map keys, numbers, booleans and nulls
// are kept, so the shape of the data stays visible. A string whose nearest
// enclosing map key is in nonHMAC stays in clear (Vault's
// audit_non_hmac_*_keys semantics, applied at every depth).
type dataHasher struct {
	hmac    func(string) string
	nonHMAC []string
}

// hashMap returns a hashed copy of m; m is never modified.
func (h *dataHasher) hashMap(m map[string]any) (map[string]any, error) {
	if m == nil {
		return nil, nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		hv, err := h.value(v, k)
		if err != nil {
			return nil, err
		}
		out[k] = hv
	}
	return out, nil
}

// str hashes s unless the key that holds it is exempt.
func (h *dataHasher) str(s, key string) string {
	if len(h.nonHMAC) > 0 && slices.Contains(h.nonHMAC, key) {
		return s
	}
	return h.hmac(s)
}

// value returns a hashed copy of v, which sits under map key key. The
// common types of decoded JSON and backend responses are handled directly;
// anything else goes through a JSON round trip, which both copies it and
// turns it into those common types.
func (h *dataHasher) value(v any, key string) (any, error) {
	switch t := v.(type) {
	case nil, bool, json.Number, time.Duration,
		int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64,
		float32, float64:
		return v, nil
	case string:
		return h.str(t, key), nil
	case []byte:
		return h.str(string(t), key), nil
	case time.Time:
		// Times are written in clear, as Vault does: they say when, not what.
		return t.Format(time.RFC3339Nano), nil
	case map[string]any:
		if t == nil {
			return v, nil
		}
		out := make(map[string]any, len(t))
		for k, e := range t {
			he, err := h.value(e, k)
			if err != nil {
				return nil, err
			}
			out[k] = he
		}
		return out, nil
	case []any:
		if t == nil {
			return v, nil
		}
		out := make([]any, len(t))
		for i, e := range t {
			he, err := h.value(e, key)
			if err != nil {
				return nil, err
			}
			out[i] = he
		}
		return out, nil
	case []string:
		if t == nil {
			return v, nil
		}
		out := make([]string, len(t))
		for i, e := range t {
			out[i] = h.str(e, key)
		}
		return out, nil
	case map[string]string:
		if t == nil {
			return v, nil
		}
		out := make(map[string]string, len(t))
		for k, e := range t {
			out[k] = h.str(e, k)
		}
		return out, nil
	case []map[string]any:
		if t == nil {
			return v, nil
		}
		out := make([]any, len(t))
		for i, e := range t {
			he, err := h.value(e, key)
			if err != nil {
				return nil, err
			}
			out[i] = he
		}
		return out, nil
	case json.RawMessage:
		return h.viaJSON(t, key)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("audit: encode %T under %q: %w", v, key, err)
		}
		return h.viaJSON(b, key)
	}
}

// viaJSON decodes b (numbers kept exact) and hashes the result.
func (h *dataHasher) viaJSON(b []byte, key string) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var decoded any
	if err := dec.Decode(&decoded); err != nil {
		return nil, fmt.Errorf("audit: decode value under %q: %w", key, err)
	}
	return h.value(decoded, key)
}
