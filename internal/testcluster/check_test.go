package testcluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// Shorthands for hand-made histories; times are in arbitrary units.
func put(client int, key, v string, call, ret int, o Outcome) Op {
	return Op{Client: client, Kind: Put, Key: key, Value: v, Call: time.Duration(call), Return: time.Duration(ret), Outcome: o}
}

func get(client int, key, v string, call, ret int) Op {
	return Op{Client: client, Kind: Get, Key: key, Value: v, Call: time.Duration(call), Return: time.Duration(ret), Outcome: OK}
}

func final(op Op) Op { op.Final = true; return op }

func recorderOf(ops ...Op) *Recorder { return &Recorder{ops: ops} }

func TestCheckLinearizability(t *testing.T) {
	tests := []struct {
		name string
		ops  []Op
		want porcupine.CheckResult
	}{
		{"sequential put then get", []Op{
			put(0, "x", "a", 0, 10, OK), get(1, "x", "a", 20, 30),
		}, porcupine.Ok},
		{"absent before the first write", []Op{
			get(1, "x", "", 0, 5), put(0, "x", "a", 10, 20, OK),
		}, porcupine.Ok},
		{"concurrent reads may see either value", []Op{
			put(0, "x", "a", 0, 10, OK), put(0, "x", "b", 20, 50, OK),
			get(1, "x", "a", 30, 40), get(2, "x", "b", 30, 45),
		}, porcupine.Ok},
		{"unknown write seen later", []Op{
			put(0, "x", "a", 0, 10, OK), put(1, "x", "b", 20, 0, Unknown), get(2, "x", "b", 100, 110),
		}, porcupine.Ok},
		{"unknown write never seen", []Op{
			put(0, "x", "a", 0, 10, OK), put(1, "x", "b", 20, 0, Unknown), get(2, "x", "a", 100, 110),
		}, porcupine.Ok},
		{"pending write counts as unknown", []Op{
			put(0, "x", "a", 0, 10, OK), put(1, "x", "b", 20, 0, Pending), get(2, "x", "b", 100, 110),
		}, porcupine.Ok},
		{"failed and unknown gets observe nothing", []Op{
			put(0, "x", "a", 0, 10, OK),
			{Client: 1, Kind: Get, Key: "x", Value: "zzz", Call: 20, Return: 30, Outcome: Fail},
			{Client: 2, Kind: Get, Key: "x", Value: "", Call: 20, Return: 30, Outcome: Unknown},
		}, porcupine.Ok},
		{"keys are independent", []Op{
			put(0, "x", "a", 0, 10, OK), put(1, "y", "b", 5, 15, OK),
			get(2, "x", "a", 20, 30), get(2, "y", "b", 40, 50),
		}, porcupine.Ok},
		{"stale read after a newer acknowledged write", []Op{
			put(0, "x", "a", 0, 10, OK), put(0, "x", "b", 20, 30, OK), get(1, "x", "a", 40, 50),
		}, porcupine.Illegal},
		{"acknowledged write not visible", []Op{
			put(0, "x", "a", 0, 10, OK), get(1, "x", "", 20, 30),
		}, porcupine.Illegal},
		{"failed write observed", []Op{
			put(0, "x", "a", 0, 10, OK), put(1, "x", "b", 20, 30, Fail), get(2, "x", "b", 40, 50),
		}, porcupine.Illegal},
		{"value nobody wrote", []Op{
			get(0, "x", "zzz", 0, 10),
		}, porcupine.Illegal},
		{"reads go back in time", []Op{
			put(0, "x", "a", 0, 100, OK), get(1, "x", "a", 10, 20), get(1, "x", "", 30, 40),
		}, porcupine.Illegal},
		{"violation on one key of two", []Op{
			put(0, "x", "a", 0, 10, OK), get(1, "x", "a", 20, 30),
			put(0, "y", "b", 0, 10, OK), get(1, "y", "", 20, 30),
		}, porcupine.Illegal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := recorderOf(tc.ops...).Verify(5 * time.Second)
			if rep.Result != tc.want {
				t.Fatalf("result = %s, want %s", rep.Result, tc.want)
			}
		})
	}
}

func TestLostWrites(t *testing.T) {
	tests := []struct {
		name string
		ops  []Op
		lost []string // values of the lost writes
	}{
		{"last write survives", []Op{
			put(0, "x", "a", 0, 10, OK), put(0, "x", "b", 20, 30, OK), final(get(9, "x", "b", 100, 110)),
		}, nil},
		{"older value came back", []Op{
			put(0, "x", "a", 0, 10, OK), put(0, "x", "b", 20, 30, OK), final(get(9, "x", "a", 100, 110)),
		}, []string{"b"}},
		{"everything gone", []Op{
			put(0, "x", "a", 0, 10, OK), put(0, "x", "b", 20, 30, OK), final(get(9, "x", "", 100, 110)),
		}, []string{"a", "b"}},
		{"overwritten by a concurrent unknown write", []Op{
			put(1, "x", "u", 5, 0, Unknown), put(0, "x", "a", 10, 20, OK), final(get(9, "x", "u", 100, 110)),
		}, nil},
		{"overwritten by a concurrent acknowledged write", []Op{
			put(0, "x", "a", 0, 30, OK), put(1, "x", "b", 10, 20, OK), final(get(9, "x", "a", 100, 110)),
		}, nil},
		{"value of a failed write", []Op{
			put(0, "x", "a", 0, 10, OK), put(1, "x", "f", 20, 30, Fail), final(get(9, "x", "f", 100, 110)),
		}, []string{"a"}},
		{"value nobody wrote", []Op{
			put(0, "x", "a", 0, 10, OK), final(get(9, "x", "zzz", 100, 110)),
		}, []string{"a"}},
		{"acknowledged after the final read began", []Op{
			put(0, "x", "a", 0, 10, OK), put(0, "x", "b", 20, 105, OK), final(get(9, "x", "a", 100, 110)),
		}, nil},
		{"latest final read wins", []Op{
			put(0, "x", "a", 0, 10, OK), final(get(9, "x", "", 1, 2)), final(get(9, "x", "a", 100, 110)),
		}, nil},
		{"key without a final read", []Op{
			put(0, "x", "a", 0, 10, OK), put(0, "x", "b", 20, 30, OK),
			put(0, "y", "c", 0, 10, OK), final(get(9, "y", "c", 100, 110)),
		}, []string{"b"}},
		{"no final reads at all", []Op{
			put(0, "x", "a", 0, 10, OK), get(9, "x", "", 100, 110),
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, w := range recorderOf(tc.ops...).LostWrites() {
				got = append(got, w.Value)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.lost) {
				t.Fatalf("lost = %v, want %v", got, tc.lost)
			}
		})
	}
}

func TestReportString(t *testing.T) {
	r := recorderOf(put(0, "x", "a", 0, 10, OK), put(0, "x", "b", 20, 30, OK), final(get(1, "x", "b", 40, 50)))
	rep := r.Verify(5 * time.Second)
	if got, want := rep.String(), "3 ops, 2 acknowledged writes, 0 lost acknowledged writes, history linearizable"; got != want {
		t.Fatalf("summary = %q, want %q", got, want)
	}
	if !rep.OK() {
		t.Fatal("OK() = false for a clean history")
	}
	r = recorderOf(put(0, "x", "a", 0, 10, OK), get(1, "x", "", 20, 30))
	if got, want := r.Verify(5*time.Second).String(), "2 ops, 1 acknowledged writes, no final reads to find lost writes, history NOT linearizable"; got != want {
		t.Fatalf("summary = %q, want %q", got, want)
	}
}

// recordingTB captures what Check reports instead of failing the test.
type recordingTB struct {
	testing.TB
	errs []string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recordingTB) Logf(string, ...any) {}

func TestCheckReportsViolationWithVisualization(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("STRONGBOX_TEST_ARTIFACTS", dir)
	rec := recorderOf(
		put(0, "x", "a", 0, 10, OK), put(0, "x", "b", 20, 30, OK), get(1, "x", "a", 40, 50),
		final(get(1, "x", "a", 60, 70)),
	)
	tb := &recordingTB{TB: t}
	rep := rec.Check(tb, 5*time.Second)
	if rep.Result != porcupine.Illegal || len(rep.Lost) != 1 {
		t.Fatalf("report = %v", rep)
	}
	if len(tb.errs) != 2 || !strings.Contains(tb.errs[0], `put(x, "b")`) || !strings.Contains(tb.errs[1], "not linearizable") {
		t.Fatalf("errors = %q", tb.errs)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*history.html"))
	if len(matches) != 1 {
		t.Fatalf("visualization files = %v", matches)
	}
	html, err := os.ReadFile(matches[0])
	if err != nil || !strings.Contains(string(html), "<html") {
		t.Fatalf("visualization unreadable: %v", err)
	}

	clean := recordingTB{TB: t}
	recorderOf(put(0, "x", "a", 0, 10, OK), final(get(1, "x", "a", 20, 30))).Check(&clean, 5*time.Second)
	if len(clean.errs) != 0 {
		t.Fatalf("clean history reported %q", clean.errs)
	}
}

func TestRecorderConcurrentUse(t *testing.T) {
	r := NewRecorder()
	done := make(chan struct{})
	for c := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			id := r.NewClient()
			for i := range 50 {
				v := fmt.Sprintf("%d-%d", c, i)
				r.Put(id, "k", v).Done(OK, "")
				call := r.Get(id, "k")
				call.Done(OK, v)
				call.Done(Fail, "ignored") // a second Done changes nothing
			}
		}()
	}
	for range 8 {
		<-done
	}
	ops := r.Operations()
	if len(ops) != 8*100 {
		t.Fatalf("recorded %d ops, want 800", len(ops))
	}
	for _, op := range ops {
		if op.Outcome != OK || op.Return < op.Call {
			t.Fatalf("bad op %v", op)
		}
	}
}
