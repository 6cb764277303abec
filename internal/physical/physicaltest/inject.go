package physicaltest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/strongbox/strongbox/internal/physical"
)

// Op names a Backend method, for choosing which calls an ErrorInjector fails.
type Op string

// The operations an ErrorInjector can fail.
const (
	OpGet         Op = "get"
	OpPut         Op = "put"
	OpDelete      Op = "delete"
	OpList        Op = "list"
	OpTransaction Op = "transaction"
)

// ErrorInjector wraps a Backend and fails some of its calls with a chosen
// error, wrapped so that errors.Is(err, chosen) holds. A failed call never
// reaches the wrapped backend, so it changes nothing.
//
// Until configured it fails nothing. Fractional failures use a seeded
// generator, so a test run is repeatable. All methods are safe for
// concurrent use. Use Backend to get the value to hand to code under test:
// it is transactional exactly when the wrapped backend is.
type ErrorInjector struct {
	inner physical.Backend

	mu       sync.Mutex
	err      error
	fraction float64
	after    int // calls that succeed before every matching call fails; -1: off
	ops      map[Op]bool
	rng      *rand.Rand
	calls    int // matching calls seen
	failures int
}

// NewErrorInjector wraps b; failing calls return err.
func NewErrorInjector(b physical.Backend, err error) *ErrorInjector {
	return &ErrorInjector{
		inner: b,
		err:   err,
		after: -1,
		rng:   rand.New(rand.NewPCG(1, 2)),
	}
}

// Backend returns the wrapped backend with failures injected. It implements
// physical.Transactional when the wrapped backend does, and physical.Closer
// always (closing the wrapped backend when it is a Closer).
func (e *ErrorInjector) Backend() physical.Backend {
	if _, ok := e.inner.(physical.Transactional); ok {
		return txnInjector{backendInjector{e}}
	}
	return backendInjector{e}
}

// SetError changes the error that failing calls return.
func (e *ErrorInjector) SetError(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.err = err
}

// SetFraction makes each matching call fail with probability f (0 disables,
// 1 fails every call). Values outside [0, 1] are clamped.
func (e *ErrorInjector) SetFraction(f float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fraction = min(max(f, 0), 1)
}

// FailAfter lets the next n matching calls succeed and fails every one after
// them; a negative n turns this off. The count starts now.
func (e *ErrorInjector) FailAfter(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.after = n
	e.calls = 0
}

// SetOps limits failures to the given operations; with none, every
// operation can fail.
func (e *ErrorInjector) SetOps(ops ...Op) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ops = nil
	if len(ops) > 0 {
		e.ops = make(map[Op]bool, len(ops))
		for _, op := range ops {
			e.ops[op] = true
		}
	}
}

// SetSeed reseeds the generator behind SetFraction.
func (e *ErrorInjector) SetSeed(seed uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Reset turns all failures off and zeroes the counters.
func (e *ErrorInjector) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fraction, e.after, e.ops, e.calls, e.failures = 0, -1, nil, 0, 0
}

// Failures returns how many calls have been failed so far.
func (e *ErrorInjector) Failures() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.failures
}

// check decides whether this call fails and returns the error if so.
func (e *ErrorInjector) check(op Op, key string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ops != nil && !e.ops[op] {
		return nil
	}
	e.calls++
	fail := e.after >= 0 && e.calls > e.after
	if !fail && e.fraction > 0 {
		fail = e.fraction >= 1 || e.rng.Float64() < e.fraction
	}
	if !fail {
		return nil
	}
	e.failures++
	return fmt.Errorf("physicaltest: injected failure on %s %q: %w", op, key, e.err)
}

type backendInjector struct{ e *ErrorInjector }

func (b backendInjector) Get(ctx context.Context, key string) (*physical.Entry, error) {
	if err := b.e.check(OpGet, key); err != nil {
		return nil, err
	}
	return b.e.inner.Get(ctx, key)
}

func (b backendInjector) Put(ctx context.Context, entry *physical.Entry) error {
	if err := b.e.check(OpPut, entry.Key); err != nil {
		return err
	}
	return b.e.inner.Put(ctx, entry)
}

func (b backendInjector) Delete(ctx context.Context, key string) error {
	if err := b.e.check(OpDelete, key); err != nil {
		return err
	}
	return b.e.inner.Delete(ctx, key)
}

func (b backendInjector) List(ctx context.Context, prefix string) ([]string, error) {
	if err := b.e.check(OpList, prefix); err != nil {
		return nil, err
	}
	return b.e.inner.List(ctx, prefix)
}

func (b backendInjector) Close() error {
	if c, ok := b.e.inner.(physical.Closer); ok {
		return c.Close()
	}
	return nil
}

type txnInjector struct{ backendInjector }

func (b txnInjector) Transaction(ctx context.Context, ops []*physical.TxnOp) error {
	key := ""
	if len(ops) > 0 && ops[0] != nil && ops[0].Entry != nil {
		key = ops[0].Entry.Key
	}
	if err := b.e.check(OpTransaction, key); err != nil {
		return err
	}
	return b.e.inner.(physical.Transactional).Transaction(ctx, ops)
}

var (
	_ physical.Backend       = backendInjector{}
	_ physical.Closer        = backendInjector{}
	_ physical.Transactional = txnInjector{}
)
