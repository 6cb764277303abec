package scenarios

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
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
		reportFailovers(b, failoverTimes(b, c, 5))
	}
}

// BenchmarkFailoverDefaults is BenchmarkFailover with the default raft
// timers (no performance_multiplier): the product's out-of-the-box failover.
func BenchmarkFailoverDefaults(b *testing.B) {
	for i := 0; i < b.N; i++ {
		c := raftClusterBWith(b, 3, "")
		reportFailovers(b, failoverTimes(b, c, 5))
	}
}

// BenchmarkFailoverLeases is BenchmarkFailover with leases on disk: for
// each count in FAILOVER_LEASES (default "0,100000"), that many token
// leases expiring over the next two days, then three kill -9 failovers.
// The new active node restores only the leases due soon, so the failover
// time should not grow with the count.
func BenchmarkFailoverLeases(b *testing.B) {
	counts := []int{0, 100_000}
	if v := os.Getenv("FAILOVER_LEASES"); v != "" {
		counts = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				b.Fatalf("FAILOVER_LEASES: %v", err)
			}
			counts = append(counts, n)
		}
	}
	for _, n := range counts {
		b.Run(fmt.Sprintf("leases=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				c := raftClusterB(b, 3)
				t0 := time.Now()
				createTokenLeases(b, c, n)
				b.Logf("%d token leases created in %v", n, time.Since(t0).Round(time.Millisecond))
				reportFailovers(b, failoverTimes(b, c, 3))
			}
		})
	}
}

// createTokenLeases creates n child tokens of root with TTLs spread over
// 1h..49h, 32 at a time, through the active node.
func createTokenLeases(b *testing.B, c *testcluster.ProcessCluster, n int) {
	active := c.WaitForActive(b, 30*time.Second)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := active.Client(c.RootToken())
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				ttl := time.Hour + time.Duration(i%2880)*time.Minute
				if _, err := cl.Auth().Token().Create(&vault.TokenCreateRequest{TTL: ttl.String(), Policies: []string{"default"}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatalf("create token: %v", err)
	}
}

// failoverTimes kills the active node runs times, each time timing until a
// write through a standby succeeds, then restarts and unseals the victim.
func failoverTimes(b *testing.B, c *testcluster.ProcessCluster, runs int) []time.Duration {
	var times []time.Duration
	for run := 0; run < runs; run++ {
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
	return times
}

func reportFailovers(b *testing.B, times []time.Duration) {
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2].Milliseconds()), "median-failover-ms")
	b.ReportMetric(float64(times[len(times)-1].Milliseconds()), "max-failover-ms")
	b.Logf("failover times: %v", times)
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
	return raftClusterBWith(b, n, "performance_multiplier = 1")
}

// raftClusterBWith is raftClusterB with the given storage stanza lines
// ("" for the default raft timers).
func raftClusterBWith(b *testing.B, n int, storage string) *testcluster.ProcessCluster {
	b.Helper()
	c := testcluster.NewCluster(b, testcluster.Options{Nodes: n, Storage: "raft", LogLevel: "info",
		StorageConfig: storage})
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
