package raft

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// Coalescing limits.
const (
	// pipelineDepth is how many raft entries the dispatcher keeps in flight:
	// one being committed and applied while the next is cut and written to
	// the log. While both are, writers queue, and the next entry takes every
	// write waiting (up to coalesceTarget bytes), however many they are.
	// Each entry costs the state machine one bbolt transaction (raft hands
	// the FSM one group per commit), and that transaction, not the log
	// fsync, is the slowest step (BenchmarkWriteBreakdown: about 2 ms for
	// the FSM against 1 ms for the log), so fewer, fuller entries win:
	// with 32 writers a depth of 2 carried 10–16 writes per entry and
	// doubled the throughput of the earlier depth of 8 (3 writes per
	// entry), and no limit at all (one write per entry) ran at a third of
	// depth 2, on one node as on three (bench/results/2026-12-07-raft.txt).
	pipelineDepth = 2
	// coalesceTarget caps the bytes the dispatcher folds into one entry: big
	// entries delay heartbeats behind them. A single larger write (up to
	// MaxEntrySize) still goes alone.
	coalesceTarget = 512 << 10
	// queueDepth is the writers' queue; a full queue blocks writers (within
	// ApplyTimeout), which is the back-pressure.
	queueDepth = 4096
)

// applier submits a command to raft; it is raft.Raft.Apply, or a fake in tests.
type applier func(cmd []byte, timeout time.Duration) raft.ApplyFuture

// writeReq is one caller's write waiting to be committed.
type writeReq struct {
	ctx  context.Context
	body []byte     // encoded ops, without the command's version byte
	done chan error // buffered: the dispatcher's waiter never blocks on it
}

// batcher turns concurrent writes into few raft entries.
//
// Writers enqueue their encoded ops and wait. One dispatcher goroutine takes
// the oldest write, waits for a free pipeline slot, then folds every write
// queued by then (up to coalesceTarget bytes) into one command and hands it
// to raft. So a lone writer's entry goes out at once, and under load each
// entry carries everything that arrived while the previous ones were being
// committed. Each entry's waiter reports its result to all of its writers.
type batcher struct {
	apply   applier
	timeout time.Duration
	target  int
	direct  bool // no coalescing: each write is its own entry (benchmarks)

	queue chan *writeReq
	slots chan struct{}
	stop  chan struct{}
	wg    sync.WaitGroup // the dispatcher

	stopOnce sync.Once
	entries  atomic.Uint64 // raft entries submitted
	writes   atomic.Uint64 // writes carried by them
}

func newBatcher(apply applier, timeout time.Duration, target, inFlight int, direct bool) *batcher {
	q := &batcher{
		apply:   apply,
		timeout: timeout,
		target:  target,
		direct:  direct,
		queue:   make(chan *writeReq, queueDepth),
		slots:   make(chan struct{}, inFlight),
		stop:    make(chan struct{}),
	}
	if !direct {
		q.wg.Add(1)
		go q.run()
	}
	return q
}

// close stops the dispatcher; queued and in-flight writes fail with
// ErrClosed (those already handed to raft may still be applied).
func (q *batcher) close() {
	q.stopOnce.Do(func() { close(q.stop) })
	q.wg.Wait()
}

// submit writes body and returns once it is applied on this node's FSM, or
// fails: ErrCommitTimeout after the timeout, ctx's error when ctx ends
// (before the write reached raft nothing was changed; after, the outcome
// is unknown), ErrClosed, or raft's mapped error.
func (q *batcher) submit(ctx context.Context, body []byte) error {
	timer := time.NewTimer(q.timeout)
	defer timer.Stop()
	if q.direct {
		return q.await(q.apply(newCommand(body), q.timeout), timer.C)
	}
	req := &writeReq{ctx: ctx, body: body, done: make(chan error, 1)}
	select {
	case q.queue <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("%w: the write queue stayed full", ErrCommitTimeout)
	case <-q.stop:
		return ErrClosed
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return ErrCommitTimeout
	case <-q.stop:
		return ErrClosed
	}
}

func (q *batcher) run() {
	defer q.wg.Done()
	var next *writeReq // taken from the queue but left for the next entry
	for {
		first := next
		next = nil
		if first == nil {
			select {
			case first = <-q.queue:
			case <-q.stop:
				return
			}
		}
		// Writes arriving while we wait for a slot join this entry: this is
		// where coalescing happens under load.
		select {
		case q.slots <- struct{}{}:
		case <-q.stop:
			first.done <- ErrClosed
			return
		}
		batch := []*writeReq{first}
		size := len(first.body)
	drain:
		for size < q.target {
			select {
			case r := <-q.queue:
				if size+len(r.body) > q.target {
					next = r
					break drain
				}
				batch = append(batch, r)
				size += len(r.body)
			default:
				break drain
			}
		}
		// A writer that gave up before its write reached raft is dropped, so
		// its error (ctx's) truly means "not applied".
		live := batch[:0]
		bodies := make([][]byte, 0, len(batch))
		for _, r := range batch {
			if err := r.ctx.Err(); err != nil {
				r.done <- err
				continue
			}
			live = append(live, r)
			bodies = append(bodies, r.body)
		}
		if len(live) == 0 {
			<-q.slots
			continue
		}
		fut := q.apply(newCommand(bodies...), q.timeout)
		q.entries.Add(1)
		q.writes.Add(uint64(len(live)))
		go q.finish(fut, live)
	}
}

// finish waits for one entry and reports to its writers, then frees the slot.
func (q *batcher) finish(fut raft.ApplyFuture, reqs []*writeReq) {
	defer func() { <-q.slots }()
	timer := time.NewTimer(q.timeout)
	defer timer.Stop()
	err := q.await(fut, timer.C)
	for _, r := range reqs {
		r.done <- err
	}
}

// await waits for fut within timeout. The goroutine reading fut ends when
// raft resolves it, which raft does on commit, leadership loss or shutdown.
func (q *batcher) await(fut raft.ApplyFuture, timeout <-chan time.Time) error {
	errc := make(chan error, 1)
	go func() { errc <- futureResult(fut) }()
	select {
	case err := <-errc:
		return err
	case <-timeout:
		return ErrCommitTimeout
	case <-q.stop:
		return ErrClosed
	}
}

// futureResult is raft's error, else the FSM's response error.
func futureResult(fut raft.ApplyFuture) error {
	if err := fut.Error(); err != nil {
		return mapRaftErr(err)
	}
	if err, ok := fut.Response().(error); ok && err != nil {
		return err
	}
	return nil
}
