package snapshot

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/physical/raft"
)

// testStream is a real raft snapshot stream of a one-node cluster holding
// testEntries, made once per test binary.
var testStream = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "snapshot-test-raft-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := raft.New(ctx, raft.Config{
		Path: dir, NodeID: "node0", BindAddr: "127.0.0.1:0", PerformanceMultiplier: 1,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return nil, err
	}
	defer b.Close()
	if err := b.Bootstrap(ctx); err != nil {
		return nil, err
	}
	for !b.IsLeader() {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("no leader: %w", ctx.Err())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for k, v := range testEntries {
		if err := b.Put(ctx, &physical.Entry{Key: k, Value: []byte(v)}); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if err := b.Snapshot(ctx, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
})

var testEntries = map[string]string{
	"core/keyring":                  "k",
	"core/seal-config":              "sc",
	"logical/aaa/one":               "1",
	"logical/aaa/two":               "22",
	"logical/bbb/one":               "333",
	"sys/token/id/x":                "t",
	"sys/token/accessor/y":          "a",
	"sys/policy/default":            "p",
	"auth/ccc/role/r":               "r",
	"logical/aaa/deeper/three/four": "4444",
}

func stream(t testing.TB) []byte {
	t.Helper()
	s, err := testStream()
	if err != nil {
		t.Fatalf("raft snapshot stream: %v", err)
	}
	return s
}

func testKey(t testing.TB) *Key {
	t.Helper()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// archive writes a snapshot archive of the test stream under key.
func archive(t testing.TB, key *Key) []byte {
	t.Helper()
	var out bytes.Buffer
	_, err := Write(context.Background(), &out, Meta{ClusterID: "cluster-1"}, key, func(w io.Writer) error {
		_, err := w.Write(stream(t))
		return err
	})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return out.Bytes()
}
