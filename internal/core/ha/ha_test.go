package ha

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/physical/inmem"
	"github.com/strongbox/strongbox/internal/testlog"
)

// startNode builds a node over st and starts following leadership as core
// does on unseal (standby first).
func startNode(t *testing.T, h *fakeHost, st *fakeStorage, logs *testlog.Buffer) *Node {
	t.Helper()
	h.standby = true
	n := New(h, Config{
		Storage: st, Barrier: inmem.New(), Logger: slog.New(slog.NewTextHandler(logs, nil)),
		APIAddr: "https://127.0.0.1:8200", ClusterAddr: "https://127.0.0.1:8201", Version: "1.0.0",
	})
	n.Start()
	t.Cleanup(func() { n.Stop()() })
	return n
}

// TestFailedTransferIsLogged: a leader that cannot activate hands
// leadership over; when that transfer fails too, the log says so (the
// cluster has no active node meanwhile).
func TestFailedTransferIsLogged(t *testing.T) {
	st := newFakeStorage("node0", "node0")
	st.readErr = errors.New("apply of earlier entries timed out")
	st.transfer = errNoVoter
	h, logs := &fakeHost{}, &testlog.Buffer{}
	startNode(t, h, st, logs)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "leadership transfer after a failed activation failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no log of the failed transfer; log:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "no other voter") {
		t.Fatalf("the log does not give the transfer's error:\n%s", logs.String())
	}
	if _, standby := h.State(); !standby {
		t.Fatal("a core that could not catch up became active")
	}
	if posts, _, _ := h.counts(); posts != 0 {
		t.Fatalf("the post-unseal setup ran %d times on a node that could not catch up", posts)
	}
}

// TestActivateAndDemote: the node becomes active when it leads (setup run,
// advertisement published, active time recorded) and a standby when it no
// longer does (setup torn down, advertisement kept until seal).
func TestActivateAndDemote(t *testing.T) {
	st := newFakeStorage("node0", "")
	h := &fakeHost{}
	n := startNode(t, h, st, &testlog.Buffer{})
	st.setLeader("node0")
	waitFor(t, 10*time.Second, "active", func() bool { _, standby := h.State(); return !standby })
	posts, teardowns, at := h.counts()
	if posts != 1 || teardowns != 0 {
		t.Fatalf("post-unseal %d, teardown %d; want 1, 0", posts, teardowns)
	}
	own := n.OwnAdvert()
	if own == nil || own.NodeID != "node0" || own.ClusterAddr != "https://127.0.0.1:8201" || len(own.CertPEM) == 0 {
		t.Fatalf("own advertisement %+v", own)
	}
	if !at.Equal(own.ActiveTime) {
		t.Fatalf("active time %v, advertisement's %v", at, own.ActiveTime)
	}
	if adv, err := n.ActiveAdvertisement(context.Background()); err != nil || adv != own {
		t.Fatalf("the active node's advertisement: %+v, %v; want its own", adv, err)
	}
	e, err := n.b.Get(context.Background(), leaderPrefix+"node0")
	if err != nil || e == nil {
		t.Fatalf("advertisement not stored: %v", err)
	}
	waitFor(t, 10*time.Second, "the raft upkeep tick", func() bool {
		h.lock.RLock()
		defer h.lock.RUnlock()
		return h.ticks > 0
	})

	st.setLeader("node1")
	waitFor(t, 10*time.Second, "standby", func() bool { _, standby := h.State(); return standby })
	if _, teardowns, _ := h.counts(); teardowns != 1 {
		t.Fatalf("teardown ran %d times, want 1", teardowns)
	}

	n.AfterSeal(context.Background())
	if n.OwnAdvert() != nil {
		t.Fatal("a sealed node keeps its advertisement")
	}
}

// TestFailedActivationTearsDown: a setup that fails is undone, the node
// stays a standby and hands leadership over.
func TestFailedActivationTearsDown(t *testing.T) {
	st := newFakeStorage("node0", "node0")
	h := &fakeHost{postErr: errors.New("mount table unreadable")}
	logs := &testlog.Buffer{}
	n := startNode(t, h, st, logs)
	waitFor(t, 10*time.Second, "the transfer", func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.transfers > 0
	})
	if posts, teardowns, _ := h.counts(); posts != 1 || teardowns != 1 {
		t.Fatalf("post-unseal %d, teardown %d; want 1, 1", posts, teardowns)
	}
	if _, standby := h.State(); !standby {
		t.Fatal("a core whose setup failed became active")
	}
	if !n.steppingDown() {
		t.Fatal("no step-down hold after a failed activation")
	}
	if !strings.Contains(logs.String(), "mount table unreadable") {
		t.Fatalf("the log does not give the setup's error:\n%s", logs.String())
	}
}

// TestStepDown: the active node demotes and transfers; the hold keeps it
// out of the race, unless the transfer failed, when it may serve again.
func TestStepDown(t *testing.T) {
	ctx := context.Background()
	st := newFakeStorage("node0", "node0")
	h := &fakeHost{}
	n := startNode(t, h, st, &testlog.Buffer{})
	waitFor(t, 10*time.Second, "active", func() bool { _, standby := h.State(); return !standby })

	st.mu.Lock()
	st.transfer = errNoVoter
	st.mu.Unlock()
	if err := n.StepDown(ctx); !errors.Is(err, errNoVoter) {
		t.Fatalf("step-down with no other voter: %v", err)
	}
	if n.steppingDown() {
		t.Fatal("the hold stays after a failed transfer")
	}
	waitFor(t, 10*time.Second, "active again", func() bool { _, standby := h.State(); return !standby })

	st.mu.Lock()
	st.transfer = nil
	st.mu.Unlock()
	if err := n.StepDown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, standby := h.State(); !standby {
		t.Fatal("still active after stepping down")
	}
	if !n.steppingDown() {
		t.Fatal("no hold after a step-down")
	}
	n.EndStepDownHold()
	if n.steppingDown() {
		t.Fatal("the hold stays after EndStepDownHold")
	}

	if err := New(h, Config{}).StepDown(ctx); err != nil {
		t.Fatalf("step-down without HA storage: %v", err)
	}
}
