package physicaltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/strongbox/strongbox/internal/physical"
)

// LargeValueSize is the size of the value the suite stores to check that a
// backend handles big entries (a KV secret with many versions, a large policy).
const LargeValueSize = 4 << 20

// Run runs the conformance suite against backends made by newBackend. Each
// subtest gets a fresh, empty backend; newBackend registers any cleanup
// (closing files, dropping tables) with t.Cleanup. Transaction subtests run
// only when the backend implements physical.Transactional.
func Run(t *testing.T, newBackend func(t *testing.T) physical.Backend) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, b physical.Backend)
	}{
		{"GetMissing", testGetMissing},
		{"PutGetOverwrite", testPutGetOverwrite},
		{"Delete", testDelete},
		{"ValuesAreCopied", testValuesAreCopied},
		{"EmptyValue", testEmptyValue},
		{"BinaryValue", testBinaryValue},
		{"LargeValue", testLargeValue},
		{"KeyCharacters", testKeyCharacters},
		{"List", testList},
		{"ListMany", testListMany},
		{"Concurrency", testConcurrency},
		{"CancelledContext", testCancelledContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newBackend(t)) })
	}

	// Probe once: transaction subtests only make sense for backends that
	// offer them.
	if _, ok := newBackend(t).(physical.Transactional); !ok {
		return
	}
	txnTests := []struct {
		name string
		fn   func(t *testing.T, b physical.Transactional)
	}{
		{"TransactionApplies", testTxnApplies},
		{"TransactionOrder", testTxnOrder},
		{"TransactionEmpty", testTxnEmpty},
		{"TransactionAtomicVisibility", testTxnAtomicVisibility},
		{"TransactionCancelledContext", testTxnCancelled},
	}
	for _, tc := range txnTests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newBackend(t).(physical.Transactional))
		})
	}
}

func mustPut(t *testing.T, b physical.Backend, key string, value []byte) {
	t.Helper()
	if err := b.Put(context.Background(), &physical.Entry{Key: key, Value: value}); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func mustGet(t *testing.T, b physical.Backend, key string) *physical.Entry {
	t.Helper()
	e, err := b.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if e != nil && e.Key != key {
		t.Fatalf("Get(%q) returned entry with key %q", key, e.Key)
	}
	return e
}

func mustDelete(t *testing.T, b physical.Backend, key string) {
	t.Helper()
	if err := b.Delete(context.Background(), key); err != nil {
		t.Fatalf("Delete(%q): %v", key, err)
	}
}

func mustList(t *testing.T, b physical.Backend, prefix string) []string {
	t.Helper()
	keys, err := b.List(context.Background(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return keys
}

// wantValue fails unless key holds exactly value.
func wantValue(t *testing.T, b physical.Backend, key string, value []byte) {
	t.Helper()
	e := mustGet(t, b, key)
	if e == nil {
		t.Fatalf("Get(%q) = nil, want %d bytes", key, len(value))
	}
	if !bytes.Equal(e.Value, value) {
		t.Fatalf("Get(%q) = %s, want %s", key, short(e.Value), short(value))
	}
}

func wantMissing(t *testing.T, b physical.Backend, key string) {
	t.Helper()
	if e := mustGet(t, b, key); e != nil {
		t.Fatalf("Get(%q) = %s, want nil", key, short(e.Value))
	}
}

func short(v []byte) string {
	if len(v) > 32 {
		return fmt.Sprintf("%q… (%d bytes)", v[:32], len(v))
	}
	return fmt.Sprintf("%q", v)
}

func testGetMissing(t *testing.T, b physical.Backend) {
	e, err := b.Get(context.Background(), "does/not/exist")
	if err != nil || e != nil {
		t.Fatalf("Get(missing) = %v, %v; want nil, nil", e, err)
	}
	if keys := mustList(t, b, ""); len(keys) != 0 {
		t.Fatalf("List(\"\") on an empty backend = %q, want none", keys)
	}
}

func testPutGetOverwrite(t *testing.T, b physical.Backend) {
	mustPut(t, b, "foo", []byte("bar"))
	wantValue(t, b, "foo", []byte("bar"))
	mustPut(t, b, "foo", []byte("baz, longer than before"))
	wantValue(t, b, "foo", []byte("baz, longer than before"))
	mustPut(t, b, "foo", []byte("q"))
	wantValue(t, b, "foo", []byte("q"))
	// A neighbour is untouched.
	mustPut(t, b, "foo2", []byte("other"))
	wantValue(t, b, "foo", []byte("q"))
	wantValue(t, b, "foo2", []byte("other"))
}

func testDelete(t *testing.T, b physical.Backend) {
	mustPut(t, b, "a/b", []byte("1"))
	mustPut(t, b, "a/c", []byte("2"))
	mustDelete(t, b, "a/b")
	wantMissing(t, b, "a/b")
	wantValue(t, b, "a/c", []byte("2"))
	// Deleting again, or deleting what never existed, is not an error.
	mustDelete(t, b, "a/b")
	mustDelete(t, b, "never/existed")
	if got := mustList(t, b, "a/"); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("List(a/) after delete = %q, want [c]", got)
	}
	mustDelete(t, b, "a/c")
	if got := mustList(t, b, ""); len(got) != 0 {
		t.Fatalf("List(\"\") after deleting everything = %q, want none", got)
	}
	// A deleted key can be written again.
	mustPut(t, b, "a/b", []byte("3"))
	wantValue(t, b, "a/b", []byte("3"))
}

// testValuesAreCopied checks that a backend neither keeps the caller's slice
// nor hands out its internal buffer: the barrier reuses buffers.
func testValuesAreCopied(t *testing.T, b physical.Backend) {
	v := []byte("original")
	mustPut(t, b, "k", v)
	copy(v, "XXXXXXXX")
	wantValue(t, b, "k", []byte("original"))
	e := mustGet(t, b, "k")
	copy(e.Value, "YYYYYYYY")
	wantValue(t, b, "k", []byte("original"))
}

func testEmptyValue(t *testing.T, b physical.Backend) {
	for _, v := range [][]byte{{}, nil} {
		mustPut(t, b, "empty", v)
		e := mustGet(t, b, "empty")
		if e == nil {
			t.Fatalf("Get(empty) = nil after storing an empty value; an empty value must still exist")
		}
		if len(e.Value) != 0 {
			t.Fatalf("Get(empty) = %s, want empty", short(e.Value))
		}
		if got := mustList(t, b, ""); !slices.Equal(got, []string{"empty"}) {
			t.Fatalf("List(\"\") = %q, want [empty]", got)
		}
		mustDelete(t, b, "empty")
		wantMissing(t, b, "empty")
	}
}

func testBinaryValue(t *testing.T, b physical.Backend) {
	all := make([]byte, 256*4)
	for i := range all {
		all[i] = byte(i)
	}
	values := map[string][]byte{
		"bin/all-bytes":    all,
		"bin/zeros":        make([]byte, 100),
		"bin/leading-nul":  []byte("\x00abc"),
		"bin/invalid-utf8": {0xff, 0xfe, 0xfd, 0xc3, 0x28},
		"bin/newlines":     []byte("a\r\nb\n\x00\n"),
	}
	for k, v := range values {
		mustPut(t, b, k, v)
	}
	for k, v := range values {
		wantValue(t, b, k, v)
	}
}

func testLargeValue(t *testing.T, b physical.Backend) {
	v := make([]byte, LargeValueSize)
	for i := range v {
		v[i] = byte(i*7 + i>>9)
	}
	mustPut(t, b, "large/one", v)
	wantValue(t, b, "large/one", v)
	// Overwrite a large value with a small one and back.
	mustPut(t, b, "large/one", []byte("small"))
	wantValue(t, b, "large/one", []byte("small"))
	v[0], v[len(v)-1] = 1, 2
	mustPut(t, b, "large/one", v)
	wantValue(t, b, "large/one", v)
}

func testKeyCharacters(t *testing.T, b physical.Backend) {
	keys := []string{
		"with space/key",
		"unicode/ключ/秘密",
		"symbols/!@#$%^&*()_+-=[]{};':\",.<>?|`~",
		"dots/../..",
		"x",
		"deep/a/b/c/d/e/f/g/h/i/j/k",
	}
	for i, k := range keys {
		mustPut(t, b, k, []byte{byte(i)})
	}
	for i, k := range keys {
		wantValue(t, b, k, []byte{byte(i)})
	}
	if got, want := mustList(t, b, "unicode/"), []string{"ключ/"}; !slices.Equal(got, want) {
		t.Fatalf("List(unicode/) = %q, want %q", got, want)
	}
	if got, want := mustList(t, b, "symbols/"), []string{"!@#$%^&*()_+-=[]{};':\",.<>?|`~"}; !slices.Equal(got, want) {
		t.Fatalf("List(symbols/) = %q, want %q", got, want)
	}
}

func testList(t *testing.T, b physical.Backend) {
	for _, k := range []string{
		"foo",
		"foo/bar",
		"foo/baz/one",
		"foo/baz/two",
		"foo/baz/deeper/three",
		"foo/zip",
		"foo-bar",
		"foo0",
		"foob",
		"a",
		"a/b",
		"z/y/x",
	} {
		mustPut(t, b, k, []byte(k))
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		// Immediate children only, folders once with a trailing slash,
		// sorted bytewise ('-' < '/' < '0' < 'b').
		{"", []string{"a", "a/", "foo", "foo-bar", "foo/", "foo0", "foob", "z/"}},
		{"foo/", []string{"bar", "baz/", "zip"}},
		{"foo/baz/", []string{"deeper/", "one", "two"}},
		{"foo/baz/deeper/", []string{"three"}},
		{"a/", []string{"b"}},
		{"z/", []string{"y/"}},
		{"z/y/", []string{"x"}},
		// A prefix that is not a folder lists what follows it.
		{"foo", []string{"-bar", "/", "0", "b"}},
		{"foo/ba", []string{"r", "z/"}},
		// Nothing under these.
		{"nothing/", nil},
		{"foo/bar/", nil},
		{"zz", nil},
	}
	for _, tc := range tests {
		got := mustList(t, b, tc.prefix)
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

// testListMany lists a folder with many children and large subfolders, so a
// backend that skips over subtrees while listing is exercised.
func testListMany(t *testing.T, b physical.Backend) {
	var want []string
	for i := range 300 {
		name := fmt.Sprintf("k%03d", i)
		if i%3 == 0 {
			for j := range 5 {
				mustPut(t, b, fmt.Sprintf("many/%s/%d", name, j), []byte("v"))
			}
			name += "/"
		} else {
			mustPut(t, b, "many/"+name, []byte("v"))
		}
		want = append(want, name)
	}
	mustPut(t, b, "many0", []byte("after the folder"))
	mustPut(t, b, "man", []byte("before the folder"))
	if got := mustList(t, b, "many/"); !slices.Equal(got, want) {
		t.Fatalf("List(many/) returned %d keys, want %d; first differences: got %q", len(got), len(want), firstN(got, 5))
	}
	if got, want := mustList(t, b, "many/k000/"), []string{"0", "1", "2", "3", "4"}; !slices.Equal(got, want) {
		t.Fatalf("List(many/k000/) = %q, want %q", got, want)
	}
	if got, want := mustList(t, b, ""), []string{"man", "many/", "many0"}; !slices.Equal(got, want) {
		t.Fatalf("List(\"\") = %q, want %q", got, want)
	}
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func testConcurrency(t *testing.T, b physical.Backend) {
	const workers, rounds = 16, 40
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				own := fmt.Sprintf("conc/w%02d/k%03d", w, i)
				val := []byte(fmt.Sprintf("%d-%d", w, i))
				if err := b.Put(ctx, &physical.Entry{Key: own, Value: val}); err != nil {
					t.Errorf("Put(%q): %v", own, err)
					return
				}
				e, err := b.Get(ctx, own)
				if err != nil || e == nil || !bytes.Equal(e.Value, val) {
					t.Errorf("Get(%q) after Put = %v, %v; want %q", own, e, err, val)
					return
				}
				// Everyone fights over one shared key; any writer's value is fine.
				if err := b.Put(ctx, &physical.Entry{Key: "conc/shared", Value: val}); err != nil {
					t.Errorf("Put(shared): %v", err)
					return
				}
				if _, err := b.List(ctx, "conc/"); err != nil {
					t.Errorf("List(conc/): %v", err)
					return
				}
				if i%4 == 3 {
					if err := b.Delete(ctx, own); err != nil {
						t.Errorf("Delete(%q): %v", own, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	folders := mustList(t, b, "conc/")
	if len(folders) != workers+1 || folders[len(folders)-1] != "w15/" || folders[0] != "shared" {
		t.Fatalf("List(conc/) = %q, want shared and %d worker folders", folders, workers)
	}
	for w := range workers {
		got := mustList(t, b, fmt.Sprintf("conc/w%02d/", w))
		if len(got) != rounds-rounds/4 {
			t.Fatalf("worker %d has %d keys, want %d", w, len(got), rounds-rounds/4)
		}
	}
	if e := mustGet(t, b, "conc/shared"); e == nil {
		t.Fatal("shared key missing")
	}
}

func testCancelledContext(t *testing.T, b physical.Backend) {
	mustPut(t, b, "existing", []byte("v"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: err = %v, want context.Canceled", op, err)
		}
	}
	_, err := b.Get(ctx, "existing")
	check("Get", err)
	check("Put", b.Put(ctx, &physical.Entry{Key: "new", Value: []byte("v")}))
	check("Delete", b.Delete(ctx, "existing"))
	_, err = b.List(ctx, "")
	check("List", err)
	// Nothing changed.
	wantMissing(t, b, "new")
	wantValue(t, b, "existing", []byte("v"))
}

func putOp(key, value string) *physical.TxnOp {
	return &physical.TxnOp{Op: physical.PutOp, Entry: &physical.Entry{Key: key, Value: []byte(value)}}
}

func deleteOp(key string) *physical.TxnOp {
	return &physical.TxnOp{Op: physical.DeleteOp, Entry: &physical.Entry{Key: key}}
}

func testTxnApplies(t *testing.T, b physical.Transactional) {
	mustPut(t, b, "txn/old", []byte("old"))
	mustPut(t, b, "txn/keep", []byte("keep"))
	err := b.Transaction(context.Background(), []*physical.TxnOp{
		putOp("txn/a", "1"),
		deleteOp("txn/old"),
		putOp("txn/b", "2"),
		deleteOp("txn/never-existed"),
		putOp("txn/keep", "updated"),
	})
	if err != nil {
		t.Fatalf("Transaction: %v", err)
	}
	wantValue(t, b, "txn/a", []byte("1"))
	wantValue(t, b, "txn/b", []byte("2"))
	wantValue(t, b, "txn/keep", []byte("updated"))
	wantMissing(t, b, "txn/old")
	if got, want := mustList(t, b, "txn/"), []string{"a", "b", "keep"}; !slices.Equal(got, want) {
		t.Fatalf("List(txn/) = %q, want %q", got, want)
	}
}

// testTxnOrder checks that ops on the same key apply in order.
func testTxnOrder(t *testing.T, b physical.Transactional) {
	err := b.Transaction(context.Background(), []*physical.TxnOp{
		putOp("o/put-then-delete", "x"),
		deleteOp("o/put-then-delete"),
		deleteOp("o/delete-then-put"),
		putOp("o/delete-then-put", "y"),
		putOp("o/twice", "first"),
		putOp("o/twice", "second"),
	})
	if err != nil {
		t.Fatalf("Transaction: %v", err)
	}
	wantMissing(t, b, "o/put-then-delete")
	wantValue(t, b, "o/delete-then-put", []byte("y"))
	wantValue(t, b, "o/twice", []byte("second"))
}

func testTxnEmpty(t *testing.T, b physical.Transactional) {
	if err := b.Transaction(context.Background(), nil); err != nil {
		t.Fatalf("Transaction(nil): %v", err)
	}
	if err := b.Transaction(context.Background(), []*physical.TxnOp{}); err != nil {
		t.Fatalf("Transaction(empty): %v", err)
	}
}

// testTxnAtomicVisibility moves one key back and forth between two names in
// transactions while readers list the folder: a reader must always see
// exactly one of the two names, never both or neither.
func testTxnAtomicVisibility(t *testing.T, b physical.Transactional) {
	ctx := context.Background()
	mustPut(t, b, "move/left", []byte("v"))
	const moves = 200
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				keys, err := b.List(ctx, "move/")
				if err != nil {
					t.Errorf("List: %v", err)
					return
				}
				if len(keys) != 1 {
					t.Errorf("List(move/) during transactions = %q, want exactly one key", keys)
					return
				}
			}
		}()
	}
	from, to := "move/left", "move/right"
	for i := 0; i < moves && !t.Failed(); i++ {
		if err := b.Transaction(ctx, []*physical.TxnOp{deleteOp(from), putOp(to, "v")}); err != nil {
			t.Errorf("Transaction %d: %v", i, err)
			break
		}
		from, to = to, from
	}
	close(done)
	wg.Wait()
	// After an even number of moves the key is back where it started.
	if !t.Failed() {
		wantValue(t, b, "move/left", []byte("v"))
		wantMissing(t, b, "move/right")
	}
}

func testTxnCancelled(t *testing.T, b physical.Transactional) {
	mustPut(t, b, "c/existing", []byte("v"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := b.Transaction(ctx, []*physical.TxnOp{putOp("c/new", "v"), deleteOp("c/existing")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Transaction with a cancelled context: err = %v, want context.Canceled", err)
	}
	wantMissing(t, b, "c/new")
	wantValue(t, b, "c/existing", []byte("v"))
}
