package token

import "testing"

// BenchmarkLookup compares a request's token lookup: a service token is
// read from the entry cache, a batch token is opened (AES-GCM) and decoded
// every time, and a non-orphan one also looks up its parent.
func BenchmarkLookup(b *testing.B) {
	h := newBatchHarness(b)
	h.store.useCache = true
	service, _ := h.rootCreate(map[string]any{"policies": "a", "ttl": "1h"})
	orphan, _ := h.rootCreate(map[string]any{"type": "batch", "policies": "a", "ttl": "1h", "no_parent": true})
	child, _ := h.rootCreate(map[string]any{"type": "batch", "policies": "a", "ttl": "1h"})
	for name, tok := range map[string]string{"service": service, "batch-orphan": orphan, "batch-child": child} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if e, err := h.store.Lookup(h.ctx, tok); err != nil || e == nil {
					b.Fatal(e, err)
				}
			}
		})
	}
}
