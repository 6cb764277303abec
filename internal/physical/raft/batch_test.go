package raft

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// fakeFuture is an ApplyFuture the test resolves by closing done.
type fakeFuture struct {
	done chan struct{}
	err  error
	resp any
}

func (f *fakeFuture) Error() error  { <-f.done; return f.err }
func (f *fakeFuture) Index() uint64 { return 0 }
func (f *fakeFuture) Response() any { <-f.done; return f.resp }

// fakeRaft records the commands it is given and resolves them on demand.
type fakeRaft struct {
	mu       sync.Mutex
	cmds     [][]byte
	futures  []*fakeFuture
	received chan struct{}
}

func newFakeRaft() *fakeRaft { return &fakeRaft{received: make(chan struct{}, 100)} }

func (r *fakeRaft) apply(cmd []byte, _ time.Duration) raft.ApplyFuture {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := &fakeFuture{done: make(chan struct{})}
	r.cmds = append(r.cmds, cmd)
	r.futures = append(r.futures, f)
	r.received <- struct{}{}
	return f
}

func (r *fakeRaft) resolve(i int, err error, resp any) {
	r.mu.Lock()
	f := r.futures[i]
	r.mu.Unlock()
	f.err, f.resp = err, resp
	close(f.done)
}

func (r *fakeRaft) ops(t *testing.T, i int) []op {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	ops, err := decodeCommand(r.cmds[i])
	if err != nil {
		t.Fatalf("command %d: %v", i, err)
	}
	return ops
}

func waitReceived(t *testing.T, r *fakeRaft) {
	t.Helper()
	select {
	case <-r.received:
	case <-time.After(waitTimeout):
		t.Fatal("no command reached raft")
	}
}

// TestBatcherCoalesces holds the only in-flight entry open while writers
// queue up; they must all travel in the next entry.
func TestBatcherCoalesces(t *testing.T) {
	fr := newFakeRaft()
	q := newBatcher(fr.apply, waitTimeout, coalesceTarget, 1, false)
	defer q.close()
	ctx := context.Background()
	errs := make(chan error, 10)
	go func() { errs <- q.submit(ctx, appendPut(nil, "first", nil)) }()
	waitReceived(t, fr)
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		go func() { errs <- q.submit(ctx, appendPut(nil, k, []byte(k))) }()
	}
	// The dispatcher holds one of them while it waits for the busy slot.
	waitFor(t, "five queued writes", func() bool { return len(q.queue) == 4 })
	fr.resolve(0, nil, nil)
	if err := <-errs; err != nil {
		t.Fatalf("first write: %v", err)
	}
	waitReceived(t, fr)
	if ops := fr.ops(t, 1); len(ops) != 5 {
		t.Fatalf("second entry carries %d writes, want 5", len(ops))
	}
	fr.resolve(1, nil, nil)
	for range 5 {
		if err := <-errs; err != nil {
			t.Fatalf("coalesced write: %v", err)
		}
	}
	if q.entries.Load() != 2 || q.writes.Load() != 6 {
		t.Fatalf("entries %d writes %d, want 2, 6", q.entries.Load(), q.writes.Load())
	}
}

func TestBatcherErrors(t *testing.T) {
	fsmErr := errors.New("fsm says no")
	tests := []struct {
		name      string
		raftErr   error
		resp      any
		want      error
		unresolve bool
	}{
		{"applied", nil, nil, nil, false},
		{"fsm error", nil, fsmErr, fsmErr, false},
		{"not leader", raft.ErrNotLeader, nil, ErrNotLeader, false},
		{"leadership lost", raft.ErrLeadershipLost, nil, ErrLeadershipLost, false},
		{"shutdown", raft.ErrRaftShutdown, nil, ErrClosed, false},
		{"enqueue timeout", raft.ErrEnqueueTimeout, nil, ErrCommitTimeout, false},
		{"never committed", nil, nil, ErrCommitTimeout, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fr := newFakeRaft()
			q := newBatcher(fr.apply, 200*time.Millisecond, coalesceTarget, 1, false)
			defer q.close()
			errc := make(chan error, 1)
			go func() { errc <- q.submit(context.Background(), appendPut(nil, "k", nil)) }()
			waitReceived(t, fr)
			if !tc.unresolve {
				fr.resolve(0, tc.raftErr, tc.resp)
			}
			select {
			case err := <-errc:
				if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
			case <-time.After(waitTimeout):
				t.Fatal("submit hung")
			}
		})
	}
}

// TestBatcherDropsCancelled: a writer that gives up while queued is not
// sent to raft, so its error truly means "not applied".
func TestBatcherDropsCancelled(t *testing.T) {
	fr := newFakeRaft()
	q := newBatcher(fr.apply, waitTimeout, coalesceTarget, 1, false)
	defer q.close()
	errc := make(chan error, 1)
	go func() { errc <- q.submit(context.Background(), appendPut(nil, "first", nil)) }()
	waitReceived(t, fr)
	// A write whose caller gave up while it waited in the queue.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := &writeReq{ctx: ctx, body: appendPut(nil, "cancelled", nil), done: make(chan error, 1)}
	q.queue <- req
	fr.resolve(0, nil, nil)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-req.done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled write: err = %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("cancelled write never answered")
	}
	q.close()
	if len(fr.cmds) != 1 {
		t.Fatalf("raft received %d commands, want 1", len(fr.cmds))
	}
}

func TestBatcherClose(t *testing.T) {
	fr := newFakeRaft()
	q := newBatcher(fr.apply, waitTimeout, coalesceTarget, 1, false)
	errc := make(chan error, 1)
	go func() { errc <- q.submit(context.Background(), appendPut(nil, "k", nil)) }()
	waitReceived(t, fr)
	q.close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("in-flight write at close: err = %v, want ErrClosed", err)
	}
	if err := q.submit(context.Background(), appendPut(nil, "k", nil)); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: err = %v, want ErrClosed", err)
	}
}

func TestBatcherDirect(t *testing.T) {
	fr := newFakeRaft()
	q := newBatcher(fr.apply, waitTimeout, coalesceTarget, 1, true)
	defer q.close()
	errc := make(chan error, 1)
	go func() { errc <- q.submit(context.Background(), appendPut(nil, "k", []byte("v"))) }()
	waitReceived(t, fr)
	fr.resolve(0, nil, nil)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if ops := fr.ops(t, 0); len(ops) != 1 || string(ops[0].key) != "k" {
		t.Fatalf("direct command = %+v", ops)
	}
}

// TestBatcherPipelinesTwoEntries: with the production depth, two entries
// are in flight (one committing, the next cut), never more; every write
// that queues meanwhile, however many, travels in the entry cut when one
// of them resolves.
func TestBatcherPipelinesTwoEntries(t *testing.T) {
	fr := newFakeRaft()
	q := newBatcher(fr.apply, waitTimeout, coalesceTarget, pipelineDepth, false)
	defer q.close()
	ctx := context.Background()
	errs := make(chan error, 100)
	for _, k := range []string{"first", "second"} {
		go func() { errs <- q.submit(ctx, appendPut(nil, k, nil)) }()
		waitReceived(t, fr)
	}
	const queued = 40
	for i := range queued {
		go func() { errs <- q.submit(ctx, appendPut(nil, string(rune('a'+i%26))+string(rune('0'+i/26)), nil)) }()
	}
	// The dispatcher holds one of them while both slots are busy.
	waitFor(t, "the queued writes", func() bool { return len(q.queue) == queued-1 })
	select {
	case <-fr.received:
		t.Fatal("a third entry reached raft while two were in flight")
	default:
	}
	fr.resolve(0, nil, nil)
	waitReceived(t, fr)
	if ops := fr.ops(t, 2); len(ops) != queued {
		t.Fatalf("third entry carries %d writes, want all %d queued", len(ops), queued)
	}
	fr.resolve(1, nil, nil)
	fr.resolve(2, nil, nil)
	for range queued + 2 {
		if err := <-errs; err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	if q.entries.Load() != 3 || q.writes.Load() != queued+2 {
		t.Fatalf("entries %d writes %d, want 3, %d", q.entries.Load(), q.writes.Load(), queued+2)
	}
}
