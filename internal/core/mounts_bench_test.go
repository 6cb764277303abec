package core

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// BenchmarkUnsealWithMounts reports seal+unseal time as the mount count
// grows: unseal must not grow with it beyond a small constant per mount.
func BenchmarkUnsealWithMounts(b *testing.B) {
	for _, n := range []int{1, 1000, 10000} {
		b.Run(fmt.Sprintf("mounts=%d", n), func(b *testing.B) {
			ctx := context.Background()
			c, err := New(Config{
				Physical: inmem.New(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				SecretEngines: builtin.SecretEngines(),
			})
			if err != nil {
				b.Fatal(err)
			}
			res, err := c.Init(ctx, InitRequest{SecretShares: 1, SecretThreshold: 1})
			if err != nil {
				b.Fatal(err)
			}
			if err := c.Unseal(ctx, res.Keys[0]); err != nil {
				b.Fatal(err)
			}
			for i := 0; i < n; i++ {
				if _, err := c.HandleRequest(ctx, &logical.Request{
					Operation: logical.UpdateOperation, Path: fmt.Sprintf("sys/mounts/kv%d", i),
					Data: map[string]any{"type": "kv", "options": map[string]any{"version": "2"}}, ClientToken: res.RootToken,
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			var total time.Duration
			for i := 0; i < b.N; i++ {
				if err := c.Seal(ctx); err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				if err := c.Unseal(ctx, res.Keys[0]); err != nil {
					b.Fatal(err)
				}
				total += time.Since(t0)
			}
			b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/unseal")
		})
	}
}
