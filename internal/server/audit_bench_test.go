package server

import (
	"fmt"
	"path/filepath"
	"testing"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/core"
)

// BenchmarkKVReadAudit: KV v2 reads through the official client and the
// HTTP API (32 concurrent readers) with 0, 1 and 3 file audit devices,
// each writing request and response entries with the tamper-evident
// chain. Figures in bench/results/2026-12-07-audit.txt.
func BenchmarkKVReadAudit(b *testing.B) {
	for _, n := range []int{0, 1, 3} {
		b.Run(fmt.Sprintf("devices=%d", n), func(b *testing.B) {
			url := serveCore(b, core.Config{SecretEngines: builtin.SecretEngines(), AuthMethods: builtin.AuthMethods()})
			c := rootClient(b, url)
			if err := c.Sys().Mount("secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
				b.Fatal(err)
			}
			dir := b.TempDir()
			for i := 0; i < n; i++ {
				if err := c.Sys().EnableAuditWithOptions(fmt.Sprintf("file%d", i), &vault.EnableAuditOptions{
					Type: "file", Options: map[string]string{"file_path": filepath.Join(dir, fmt.Sprintf("audit%d.log", i))},
				}); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := c.Logical().Write("secret/data/foo", map[string]any{"data": map[string]any{"password": "s3cr3t"}}); err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(16) // 32 readers on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				cc, err := c.Clone()
				if err != nil {
					b.Error(err)
					return
				}
				cc.SetToken(c.Token())
				for pb.Next() {
					if _, err := cc.Logical().Read("secret/data/foo"); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		})
	}
}
