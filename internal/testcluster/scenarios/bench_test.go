package scenarios

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/testcluster"
)

// BenchmarkFailover measures kill -9 of the active node until the first
// successful write through a standby, five times, and reports the median.
func BenchmarkFailover(b *testing.B) {
	for i := 0; i < b.N; i++ {
		c := raftClusterB(b, 3)
		var times []time.Duration
		for run := 0; run < 5; run++ {
			active := c.WaitForActive(b, 30*time.Second)
			var standby testcluster.Node
			for _, n := range c.Nodes() {
				if n != active && n.State() == testcluster.Running {
					standby = n
					break
				}
			}
			cl := standby.Client(c.RootToken())
			if err := active.Kill(); err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			for {
				if _, err := cl.KVv2("secret").Put(context.Background(), "failover", map[string]any{"run": run}); err == nil {
					break
				}
				if time.Since(t0) > time.Minute {
					b.Fatal("no write succeeded within a minute of the kill")
				}
				time.Sleep(10 * time.Millisecond)
			}
			times = append(times, time.Since(t0))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := active.Start(ctx); err != nil {
				b.Fatal(err)
			}
			if err := c.Unseal(ctx, active); err != nil {
				b.Fatal(err)
			}
			cancel()
			c.WaitForStandbys(b, 30*time.Second)
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		b.ReportMetric(float64(times[2].Milliseconds()), "median-failover-ms")
		b.ReportMetric(float64(times[4].Milliseconds()), "max-failover-ms")
		b.Logf("failover times: %v", times)
	}
}

// BenchmarkStepDownErrors counts client errors over 5 graceful step-downs
// with 32 clients (target 0).
func BenchmarkStepDownErrors(b *testing.B) {
	for i := 0; i < b.N; i++ {
		c := raftClusterB(b, 3)
		errs, ops := stepDownsUnderLoad(b, c, 32, 5)
		b.ReportMetric(float64(len(errs)), "errors")
		b.ReportMetric(float64(ops), "ops")
	}
}

// BenchmarkClusterKV measures KV v2 writes and reads at concurrency 32
// through the leader and through a standby (forwarding cost).
func BenchmarkClusterKV(b *testing.B) {
	c := raftClusterB(b, 3)
	active := c.WaitForActive(b, 30*time.Second)
	var standby testcluster.Node
	for _, n := range c.Nodes() {
		if n != active {
			standby = n
			break
		}
	}
	for _, tc := range []struct {
		name string
		node testcluster.Node
	}{{"leader", active}, {"standby", standby}} {
		for _, write := range []bool{true, false} {
			op := "read"
			if write {
				op = "write"
			}
			b.Run(tc.name+"/"+op, func(b *testing.B) {
				rate := kvLoad(b, tc.node, c.RootToken(), 32, 3*time.Second, write)
				b.ReportMetric(rate, "ops/s")
			})
		}
	}
}

func kvLoad(b *testing.B, n testcluster.Node, token string, conc int, d time.Duration, write bool) float64 {
	var ops atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	if _, err := n.Client(token).KVv2("secret").Put(context.Background(), "bench/0", map[string]any{"v": "x"}); err != nil {
		b.Fatal(err)
	}
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			cfg := vault.DefaultConfig()
			cfg.Address = n.APIAddr()
			cfg.MaxRetries = 0
			cl, _ := vault.NewClient(cfg)
			cl.SetToken(token)
			for time.Now().Before(deadline) {
				var err error
				if write {
					_, err = cl.KVv2("secret").Put(context.Background(), fmt.Sprintf("bench/w%d", w), map[string]any{"v": "x"})
				} else {
					_, err = cl.KVv2("secret").Get(context.Background(), "bench/0")
				}
				if err == nil {
					ops.Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
	return float64(ops.Load()) / d.Seconds()
}

// raftClusterB is raftCluster for benchmarks.
func raftClusterB(b *testing.B, n int) *testcluster.ProcessCluster {
	b.Helper()
	c := testcluster.NewCluster(b, testcluster.Options{Nodes: n, Storage: "raft", LogLevel: "info",
		StorageConfig: "performance_multiplier = 1"})
	c.Init(b)
	c.UnsealAll(b)
	active := c.WaitForActive(b, 30*time.Second)
	c.WaitForStandbys(b, 30*time.Second)
	if err := active.Client(c.RootToken()).Sys().Mount("secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
		b.Fatal(err)
	}
	waitPeers(b, c, active, n)
	return c
}
