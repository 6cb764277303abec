package transit

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/strongbox/strongbox/internal/logical"
)

// item is one input of a request: the request's own fields, or one entry
// of its batch_input.
type item map[string]any

func (it item) str(k string) (string, error) {
	switch v := it[k].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	}
	return "", errBadInput("%s: expected a string", k)
}

// b64 decodes a base64 field; empty is nil.
func (it item) b64(k string) ([]byte, error) {
	s, err := it.str(k)
	if err != nil || s == "" {
		return nil, err
	}
	out, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errBadInput("failed to base64-decode %s", k)
	}
	return out, nil
}

func (it item) num(k string) (int, error) {
	switch v := it[k].(type) {
	case nil:
		return 0, nil
	case json.Number:
		n, err := strconv.Atoi(v.String())
		if err != nil {
			return 0, errBadInput("%s: expected an integer", k)
		}
		return n, nil
	case float64:
		if v != float64(int(v)) {
			return 0, errBadInput("%s: expected an integer", k)
		}
		return int(v), nil
	case int:
		return v, nil
	case string:
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, errBadInput("%s: expected an integer", k)
		}
		return n, nil
	}
	return 0, errBadInput("%s: expected an integer", k)
}

// items returns the request's inputs: batch_input's entries, or the
// request itself (single). fields are the per-item keys copied from the
// top level of a single request.
func items(d *logical.FieldData, fields ...string) ([]item, bool, error) {
	raw, ok := d.Raw["batch_input"]
	if ok && raw != nil {
		list, isList := raw.([]any)
		if !isList {
			return nil, false, errBadInput("batch_input must be a list of objects")
		}
		if len(list) == 0 {
			return nil, false, errBadInput("missing batch input to process")
		}
		out := make([]item, 0, len(list))
		for i, e := range list {
			m, isMap := e.(map[string]any)
			if !isMap {
				return nil, false, errBadInput("batch_input[%d] is not an object", i)
			}
			out = append(out, item(m))
		}
		return out, true, nil
	}
	one := item{}
	for _, f := range fields {
		if v, ok := d.Raw[f]; ok {
			one[f] = v
		}
	}
	return []item{one}, false, nil
}

// runItems applies fn to every item, keeping order and each item's
// reference; a user error is that item's "error", an internal error
// fails the request.
func runItems(in []item, batch bool, fn func(item) (map[string]any, error)) (*logical.Response, error) {
	results := make([]map[string]any, len(in))
	var ok, failed int
	for i, it := range in {
		res, err := fn(it)
		if err != nil {
			code, msg := logical.StatusOf(err)
			if code >= 500 {
				return nil, err
			}
			if !batch {
				return nil, err
			}
			res = map[string]any{"error": msg}
			failed++
		} else {
			ok++
		}
		if ref, has := it["reference"]; has && batch {
			res["reference"] = ref
		}
		results[i] = res
	}
	if !batch {
		return &logical.Response{Data: results[0]}, nil
	}
	resp := &logical.Response{Data: map[string]any{"batch_results": results}}
	if ok == 0 && failed > 0 {
		// Every item failed on its input: 400, with the results.
		return resp, logical.Errorf(http.StatusBadRequest, "%s", results[0]["error"])
	}
	return resp, nil
}

// partialFailure applies partial_failure_response_code to a batch
// response with some failed items.
func partialFailure(d *logical.FieldData, resp *logical.Response, err error) (*logical.Response, error) {
	if err != nil || resp == nil {
		return resp, err
	}
	code, ok := d.GetOk("partial_failure_response_code")
	if !ok || code.(int) == 0 {
		return resp, nil
	}
	results, _ := resp.Data["batch_results"].([]map[string]any)
	for _, r := range results {
		if _, failed := r["error"]; failed {
			c := code.(int)
			if c < 400 || c >= 600 {
				return nil, errBadInput("partial_failure_response_code must be a 4xx or 5xx status")
			}
			return resp, logical.Errorf(c, "%s", r["error"])
		}
	}
	return resp, nil
}

var errNotFound = errors.New("encryption key not found")

func keyNotFound(name string) error {
	return errBadInput("%v: %s", errNotFound, name)
}
