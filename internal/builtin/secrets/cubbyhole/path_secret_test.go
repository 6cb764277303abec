package cubbyhole

import (
	"context"
	"net/http"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

// TestCubbyhole drives the engine through the framework as the core does,
// on an in-memory view: write, read, list, delete, and bad input answered
// 400 with nothing written.
func TestCubbyhole(t *testing.T) {
	b, err := Factory(context.Background(), &logical.BackendConfig{})
	if err != nil {
		t.Fatal(err)
	}
	storage := logical.NewInmemStorage()
	do := func(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
		return b.HandleRequest(context.Background(), &logical.Request{Operation: op, Path: path, Data: data, Storage: storage})
	}
	cases := []struct {
		name   string
		op     logical.Operation
		path   string
		data   map[string]any
		status int            // 0: success
		want   map[string]any // response data on success (nil: no response)
	}{
		{name: "write", op: logical.UpdateOperation, path: "app/db", data: map[string]any{"pw": "x"}},
		{name: "read", op: logical.ReadOperation, path: "app/db", want: map[string]any{"pw": "x"}},
		{name: "list", op: logical.ListOperation, path: "app", want: map[string]any{"keys": []string{"db"}}},
		{name: "write without data", op: logical.UpdateOperation, path: "app/empty", status: http.StatusBadRequest},
		{name: "write to a folder", op: logical.UpdateOperation, path: "app/", data: map[string]any{"a": "b"}, status: http.StatusBadRequest},
		{name: "nothing written by the bad writes", op: logical.ReadOperation, path: "app/empty"},
		{name: "delete", op: logical.DeleteOperation, path: "app/db"},
		{name: "read after delete", op: logical.ReadOperation, path: "app/db"},
		{name: "a renew has no secret type to go to", op: logical.RenewOperation, path: "app/db", status: http.StatusBadRequest},
		{name: "rollback has nothing to do", op: logical.RollbackOperation},
	}
	for _, tc := range cases {
		resp, err := do(tc.op, tc.path, tc.data)
		if tc.status != 0 {
			if st, _ := logical.StatusOf(err); st != tc.status {
				t.Fatalf("%s: status %d (%v), want %d", tc.name, st, err, tc.status)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		switch {
		case tc.want == nil && resp != nil:
			t.Fatalf("%s: response %+v, want none", tc.name, resp)
		case tc.want != nil && (resp == nil || !sameData(resp.Data, tc.want)):
			t.Fatalf("%s: response %+v, want data %v", tc.name, resp, tc.want)
		}
	}
}

func sameData(got, want map[string]any) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		switch wv := w.(type) {
		case []string:
			gv, ok := got[k].([]string)
			if !ok || len(gv) != len(wv) {
				return false
			}
			for i := range wv {
				if gv[i] != wv[i] {
					return false
				}
			}
		default:
			if got[k] != w {
				return false
			}
		}
	}
	return true
}
