package raft

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/strongbox/strongbox/internal/physical"
)

// BenchmarkPutParallel measures Put throughput on the leader of a 3-node
// in-process cluster (real raft over TCP on 127.0.0.1, real fsyncs), with
// few and with many concurrent writers, with and without coalescing writes
// into shared raft entries. Results go in the closing notes, never into
// assertions.
func BenchmarkPutParallel(b *testing.B) {
	for _, perCPU := range []int{1, 16} {
		for _, mode := range []struct {
			name   string
			direct bool
		}{{"coalesced", false}, {"entry-per-write", true}} {
			name := fmt.Sprintf("writers=%dxCPU/%s", perCPU, mode.name)
			b.Run(name, func(b *testing.B) { benchmarkPut(b, perCPU, mode.direct) })
		}
	}
}

func benchmarkPut(b *testing.B, perCPU int, direct bool) {
	// Production timers (multiplier 1: 1s heartbeats), so a busy machine
	// does not trigger elections mid-run.
	c := newCluster(b, 3, func(conf *Config) {
		conf.noCoalesce = direct
		conf.timing = nil
	})
	leader := c.leader(b)
	value := make([]byte, 256)
	var seq atomic.Uint64
	b.SetParallelism(perCPU)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			key := fmt.Sprintf("bench/%d", seq.Add(1))
			if err := leader.Put(ctx, &physical.Entry{Key: key, Value: value}); err != nil {
				b.Errorf("Put: %v", err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	st := leader.Stats()
	writes, _ := strconv.ParseFloat(st["writes"], 64)
	entries, _ := strconv.ParseFloat(st["write_entries"], 64)
	if entries > 0 {
		b.ReportMetric(writes/entries, "writes/entry")
	}
}
