package expiration

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/barrier"
	"github.com/strongbox/strongbox/internal/core/mount"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical/file"
)

// benchStore is a barrier over file storage (bbolt) holding n leases
// written in bulk: due of them within the next 10 minutes, the rest spread
// over 32 days. It returns the barrier (sealed) and its root key.
func benchStore(b, parent *testing.B, n, due, overdue int) (*barrier.Barrier, []byte, func()) {
	b.Helper()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "leasebench")
	if err != nil {
		b.Fatal(err)
	}
	phys, err := file.New(ctx, map[string]string{"path": dir}, nil)
	if err != nil {
		b.Fatal(err)
	}
	bar := barrier.New(phys)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	if err := bar.Initialize(ctx, key); err != nil {
		b.Fatal(err)
	}
	if err := bar.Unseal(ctx, key); err != nil {
		b.Fatal(err)
	}
	view := mount.NewView(bar, "sys/expire/")
	now := time.Now()
	secret := &logical.Secret{LeaseOptions: logical.LeaseOptions{TTL: time.Hour, Renewable: true}, InternalData: map[string]any{"secret_type": "creds", "user": "v-app-1234567890"}}
	var ops []*logical.TxnOp
	markers := map[int64]bool{}
	flush := func() {
		if len(ops) == 0 {
			return
		}
		if err := view.Transaction(ctx, ops); err != nil {
			b.Fatal(err)
		}
		ops = ops[:0]
	}
	span := 32 * 24 * time.Hour
	for i := range n {
		var exp time.Time
		if i >= n-overdue {
			// Expired during an outage of up to two days.
			k := i - (n - overdue)
			exp = now.Add(-time.Minute - time.Duration(float64(48*time.Hour)*float64(k)/float64(overdue)))
		} else if i < due {
			exp = now.Add(time.Minute + time.Duration(i)*(9*time.Minute)/time.Duration(max(due, 1)))
		} else {
			exp = now.Add(15*time.Minute + time.Duration(float64(span)*float64(i)/float64(n)))
		}
		l := &Lease{ID: fmt.Sprintf("db/creds/app/%024d", i), Path: "db/creds/app", Secret: secret, IssueTime: now, ExpireTime: exp}
		v, err := encodeLease(l)
		if err != nil {
			b.Fatal(err)
		}
		ops = append(ops,
			&logical.TxnOp{Entry: &logical.StorageEntry{Key: idPrefix + l.ID, Value: v}},
			&logical.TxnOp{Entry: &logical.StorageEntry{Key: timeKey(l)}})
		if bk := bucketOf(exp); !markers[bk] {
			markers[bk] = true
			ops = append(ops,
				&logical.TxnOp{Entry: &logical.StorageEntry{Key: bucketMarker(bk)}},
				&logical.TxnOp{Entry: &logical.StorageEntry{Key: dayMarker(dayOf(bk))}})
		}
		if len(ops) >= 4000 {
			flush()
		}
	}
	flush()
	bar.Seal()
	parent.Cleanup(func() { _ = phys.Close(); _ = os.RemoveAll(dir) })
	return bar, key, func() {}
}

// benchStores keeps the stores across the calls of one case.
var benchStores = map[string]struct {
	bar *barrier.Barrier
	key []byte
}{}

type idleHost struct{}

func (idleHost) RouteLease(context.Context, logical.Operation, string, *logical.Secret) (*logical.Response, logical.MountConfig, error) {
	return nil, logical.MountConfig{}, nil
}
func (idleHost) RevokeToken(context.Context, string) error         { return nil }
func (idleHost) TokenExists(context.Context, string) (bool, error) { return true, nil }

// BenchmarkRestore: barrier unseal plus the manager's restore, with n
// leases on disk spread over 32 days from 15 minutes on (none due within
// the 10-minute horizon), then with 10k of them due within it, then with
// 200k overdue (expired during an outage: loaded in batches of
// MaxBacklog). It reports the time per unseal,
// the leases loaded and the heap in use by the started manager.
func BenchmarkRestore(b *testing.B) {
	parent := b
	for _, tc := range []struct{ n, due, overdue int }{
		{0, 0, 0}, {100_000, 0, 0}, {1_000_000, 0, 0}, {1_000_000, 10_000, 0}, {1_000_000, 0, 200_000},
	} {
		b.Run(fmt.Sprintf("leases=%d/due=%d/overdue=%d", tc.n, tc.due, tc.overdue), func(b *testing.B) {
			// Built once per case: the testing package calls this
			// function more than once (b.N=1 first).
			name := fmt.Sprint(tc.n, "/", tc.due, "/", tc.overdue)
			st, ok := benchStores[name]
			if !ok {
				t0 := time.Now()
				st.bar, st.key, _ = benchStore(b, parent, tc.n, tc.due, tc.overdue)
				benchStores[name] = st
				b.Logf("wrote %d leases in %v", tc.n, time.Since(t0))
			}
			bar, key := st.bar, st.key
			ctx := context.Background()
			quiet := slog.New(slog.DiscardHandler)
			var total time.Duration
			var loaded int
			var heap uint64
			b.ResetTimer()
			for range b.N {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				t0 := time.Now()
				if err := bar.Unseal(ctx, key); err != nil {
					b.Fatal(err)
				}
				// The loader and workers are not started by restore; a
				// long horizon tick keeps them from revoking during the
				// measure (the host ignores revocations anyway).
				m := New(idleHost{}, Config{Logger: quiet, Workers: 1})
				if err := m.Start(ctx, mount.NewView(bar, "sys/expire/")); err != nil {
					b.Fatal(err)
				}
				total += time.Since(t0)
				loaded = m.InMemory()
				runtime.GC()
				runtime.ReadMemStats(&after)
				if after.HeapInuse > before.HeapInuse {
					heap = after.HeapInuse - before.HeapInuse
				}
				m.Stop()
				bar.Seal()
			}
			b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/unseal")
			b.ReportMetric(float64(loaded), "leases_in_memory")
			b.ReportMetric(float64(heap)/(1<<20), "MiB_heap_in_use")
		})
	}
}
