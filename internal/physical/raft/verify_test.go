package raft

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestVerifyLeader: the leader confirms its leadership with a quorum;
// followers and a leader without quorum are refused, never served stale.
func TestVerifyLeader(t *testing.T) {
	c := newCluster(t, 3, func(conf *Config) { conf.ApplyTimeout = 2 * time.Second })
	leader := c.leader(t)
	ctx := context.Background()
	if err := leader.VerifyLeader(ctx); err != nil {
		t.Fatalf("leader: %v", err)
	}
	followers := c.followers(leader)
	if err := followers[0].VerifyLeader(ctx); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("follower: err = %v, want ErrNotLeader", err)
	}
	// Concurrent callers share rounds and all succeed.
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		go func() { errs <- leader.VerifyLeader(ctx) }()
	}
	for i := 0; i < 16; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent verify: %v", err)
		}
	}
	for _, f := range followers {
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- leader.VerifyLeader(ctx) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a leader without quorum verified its leadership")
		}
	case <-time.After(waitTimeout):
		t.Fatal("VerifyLeader without quorum hung")
	}
}
