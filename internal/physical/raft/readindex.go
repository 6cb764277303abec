package raft

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// ackTransport is raft's transport with a record, per follower, of the
// latest AppendEntries (heartbeat or replication) that the follower
// accepted in the leader's term, and when that RPC was sent.
//
// hashicorp/raft's VerifyLeader counts any successful response that
// arrives after the check began, including one to an RPC sent before it:
// a leader paused (SIGSTOP, a stall) or cut off while a heartbeat was in
// flight finds the old reply waiting when it resumes and confirms a
// leadership that a newer term has already ended, then serves a stale
// read. A leader is confirmed only by acknowledgements of RPCs sent after
// the check began (Raft's read index), which this record provides.
//
// It must keep NetworkTransport's RequestPreVote: hashicorp/raft turns
// pre-vote off for a transport without it, and pre-vote is what keeps a
// follower that missed heartbeats (paused, stalled disk) from deposing a
// healthy leader with the default timers (config.go defaultTiming).
type ackTransport struct {
	*raft.NetworkTransport

	mu      sync.Mutex
	acks    map[raft.ServerID]ack
	waiters int           // waitQuorum calls blocked on changed
	changed chan struct{} // closed and replaced on a new ack while someone waits
}

type ack struct {
	term uint64
	sent time.Time
}

func newAckTransport(t *raft.NetworkTransport) *ackTransport {
	return &ackTransport{NetworkTransport: t, acks: map[raft.ServerID]ack{}, changed: make(chan struct{})}
}

// AppendEntries implements raft.Transport, recording accepted RPCs.
func (t *ackTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	sent := time.Now()
	err := t.NetworkTransport.AppendEntries(id, target, args, resp)
	if err == nil && resp.Success && resp.Term == args.Term {
		t.mu.Lock()
		if a := t.acks[id]; args.Term > a.term || (args.Term == a.term && sent.After(a.sent)) {
			t.acks[id] = ack{term: args.Term, sent: sent}
			// Every replication RPC passes here: wake waiters (and pay
			// for a new channel) only when a check is waiting.
			if t.waiters > 0 {
				close(t.changed)
				t.changed = make(chan struct{})
			}
		}
		t.mu.Unlock()
	}
	return err
}

// waitQuorum returns once the voters of conf other than self that accepted
// an RPC of term sent at or after since, plus self, make a majority of the
// voters. It fails when ctx ends first.
func (t *ackTransport) waitQuorum(ctx context.Context, conf raft.Configuration, self raft.ServerID, term uint64, since time.Time) error {
	voters := 0
	for _, s := range conf.Servers {
		if s.Suffrage == raft.Voter {
			voters++
		}
	}
	need := voters/2 + 1
	for {
		t.mu.Lock()
		got := 0
		for _, s := range conf.Servers {
			if s.Suffrage != raft.Voter {
				continue
			}
			if s.ID == self {
				got++
				continue
			}
			if a, ok := t.acks[s.ID]; ok && a.term == term && !a.sent.Before(since) {
				got++
			}
		}
		if got >= need {
			t.mu.Unlock()
			return nil
		}
		t.waiters++
		changed := t.changed
		t.mu.Unlock()
		var err error
		select {
		case <-ctx.Done():
			err = fmt.Errorf("%w: %d of %d voters acknowledged this leader since the check began", ErrNotLeader, got, need)
		case <-changed:
		}
		t.mu.Lock()
		t.waiters--
		t.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// confirmLeadership is the read-index check behind VerifyLeader: a
// quorum must accept, in this node's current term, RPCs sent after the
// check began. raft's VerifyLeader sends those RPCs (it triggers a
// heartbeat to every follower) and fails fast when a follower reports a
// newer term; the acknowledgements are then checked here.
func (b *Backend) confirmLeadership() error {
	since := time.Now()
	term := b.raft.CurrentTerm()
	if err := b.waitFuture(context.Background(), b.raft.VerifyLeader()); err != nil {
		return err
	}
	if b.acks == nil {
		return nil
	}
	cf := b.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return mapRaftErr(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.conf.ApplyTimeout)
	defer cancel()
	if err := b.acks.waitQuorum(ctx, cf.Configuration(), raft.ServerID(b.nodeID), term, since); err != nil {
		return err
	}
	if b.raft.CurrentTerm() != term || !b.IsLeader() {
		return ErrNotLeader
	}
	return nil
}

var _ raft.WithPreVote = (*ackTransport)(nil)
