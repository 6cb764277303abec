package raft

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	metrics "github.com/hashicorp/go-metrics"

	"github.com/strongbox/strongbox/internal/physical"
)

// BenchmarkWriteBreakdown measures where a write's time goes on a one-node
// raft backend at the default timers (real fsyncs in the test's temporary
// directory): the Put as the barrier's caller sees it (put-ms), and inside
// it raft's own timings, from hashicorp/raft's metrics: the leader's log
// write with its fsync (log-ms, raft.leader.dispatchLog, per disk write),
// dispatch to commit (commit-ms, raft.commitTime, per entry) and the FSM's
// bbolt transaction (fsm-ms, raft.fsm.applyBatch, per group of entries),
// with the entries per FSM group. The HTTP, core and barrier share is the
// end-to-end latency of `go run ./bench/load -mode=raft` minus put-ms.
func BenchmarkWriteBreakdown(b *testing.B) {
	for _, writers := range []int{2, 32} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			sink := metrics.NewInmemSink(time.Hour, time.Hour)
			conf := metrics.DefaultConfig("")
			conf.EnableHostname, conf.EnableRuntimeMetrics = false, false
			if _, err := metrics.NewGlobal(conf, sink); err != nil {
				b.Fatal(err)
			}
			defer metrics.NewGlobal(conf, &metrics.BlackholeSink{})
			c := newCluster(b, 1, func(conf *Config) { conf.timing = nil; conf.PerformanceMultiplier = 0 })
			leader := c.leader(b)
			value := make([]byte, 256)
			var seq atomic.Uint64
			var putNanos atomic.Int64
			b.SetParallelism((writers + 1) / 2) // 2 CPUs here; ≈ writers goroutines
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					key := fmt.Sprintf("bench/%d", seq.Add(1))
					t0 := time.Now()
					if err := leader.Put(ctx, &physical.Entry{Key: key, Value: value}); err != nil {
						b.Errorf("Put: %v", err)
						return
					}
					putNanos.Add(int64(time.Since(t0)))
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
			b.ReportMetric(float64(putNanos.Load())/float64(b.N)/1e6, "put-ms")
			mean := func(name string) (float64, int) {
				var sum float64
				var n int
				for _, iv := range sink.Data() {
					iv.RLock()
					if s, ok := iv.Samples[name]; ok {
						sum += s.Sum
						n += s.Count
					}
					iv.RUnlock()
				}
				if n == 0 {
					return 0, 0
				}
				return sum / float64(n), n
			}
			logMs, disk := mean("raft.leader.dispatchLog")
			commitMs, _ := mean("raft.commitTime")
			fsmMs, groups := mean("raft.fsm.applyBatch")
			b.ReportMetric(logMs, "log-ms")
			b.ReportMetric(commitMs, "commit-ms")
			b.ReportMetric(fsmMs, "fsm-ms")
			if groups > 0 {
				b.ReportMetric(float64(b.N)/float64(groups), "writes/fsm-group")
			}
			if disk > 0 {
				b.ReportMetric(float64(b.N)/float64(disk), "writes/log-fsync")
			}
		})
	}
}
