package raft

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// TestWaitQuorumCountsOnlyFreshAcks: an acknowledgement of an RPC sent
// before the check began (the reply a paused leader finds waiting), or in
// another term, does not confirm leadership; fresh ones from a majority
// (self included) do.
func TestWaitQuorumCountsOnlyFreshAcks(t *testing.T) {
	conf := raft.Configuration{Servers: []raft.Server{
		{ID: "a", Suffrage: raft.Voter}, {ID: "b", Suffrage: raft.Voter},
		{ID: "c", Suffrage: raft.Voter}, {ID: "d", Suffrage: raft.Nonvoter},
	}}
	since := time.Now()
	cases := []struct {
		name string
		acks map[raft.ServerID]ack
		ok   bool
	}{
		{"none", nil, false},
		{"stale reply from before the check", map[raft.ServerID]ack{"b": {term: 5, sent: since.Add(-time.Millisecond)}}, false},
		{"older term", map[raft.ServerID]ack{"b": {term: 4, sent: since.Add(time.Millisecond)}}, false},
		{"a non-voter does not count", map[raft.ServerID]ack{"d": {term: 5, sent: since.Add(time.Millisecond)}}, false},
		{"one fresh voter and self", map[raft.ServerID]ack{"c": {term: 5, sent: since.Add(time.Millisecond)}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newAckTransport(nil)
			for id, a := range c.acks {
				tr.acks[id] = a
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			err := tr.waitQuorum(ctx, conf, "a", 5, since)
			if c.ok && err != nil {
				t.Fatalf("want confirmed, got %v", err)
			}
			if !c.ok && !errors.Is(err, ErrNotLeader) {
				t.Fatalf("want ErrNotLeader, got %v", err)
			}
		})
	}
	// An ack that arrives while waiting confirms at once.
	tr := newAckTransport(nil)
	done := make(chan error, 1)
	go func() { done <- tr.waitQuorum(context.Background(), conf, "a", 5, since) }()
	waitFor(t, "waitQuorum to block", func() bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return tr.waiters > 0
	})
	tr.mu.Lock()
	tr.acks["b"] = ack{term: 5, sent: since.Add(time.Millisecond)}
	close(tr.changed)
	tr.changed = make(chan struct{})
	tr.mu.Unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("waitQuorum did not notice a new ack")
	}
}
