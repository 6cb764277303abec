package scenarios

import (
	"bytes"
	"encoding/base64"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/testcluster"
)

// BenchmarkClusterTransit: transit encrypt (128 bytes, one and 100 per
// request) and ed25519 sign at concurrency 32 on a 3-node raft cluster,
// sent to the active node and to a standby (which forwards). Figures are
// operations (items) per second.
func BenchmarkClusterTransit(b *testing.B) {
	c := raftClusterB(b, 3)
	active := c.WaitForActive(b, 30*time.Second)
	var standby testcluster.Node
	for _, n := range c.Nodes() {
		if n != active {
			standby = n
			break
		}
	}
	root := active.Client(c.RootToken())
	if err := root.Sys().Mount("transit", &vault.MountInput{Type: "transit"}); err != nil {
		b.Fatal(err)
	}
	for name, typ := range map[string]string{"aes": "aes256-gcm96", "ed": "ed25519"} {
		if _, err := root.Logical().Write("transit/keys/"+name, map[string]any{"type": typ}); err != nil {
			b.Fatal(err)
		}
	}
	pt := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("x"), 128))
	batch := make([]any, 100)
	for i := range batch {
		batch[i] = map[string]any{"plaintext": pt}
	}
	for _, tc := range []struct {
		name  string
		path  string
		body  map[string]any
		items int
	}{
		{"encrypt", "transit/encrypt/aes", map[string]any{"plaintext": pt}, 1},
		{"encrypt-batch100", "transit/encrypt/aes", map[string]any{"batch_input": batch}, 100},
		{"sign-ed25519", "transit/sign/ed", map[string]any{"input": pt}, 1},
	} {
		for _, node := range []struct {
			name string
			n    testcluster.Node
		}{{"leader", active}, {"standby", standby}} {
			b.Run(node.name+"/"+tc.name, func(b *testing.B) {
				rate := writeLoad(b, node.n, c.RootToken(), 32, 3*time.Second, tc.path, tc.body)
				b.ReportMetric(rate*float64(tc.items), "ops/s")
			})
		}
	}
}

// writeLoad runs conc workers writing body to path for d and returns the
// successful requests per second.
func writeLoad(b *testing.B, n testcluster.Node, token string, conc int, d time.Duration, path string, body map[string]any) float64 {
	var ops, fails atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := vault.DefaultConfig()
			cfg.Address = n.APIAddr()
			cfg.MaxRetries = 0
			cl, _ := vault.NewClient(cfg)
			cl.SetToken(token)
			for time.Now().Before(deadline) {
				if _, err := cl.Logical().Write(path, body); err != nil {
					fails.Add(1)
					continue
				}
				ops.Add(1)
			}
		}()
	}
	wg.Wait()
	if f := fails.Load(); f > 0 {
		b.Errorf("%d failed requests to %s", f, path)
	}
	return float64(ops.Load()) / d.Seconds()
}
