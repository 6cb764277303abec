package physicaltest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/physical/inmem"
	"github.com/strongbox/strongbox/internal/physical/physicaltest"
)

var errBoom = errors.New("boom")

// nonTxn hides inmem's Transaction method.
type nonTxn struct{ physical.Backend }

func TestErrorInjectorPassesSuiteWhenIdle(t *testing.T) {
	physicaltest.Run(t, func(t *testing.T) physical.Backend {
		return physicaltest.NewErrorInjector(inmem.New(), errBoom).Backend()
	})
}

func TestErrorInjectorKeepsTransactionality(t *testing.T) {
	if _, ok := physicaltest.NewErrorInjector(inmem.New(), errBoom).Backend().(physical.Transactional); !ok {
		t.Fatal("wrapping a transactional backend lost Transactional")
	}
	if _, ok := physicaltest.NewErrorInjector(nonTxn{inmem.New()}, errBoom).Backend().(physical.Transactional); ok {
		t.Fatal("wrapping a non-transactional backend gained Transactional")
	}
}

func TestErrorInjectorFailAfter(t *testing.T) {
	ctx := context.Background()
	inner := inmem.New()
	inj := physicaltest.NewErrorInjector(inner, errBoom)
	b := inj.Backend()
	inj.FailAfter(2)
	for i, key := range []string{"a", "b"} {
		if err := b.Put(ctx, &physical.Entry{Key: key, Value: []byte("v")}); err != nil {
			t.Fatalf("call %d: %v, want success", i+1, err)
		}
	}
	for _, call := range []func() error{
		func() error { return b.Put(ctx, &physical.Entry{Key: "c", Value: []byte("v")}) },
		func() error { _, err := b.Get(ctx, "a"); return err },
		func() error { return b.Delete(ctx, "a") },
		func() error { _, err := b.List(ctx, ""); return err },
		func() error {
			return b.(physical.Transactional).Transaction(ctx, []*physical.TxnOp{{Op: physical.DeleteOp, Entry: &physical.Entry{Key: "b"}}})
		},
	} {
		if err := call(); !errors.Is(err, errBoom) {
			t.Fatalf("call after the limit: err = %v, want errBoom", err)
		}
	}
	if got := inj.Failures(); got != 5 {
		t.Fatalf("Failures() = %d, want 5", got)
	}
	// Failed calls never reached the backend.
	if got := inner.Dump(); len(got) != 2 || got["a"] == nil || got["b"] == nil {
		t.Fatalf("backend holds %v, want exactly a and b", got)
	}
	inj.Reset()
	if _, err := b.Get(ctx, "a"); err != nil {
		t.Fatalf("after Reset: %v", err)
	}
}

func TestErrorInjectorOps(t *testing.T) {
	ctx := context.Background()
	inj := physicaltest.NewErrorInjector(inmem.New(), errBoom)
	b := inj.Backend()
	inj.SetOps(physicaltest.OpPut)
	inj.SetFraction(1)
	if err := b.Put(ctx, &physical.Entry{Key: "k"}); !errors.Is(err, errBoom) {
		t.Fatalf("Put: %v, want errBoom", err)
	}
	if _, err := b.Get(ctx, "k"); err != nil {
		t.Fatalf("Get is not selected and must pass: %v", err)
	}
	if _, err := b.List(ctx, ""); err != nil {
		t.Fatalf("List is not selected and must pass: %v", err)
	}
	other := errors.New("other")
	inj.SetError(other)
	if err := b.Put(ctx, &physical.Entry{Key: "k"}); !errors.Is(err, other) {
		t.Fatalf("Put after SetError: %v, want other", err)
	}
}

func TestErrorInjectorFraction(t *testing.T) {
	ctx := context.Background()
	run := func(seed uint64) []bool {
		inj := physicaltest.NewErrorInjector(inmem.New(), errBoom)
		inj.SetSeed(seed)
		inj.SetFraction(0.3)
		b := inj.Backend()
		out := make([]bool, 2000)
		for i := range out {
			_, err := b.Get(ctx, "k")
			out[i] = err != nil
			if err != nil && !errors.Is(err, errBoom) {
				t.Fatalf("unexpected error %v", err)
			}
		}
		return out
	}
	a, again := run(42), run(42)
	failed := 0
	for i := range a {
		if a[i] != again[i] {
			t.Fatalf("same seed gave different outcomes at call %d", i)
		}
		if a[i] {
			failed++
		}
	}
	// 2000 draws at p=0.3: mean 600, sd ≈ 20; these bounds are > 7 sd wide.
	if failed < 450 || failed > 750 {
		t.Fatalf("%d of 2000 calls failed at fraction 0.3", failed)
	}
}
