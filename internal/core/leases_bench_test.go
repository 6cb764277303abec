//go:build linux

package core

import (
	"context"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/core/expiration"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// benchClock is a clock the benchmark moves.
type benchClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *benchClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *benchClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// countingEngine issues leased secrets at creds and counts revocations.
func countingEngine(revoked *atomic.Int64) logical.Factory {
	return func(context.Context, *logical.BackendConfig) (logical.Backend, error) {
		return &logical.FrameworkBackend{Secrets: []*logical.SecretType{{
			Type: "creds",
			Revoke: func(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
				revoked.Add(1)
				return nil, nil
			},
		}}}, nil
	}
}

// BenchmarkRevokeWhileReading: KV v2 reads (8 clients) alone, then while
// the expiration manager revokes 100k expired leases through their engine
// (default workers; LEASE_BENCH_N, LEASE_BENCH_ROUNDS and
// LEASE_BENCH_WORKERS change the lease count, rounds and workers).
// It reports both read rates, their ratio and how long the revocations
// took.
func BenchmarkRevokeWhileReading(b *testing.B) {
	leases := int64(100_000)
	if v, err := strconv.Atoi(os.Getenv("LEASE_BENCH_N")); err == nil {
		leases = int64(v)
	}
	workers, _ := strconv.Atoi(os.Getenv("LEASE_BENCH_WORKERS"))
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("LEASE_BENCH_ROUNDS")); err == nil {
		rounds = v
	}
	ctx := context.Background()
	clock := &benchClock{}
	var revoked atomic.Int64
	engines := builtin.SecretEngines()
	engines["leasy"] = countingEngine(&revoked)
	c, err := New(Config{
		Physical: inmem.New(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SecretEngines: engines, Now: clock.Now,
		// Every lease within the heap's reach, so the clock jump makes
		// all of them due at once.
		Expiration: expiration.Config{Horizon: 3 * time.Hour, Workers: workers},
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
	defer func() { _ = c.Seal(ctx) }()
	do := func(op logical.Operation, path string, data map[string]any) {
		if _, err := c.HandleRequest(ctx, &logical.Request{Operation: op, Path: path, Data: data, ClientToken: res.RootToken}); err != nil {
			b.Fatal(err)
		}
	}
	do(logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
	do(logical.UpdateOperation, "sys/mounts/leasy", map[string]any{"type": "leasy"})
	do(logical.UpdateOperation, "secret/data/k", map[string]any{"data": map[string]any{"v": "x"}})
	mc := logical.MountConfig{DefaultLeaseTTL: time.Hour, MaxLeaseTTL: 2 * time.Hour}
	read := func(stop <-chan struct{}, n *atomic.Int64) {
		for {
			select {
			case <-stop:
				return
			default:
			}
			do(logical.ReadOperation, "secret/data/k", nil)
			n.Add(1)
		}
	}
	// measure runs 8 readers until until() and returns reads per wall
	// second, the window, and reads per CPU second of this process.
	measure := func(until func() bool) (float64, time.Duration, float64) {
		var n atomic.Int64
		cpu0 := processCPU()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() { defer wg.Done(); read(stop, &n) }()
		}
		t0 := time.Now()
		for !until() {
			time.Sleep(10 * time.Millisecond)
		}
		close(stop)
		wg.Wait()
		d := time.Since(t0)
		cpu := processCPU() - cpu0
		return float64(n.Load()) / d.Seconds(), d, float64(n.Load()) / cpu.Seconds()
	}
	// The machine is shared with other work that swings the wall-clock
	// rate by several times between windows, so each round also compares
	// reads per CPU second of this process (while revoking, the CPU the
	// revocations take is what the reads lose when the machine is busy).
	// Each round compares with the mean of the windows just before and
	// after; the median round is reported.
	var wall, cpu []float64
	var took time.Duration
	b.ResetTimer()
	for r := range rounds {
		b.StopTimer()
		for range int(leases) {
			s := &logical.Secret{LeaseOptions: logical.LeaseOptions{TTL: time.Hour}, InternalData: map[string]any{logical.SecretTypeKey: "creds"}}
			if err := c.expiration.Register(ctx, "leasy/creds/app", "", "", s, mc); err != nil {
				b.Fatal(err)
			}
		}
		// The registrations' garbage is collected before, not during,
		// the first window.
		runtime.GC()
		b.StartTimer()
		before, _, beforeCPU := measure(func() bool { return sleepFor(3 * time.Second) })
		clock.Advance(2 * time.Hour)
		want := int64(r+1) * leases
		during, d, duringCPU := measure(func() bool { return revoked.Load() >= want })
		after, _, afterCPU := measure(func() bool { return sleepFor(3 * time.Second) })
		wall = append(wall, during/((before+after)/2))
		cpu = append(cpu, duringCPU/((beforeCPU+afterCPU)/2))
		took = d
		b.Logf("round %d: reads/s before %.0f, while revoking 100k %.0f (%.1fs), after %.0f; reads per CPU-s %.0f, %.0f, %.0f: wall ratio %.2f, CPU ratio %.2f",
			r, before, during, d.Seconds(), after, beforeCPU, duringCPU, afterCPU, wall[r], cpu[r])
	}
	b.StopTimer()
	slices.Sort(wall)
	slices.Sort(cpu)
	b.ReportMetric(wall[len(wall)/2], "median_wall_read_ratio")
	b.ReportMetric(cpu[len(cpu)/2], "median_cpu_read_ratio")
	b.ReportMetric(took.Seconds(), "s_to_revoke_100k")
}

// processCPU is the user+system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sleepFor sleeps d and reports true: a measure window of fixed length.
func sleepFor(d time.Duration) bool { time.Sleep(d); return true }
