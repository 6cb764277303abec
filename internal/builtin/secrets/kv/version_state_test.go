package kv

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// TestLiveVersionWithoutData checks that a version the metadata calls live
// but whose data entry is gone is an internal error for every reader of
// version data (data/, subkeys/, and a patch), not a "not found".
func TestLiveVersionWithoutData(t *testing.T) {
	e := newV2(t)
	e.put("k", map[string]any{"a": "b"})
	if err := e.storage.Delete(context.Background(), versionKey("k", 1)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		op   logical.Operation
		path string
		data map[string]any
	}{
		{logical.ReadOperation, "data/k", nil},
		{logical.ReadOperation, "subkeys/k", nil},
		{logical.PatchOperation, "data/k", map[string]any{"data": map[string]any{"a": "c"}}},
	} {
		resp, err := e.do(c.op, c.path, c.data)
		if got := statusOf(c.op, resp, err); got != http.StatusInternalServerError {
			t.Errorf("%s %s: status %d, want 500 (resp %s)", c.op, c.path, got, dump(resp))
		}
		if err == nil || !strings.Contains(err.Error(), "version 1 of a secret has metadata but no data") {
			t.Errorf("%s %s: err %v", c.op, c.path, err)
		}
	}
}

// TestDeleteKeepsFirstDeletionTime checks that deleting an already deleted
// or destroyed version, by delete/ or by deleting data/, changes nothing.
func TestDeleteKeepsFirstDeletionTime(t *testing.T) {
	e := newV2(t)
	e.put("k", map[string]any{"i": 1})
	e.put("k", map[string]any{"i": 2})
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "destroy/k", map[string]any{"versions": []any{1}})
	e.mustDo(http.StatusNoContent, logical.DeleteOperation, "data/k", nil)
	before := e.snapshot()

	e.clock.Advance(time.Hour)
	e.mustDo(http.StatusNoContent, logical.DeleteOperation, "data/k", nil)
	e.mustDo(http.StatusNoContent, logical.UpdateOperation, "delete/k", map[string]any{"versions": []any{1, 2, 2}})
	e.assertUnchanged(before)
	v2 := e.metadata("k")["versions"].(map[string]any)["2"].(map[string]any)
	if v2["deletion_time"] != "2024-05-06T07:08:09.123456789Z" {
		t.Errorf("deletion_time %v, want the first delete's", v2["deletion_time"])
	}
}
