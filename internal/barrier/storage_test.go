package barrier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

func TestListAndDelete(t *testing.T) {
	ctx := context.Background()
	b, raw, _ := newUnsealed(t)
	for _, k := range []string{"logical/u1/a", "logical/u1/b/c", "logical/u2/x", "sys/policy"} {
		mustPut(t, b, k, "v-"+k)
	}
	got, err := b.List(ctx, "logical/")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"u1/", "u2/"}; !slices.Equal(got, want) {
		t.Fatalf("List(logical/) = %q, want %q", got, want)
	}
	got, _ = b.List(ctx, "logical/u1/")
	if want := []string{"a", "b/"}; !slices.Equal(got, want) {
		t.Fatalf("List(logical/u1/) = %q, want %q", got, want)
	}

	if err := b.Delete(ctx, "logical/u1/a"); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "logical/never-was"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if e, err := b.Get(ctx, "logical/u1/a"); e != nil || err != nil {
		t.Fatalf("Get after Delete = %v, %v", e, err)
	}
	if _, ok := raw.Dump()["logical/u1/a"]; ok {
		t.Fatal("Delete left the raw value")
	}
}

func TestPutDoesNotKeepCallerBuffers(t *testing.T) {
	b, raw, _ := newUnsealed(t)
	entry := &physical.Entry{Key: "k", Value: []byte("original")}
	if err := b.Put(context.Background(), entry); err != nil {
		t.Fatal(err)
	}
	if string(entry.Value) != "original" {
		t.Fatalf("Put changed the caller's entry to %q", entry.Value)
	}
	copy(entry.Value, "CHANGED!")
	mustGet(t, b, "k", "original")
	if bytes.Contains(raw.Dump()["k"], []byte("original")) {
		t.Fatal("raw value holds the plaintext")
	}
	if err := b.Put(context.Background(), nil); err == nil {
		t.Fatal("Put(nil) succeeded")
	}
	// An empty value is a value.
	mustPut(t, b, "empty", "")
	mustGet(t, b, "empty", "")
}

func TestTransaction(t *testing.T) {
	backends := []struct {
		name string
		make func() (physical.Backend, *inmem.Backend)
	}{
		{"transactional backend", func() (physical.Backend, *inmem.Backend) { r := inmem.New(); return r, r }},
		{"plain backend", func() (physical.Backend, *inmem.Backend) { r := inmem.New(); return plainBackend{r}, r }},
	}
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) {
			ctx := context.Background()
			storage, raw := bk.make()
			b := New(storage)
			root, _ := GenerateKey()
			if err := b.Initialize(ctx, root); err != nil {
				t.Fatal(err)
			}
			if err := b.Unseal(ctx, root); err != nil {
				t.Fatal(err)
			}
			mustPut(t, b, "gone", "soon")
			ops := []*physical.TxnOp{
				{Op: physical.PutOp, Entry: &physical.Entry{Key: "a", Value: []byte("alpha")}},
				{Op: physical.PutOp, Entry: &physical.Entry{Key: "b", Value: []byte("beta")}},
				{Op: physical.DeleteOp, Entry: &physical.Entry{Key: "gone"}},
				{Op: physical.PutOp, Entry: &physical.Entry{Key: "a", Value: []byte("alpha2")}}, // later op wins
			}
			if err := b.Transaction(ctx, ops); err != nil {
				t.Fatal(err)
			}
			mustGet(t, b, "a", "alpha2")
			mustGet(t, b, "b", "beta")
			if e, _ := b.Get(ctx, "gone"); e != nil {
				t.Fatal("deleted key still there")
			}
			if string(ops[0].Entry.Value) != "alpha" {
				t.Fatal("Transaction changed the caller's op")
			}
			dump := raw.Dump()
			for _, pt := range []string{"alpha", "beta"} {
				for k, v := range dump {
					if bytes.Contains(v, []byte(pt)) {
						t.Fatalf("raw %q holds plaintext %q", k, pt)
					}
				}
			}

			invalid := []struct {
				name string
				ops  []*physical.TxnOp
			}{
				{"nil op", []*physical.TxnOp{nil}},
				{"nil entry", []*physical.TxnOp{{Op: physical.PutOp}}},
				{"unknown op", []*physical.TxnOp{{Op: physical.OpType(42), Entry: &physical.Entry{Key: "z"}}}},
				{"bad op after good", []*physical.TxnOp{
					{Op: physical.PutOp, Entry: &physical.Entry{Key: "z", Value: []byte("z")}},
					{Op: 0, Entry: &physical.Entry{Key: "y"}},
				}},
			}
			for _, tt := range invalid {
				if err := b.Transaction(ctx, tt.ops); err == nil {
					t.Fatalf("%s: Transaction succeeded", tt.name)
				}
			}
			if e, _ := b.Get(ctx, "z"); e != nil {
				t.Fatal("a rejected transaction applied an op")
			}
			if err := b.Transaction(ctx, nil); err != nil {
				t.Fatalf("empty transaction: %v", err)
			}
		})
	}
}

func TestConcurrentPutGetRotate(t *testing.T) {
	ctx := context.Background()
	b, _, root := newUnsealed(t)
	const workers, perWorker, rotations = 8, 100, 20

	var wg sync.WaitGroup
	errs := make(chan error, workers+2)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				key := fmt.Sprintf("w%d/k%d", w, i%10)
				val := fmt.Sprintf("w%d-v%d", w, i)
				if err := b.Put(ctx, &physical.Entry{Key: key, Value: []byte(val)}); err != nil {
					errs <- err
					return
				}
				e, err := b.Get(ctx, key)
				if err != nil {
					errs <- err
					return
				}
				if e == nil || string(e.Value) != val {
					errs <- fmt.Errorf("read back %q: got %v", key, e)
					return
				}
				if _, err := b.List(ctx, fmt.Sprintf("w%d/", w)); err != nil {
					errs <- err
					return
				}
				if _, err := b.KeyStatus(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range rotations {
			if _, err := b.Rotate(ctx); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range rotations {
			if err := b.Transaction(ctx, []*physical.TxnOp{
				{Op: physical.PutOp, Entry: &physical.Entry{Key: "txn/a", Value: []byte("a")}},
				{Op: physical.DeleteOp, Entry: &physical.Entry{Key: "txn/b"}},
			}); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	st, _ := b.KeyStatus()
	if st.Term != 1+rotations {
		t.Fatalf("active term %d, want %d", st.Term, 1+rotations)
	}
	// Everything written under whichever term was active still reads,
	// here and after a restart.
	b.Seal()
	if err := b.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	for w := range workers {
		for i := perWorker - 10; i < perWorker; i++ {
			mustGet(t, b, fmt.Sprintf("w%d/k%d", w, i%10), fmt.Sprintf("w%d-v%d", w, i))
		}
	}
}

func TestConcurrentSealAndGet(t *testing.T) {
	ctx := context.Background()
	b, _, root := newUnsealed(t)
	mustPut(t, b, "k", "v")
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				e, err := b.Get(ctx, "k")
				switch {
				case errors.Is(err, ErrSealed):
				case err != nil:
					t.Errorf("Get: %v", err)
					return
				case string(e.Value) != "v":
					t.Errorf("Get returned %q", e.Value)
					return
				}
			}
		}()
	}
	for range 50 {
		b.Seal()
		if err := b.Unseal(ctx, root); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}

func benchValue() []byte { return bytes.Repeat([]byte("x"), 1024) }

func BenchmarkPut(b *testing.B) {
	br, _, _ := newUnsealed(b)
	ctx := context.Background()
	value := benchValue()
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := br.Put(ctx, &physical.Entry{Key: fmt.Sprintf("bench/%d", i%1024), Value: value}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkGet(b *testing.B) {
	br, _, _ := newUnsealed(b)
	ctx := context.Background()
	value := benchValue()
	for i := range 1024 {
		if err := br.Put(ctx, &physical.Entry{Key: fmt.Sprintf("bench/%d", i), Value: value}); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e, err := br.Get(ctx, fmt.Sprintf("bench/%d", i%1024))
		if err != nil || e == nil {
			b.Fatal(err)
		}
		i++
	}
}
