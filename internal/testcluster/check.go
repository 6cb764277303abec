package testcluster

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// regInput is a register operation as the model sees it.
type regInput struct {
	put   bool
	key   string
	value string // put only
}

// regOutput is a get's result.
type regOutput struct {
	value string
}

// RegisterModel is the porcupine model of a key-value store seen as one
// register per key: put(v) sets it, get() returns the last value put ("" for
// none). The history is partitioned by key, so each key is checked alone.
func RegisterModel() porcupine.Model {
	return porcupine.Model{
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			byKey := map[string][]porcupine.Operation{}
			var keys []string
			for _, op := range history {
				k := op.Input.(regInput).key
				if _, ok := byKey[k]; !ok {
					keys = append(keys, k)
				}
				byKey[k] = append(byKey[k], op)
			}
			out := make([][]porcupine.Operation, 0, len(keys))
			for _, k := range keys {
				out = append(out, byKey[k])
			}
			return out
		},
		Init: func() any { return "" },
		Step: func(state, input, output any) (bool, any) {
			in := input.(regInput)
			if in.put {
				return true, in.value
			}
			return output.(regOutput).value == state.(string), state
		},
		DescribeOperation: func(input, output any) string {
			in := input.(regInput)
			if in.put {
				return fmt.Sprintf("put(%s, %q)", in.key, in.value)
			}
			return fmt.Sprintf("get(%s) -> %q", in.key, output.(regOutput).value)
		},
		DescribeState: func(state any) string { return fmt.Sprintf("%q", state) },
	}
}

// porcupineHistory turns the recorded operations into porcupine's form:
// a failed write is dropped (it did not happen); a write with an unknown
// outcome returns at infinity (it may take effect at any point after its
// call, or never, as porcupine expects); a get that did not succeed is
// dropped (it observed nothing).
func porcupineHistory(ops []Op) []porcupine.Operation {
	var out []porcupine.Operation
	for _, op := range ops {
		in := regInput{put: op.Kind == Put, key: op.Key}
		ret := int64(op.Return)
		switch {
		case op.Kind == Put && op.Outcome == Fail:
			continue
		case op.Kind == Put && op.Outcome != OK:
			ret = math.MaxInt64
		case op.Kind == Get && op.Outcome != OK:
			continue
		}
		if in.put {
			in.value = op.Value
		}
		out = append(out, porcupine.Operation{
			ClientId: op.Client, Input: in, Call: int64(op.Call),
			Output: regOutput{value: op.Value}, Return: ret,
		})
	}
	return out
}

// LostWrites returns the acknowledged writes that the final reads show were
// lost. For each key, the last successful FinalGet is compared with every
// write acknowledged before that read began: the write is lost if the read
// found nothing, found a value no write produced or a failed write
// produced, or found a value whose write was acknowledged before the lost
// write was even invoked — so nothing can be ordered after it. A key with
// acknowledged writes but no successful final read counts its last
// acknowledged write as lost: nothing shows it survived. A history without
// any final read has nothing to compare with: LostWrites returns nil.
func (r *Recorder) LostWrites() []Op {
	return lostWrites(r.Operations())
}

func lostWrites(ops []Op) []Op {
	type kv struct{ key, value string }
	writer := map[kv]Op{}
	final := map[string]Op{}
	acked := map[string][]Op{}
	for _, op := range ops {
		switch {
		case op.Kind == Put:
			writer[kv{op.Key, op.Value}] = op
			if op.Outcome == OK {
				acked[op.Key] = append(acked[op.Key], op)
			}
		case op.Final && op.Outcome == OK:
			if f, ok := final[op.Key]; !ok || op.Return > f.Return {
				final[op.Key] = op
			}
		}
	}
	if !hasFinal(ops) {
		return nil
	}
	var lost []Op
	for key, ws := range acked {
		f, ok := final[key]
		if !ok {
			last := ws[0]
			for _, w := range ws[1:] {
				if w.Return > last.Return {
					last = w
				}
			}
			lost = append(lost, last)
			continue
		}
		src, found := writer[kv{key, f.Value}]
		for _, w := range ws {
			switch {
			case w.Return > f.Call:
				// Concurrent with the final read: it may come after it.
			case f.Value == "" || !found || src.Outcome == Fail:
				lost = append(lost, w)
			case src.Outcome == OK && src.Return < w.Call:
				lost = append(lost, w)
			}
		}
	}
	slices.SortFunc(lost, func(a, b Op) int { return cmp.Compare(a.Call, b.Call) })
	return lost
}

func hasFinal(ops []Op) bool {
	return slices.ContainsFunc(ops, func(op Op) bool { return op.Final })
}

// Report is the outcome of checking a history.
type Report struct {
	Ops         int // operations recorded, whatever their outcome
	AckedWrites int // writes acknowledged to the client
	Unknown     int // operations whose outcome is unknown
	FinalReads  int // FinalGet calls; without any, Lost is not evaluated
	Lost        []Op
	Result      porcupine.CheckResult // Ok, Illegal, or Unknown (timed out)
	Timeout     time.Duration

	info porcupine.LinearizationInfo
}

// OK reports whether the history is linearizable and lost nothing.
func (r Report) OK() bool { return r.Result == porcupine.Ok && len(r.Lost) == 0 }

// String is the one-line summary, e.g. "812 ops, 403 acknowledged writes,
// 0 lost acknowledged writes, history linearizable".
func (r Report) String() string {
	verdict := "history linearizable"
	switch r.Result {
	case porcupine.Illegal:
		verdict = "history NOT linearizable"
	case porcupine.Unknown:
		verdict = fmt.Sprintf("linearizability undecided within %s", r.Timeout)
	}
	lost := fmt.Sprintf("%d lost acknowledged writes", len(r.Lost))
	if r.FinalReads == 0 {
		lost = "no final reads to find lost writes"
	}
	return fmt.Sprintf("%d ops, %d acknowledged writes, %s, %s", r.Ops, r.AckedWrites, lost, verdict)
}

// WriteVisualization writes porcupine's interactive HTML view of the
// history (and, for a violation, the longest partial linearizations).
func (r Report) WriteVisualization(path string) error {
	if err := porcupine.VisualizePath(RegisterModel(), r.info, path); err != nil {
		return fmt.Errorf("visualize history: %w", err)
	}
	return nil
}

// Verify checks the history without a test: porcupine bounded by timeout,
// and LostWrites.
func (r *Recorder) Verify(timeout time.Duration) Report {
	ops := r.Operations()
	acked, unknown := countOps(ops)
	finals := 0
	for _, op := range ops {
		if op.Final {
			finals++
		}
	}
	res, info := porcupine.CheckOperationsVerbose(RegisterModel(), porcupineHistory(ops), timeout)
	return Report{
		Ops: len(ops), AckedWrites: acked, Unknown: unknown, FinalReads: finals,
		Lost: lostWrites(ops), Result: res, Timeout: timeout, info: info,
	}
}

// Check verifies the history and fails the test on a linearizability
// violation or a lost acknowledged write. On a violation the visualization
// is written to $STRONGBOX_TEST_ARTIFACTS, or to a directory under
// os.TempDir that is kept for inspection, and its path logged. A check that
// times out is logged, not failed: porcupine found no violation in time.
func (r *Recorder) Check(t testing.TB, timeout time.Duration) Report {
	t.Helper()
	rep := r.Verify(timeout)
	for _, w := range rep.Lost {
		t.Errorf("lost acknowledged write: %v", w)
	}
	switch rep.Result {
	case porcupine.Illegal:
		path, err := artifactPath(t, "history.html")
		if err == nil {
			err = rep.WriteVisualization(path)
		}
		if err != nil {
			t.Errorf("history is not linearizable (visualization failed: %v)", err)
		} else {
			t.Errorf("history is not linearizable; visualization: %s", path)
		}
	case porcupine.Unknown:
		t.Logf("linearizability check timed out after %s; no violation found", timeout)
	}
	return rep
}

// artifactPath names a file that outlives the test.
func artifactPath(t testing.TB, name string) (string, error) {
	safe := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	if dir := os.Getenv("STRONGBOX_TEST_ARTIFACTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("artifacts: %w", err)
		}
		return filepath.Join(dir, safe+"-"+name), nil
	}
	dir, err := os.MkdirTemp("", "strongbox-"+safe+"-")
	if err != nil {
		return "", fmt.Errorf("artifacts: %w", err)
	}
	return filepath.Join(dir, name), nil
}
