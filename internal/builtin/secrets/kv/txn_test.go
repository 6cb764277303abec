package kv

import (
	"context"
	"fmt"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

// TestWritePaths: with and without storage transactions, writes version,
// trim and read back the same way.
func TestWritePaths(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(fmt.Sprintf("plain=%v", plain), func(t *testing.T) {
			e := newV2(t)
			e.plain = plain
			e.mustDo(204, logical.UpdateOperation, "metadata/app", map[string]any{"max_versions": 3})
			for i := 1; i <= 5; i++ {
				e.mustDo(200, logical.UpdateOperation, "data/app", map[string]any{"data": map[string]any{"n": i}})
			}
			resp := e.mustDo(200, logical.ReadOperation, "data/app", nil)
			if got := fmt.Sprint(resp.Data["data"].(map[string]any)["n"]); got != "5" {
				t.Fatalf("latest = %v", got)
			}
			// Versions 1 and 2 were trimmed from storage too.
			keys, err := e.storage.List(context.Background(), versionDir("app"))
			if err != nil || len(keys) != 3 {
				t.Fatalf("stored versions %v, %v; want 3", keys, err)
			}
			e.mustDo(404, logical.ReadOperation, "data/app", map[string]any{"version": "1"})
		})
	}
}
