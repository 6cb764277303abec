package file

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/strongbox/strongbox/internal/physical"
)

// BenchmarkPutParallel measures durable Puts from many goroutines; compare
// its ns/op with BenchmarkFsyncLoop to see how much coalescing gains.
// Run with -cpu 1,8,64 to vary the number of writers.
func BenchmarkPutParallel(b *testing.B) {
	be := open(b, b.TempDir())
	defer be.Close()
	ctx := context.Background()
	value := make([]byte, 512)
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := fmt.Sprintf("bench/%d", n.Add(1))
			if err := be.Put(ctx, &physical.Entry{Key: key, Value: value}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPutSerial measures one writer: each Put pays a whole commit.
func BenchmarkPutSerial(b *testing.B) {
	be := open(b, b.TempDir())
	defer be.Close()
	ctx := context.Background()
	value := make([]byte, 512)
	b.ResetTimer()
	for i := range b.N {
		if err := be.Put(ctx, &physical.Entry{Key: fmt.Sprintf("bench/%d", i), Value: value}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFsyncLoop writes and fsyncs a plain file in a loop: the ceiling
// for one-at-a-time durable writes on this disk.
func BenchmarkFsyncLoop(b *testing.B) {
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "fsync"), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 512)
	b.ResetTimer()
	for i := range b.N {
		if _, err := f.WriteAt(buf, int64(i%1024)*512); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}
