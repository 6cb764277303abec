package raft

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/physical"
)

// testTiming is production timing at performance_multiplier 1 (elections
// in one to two seconds) with a short commit timeout. Shorter timers made
// leadership flap whenever another process took the machine's two cores
// for a few hundred milliseconds, and tests that assume a stable leader
// then failed with "leadership lost while committing log".
var testTiming = &timing{
	heartbeat: 1000 * time.Millisecond,
	election:  1000 * time.Millisecond,
	lease:     500 * time.Millisecond,
	commit:    5 * time.Millisecond,
}

// waitTimeout bounds every wait in these tests.
const waitTimeout = 20 * time.Second

// syncBuffer collects a test's logs; they are printed only if it fails.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// testLogger logs Info and above for this test, shown if the test fails.
// Register it before any node so its cleanup runs after theirs.
func testLogger(t testing.TB) *slog.Logger {
	t.Helper()
	var buf syncBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("backend logs:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// testConfig is a fast-timing node config in dir.
func testConfig(dir, id string, logger *slog.Logger) Config {
	return Config{
		Path:                  dir,
		NodeID:                id,
		Logger:                logger.With("node", id),
		PerformanceMultiplier: 1,
		BindAddr:              "127.0.0.1:0",
		ApplyTimeout:          5 * time.Second,
		timing:                testTiming,
	}
}

// openNode opens a node and closes it at cleanup.
func openNode(t testing.TB, conf Config) *Backend {
	t.Helper()
	b, err := New(context.Background(), conf)
	if err != nil {
		t.Fatalf("New(%s): %v", conf.NodeID, err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// newSingleNode opens and bootstraps a one-node cluster.
func newSingleNode(t testing.TB, logger *slog.Logger) *Backend {
	t.Helper()
	b := openNode(t, testConfig(t.TempDir(), "node0", logger))
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := b.Bootstrap(ctx); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	return b
}

// testCluster is n nodes in one raft cluster; confs lets a test restart one.
type testCluster struct {
	nodes []*Backend
	confs []Config
}

// newCluster bootstraps node0 and adds n-1 voters, waiting until every
// node knows the whole configuration.
func newCluster(t testing.TB, n int, tweak func(*Config)) *testCluster {
	t.Helper()
	logger := testLogger(t)
	c := &testCluster{}
	for i := range n {
		conf := testConfig(t.TempDir(), fmt.Sprintf("node%d", i), logger)
		if tweak != nil {
			tweak(&conf)
		}
		b := openNode(t, conf)
		conf.BindAddr = b.Addr() // a restart reuses the address peers know
		c.nodes = append(c.nodes, b)
		c.confs = append(c.confs, conf)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := c.nodes[0].Bootstrap(ctx); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	for i, b := range c.nodes[1:] {
		c.addVoter(t, ctx, c.nodes[:i+1], b)
	}
	for _, b := range c.nodes {
		waitFor(t, b.NodeID()+" sees the whole configuration", func() bool {
			peers, err := b.Configuration(ctx)
			return err == nil && len(peers) == n
		})
	}
	return c
}

// addVoter adds b as a voter through whichever of members leads, as a
// joining server does: on a busy machine leadership can move between two
// joins, and a node that is no longer leader answers ErrNotLeader.
func (c *testCluster) addVoter(t testing.TB, ctx context.Context, members []*Backend, b *Backend) {
	t.Helper()
	var err error
	waitFor(t, "the leader to add "+b.NodeID(), func() bool {
		for _, m := range members {
			if !m.IsLeader() {
				continue
			}
			if err = m.AddPeer(ctx, b.NodeID(), b.Addr(), true); err == nil {
				return true
			}
			if !errors.Is(err, ErrNotLeader) {
				t.Fatalf("AddPeer(%s) on %s: %v", b.NodeID(), m.NodeID(), err)
			}
		}
		return false
	})
}

// leader waits until exactly one of the given open nodes is leader and
// every other one knows it.
func (c *testCluster) leader(t testing.TB, skip ...*Backend) *Backend {
	t.Helper()
	var found *Backend
	waitFor(t, "a leader known to all", func() bool {
		found = nil
		for _, b := range c.nodes {
			if contains(skip, b) || !b.IsLeader() {
				continue
			}
			if found != nil {
				return false
			}
			found = b
		}
		if found == nil {
			return false
		}
		for _, b := range c.nodes {
			if contains(skip, b) {
				continue
			}
			if id, _ := b.Leader(); id != found.NodeID() {
				return false
			}
		}
		return true
	})
	return found
}

func (c *testCluster) followers(leader *Backend, skip ...*Backend) []*Backend {
	var out []*Backend
	for _, b := range c.nodes {
		if b != leader && !contains(skip, b) {
			out = append(out, b)
		}
	}
	return out
}

func contains(list []*Backend, b *Backend) bool {
	for _, x := range list {
		if x == b {
			return true
		}
	}
	return false
}

// waitFor polls cond until it holds or waitTimeout passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", waitTimeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitValue polls b until key holds want (nil: missing).
func waitValue(t testing.TB, b *Backend, key string, want []byte) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s: %q = %q", b.NodeID(), key, want), func() bool {
		e, err := b.Get(context.Background(), key)
		if err != nil {
			return false
		}
		if want == nil {
			return e == nil
		}
		return e != nil && bytes.Equal(e.Value, want)
	})
}

func mustPut(t testing.TB, b physical.Backend, key, value string) {
	t.Helper()
	if err := b.Put(context.Background(), &physical.Entry{Key: key, Value: []byte(value)}); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func wantValue(t testing.TB, b physical.Backend, key, want string) {
	t.Helper()
	e, err := b.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if e == nil || string(e.Value) != want {
		t.Fatalf("Get(%q) = %v, want %q", key, e, want)
	}
}

func wantMissing(t testing.TB, b physical.Backend, key string) {
	t.Helper()
	e, err := b.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if e != nil {
		t.Fatalf("Get(%q) = %q, want missing", key, e.Value)
	}
}
