package audit

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

// chainedLog writes n request/response entries through a file device and
// returns the device and the log's lines.
func chainedLog(t *testing.T, n int) (*device, string, [][]byte) {
	t.Helper()
	d, path := newDevice(t, map[string]string{"prefix": "sb:"}, nil)
	for i := 0; i < n; i++ {
		in := sampleInput()
		if err := d.LogRequest(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	return d, path, readLogLines(t, path)
}

func readLogLines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
}

func joinLines(lines [][]byte) []byte {
	return append(bytes.Join(lines, []byte("\n")), '\n')
}

// checkpointsAgainst checks checkpoints with the device's own hash, as
// `audit verify` does through sys/audit-hash.
func checkpointsAgainst(d Device) CheckpointFunc {
	return func(link ChainLink) error {
		want, err := d.Hash(context.Background(), CheckpointInput(link.Seq, link.Prev))
		if err != nil {
			return err
		}
		if want != link.Checkpoint {
			return errors.New("checkpoint not signed by this device")
		}
		return nil
	}
}

func TestChainIntact(t *testing.T) {
	d, _, lines := chainedLog(t, 250)
	rep, err := VerifyChain(bytes.NewReader(joinLines(lines)), checkpointsAgainst(d))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Entries != 250 || rep.Checkpoints != 2 || len(rep.Restarts) != 0 {
		t.Errorf("report = %+v, want 250 entries and 2 checkpoints", rep)
	}
	// Every line is still a Vault-shaped entry after the prefix.
	for _, l := range lines {
		if !bytes.HasPrefix(l, []byte(`sb:{"time":`)) || !bytes.Contains(l, []byte(`"type":"request"`)) {
			t.Fatalf("line is not a prefixed request entry: %.80s", l)
		}
	}
}

func TestChainTampering(t *testing.T) {
	_, _, lines := chainedLog(t, 30)
	clone := func() [][]byte {
		out := make([][]byte, len(lines))
		for i, l := range lines {
			out[i] = append([]byte(nil), l...)
		}
		return out
	}
	tests := []struct {
		name     string
		tamper   func([][]byte) [][]byte
		wantLine int
		wantWord string
	}{
		{"edit", func(ls [][]byte) [][]byte {
			ls[9] = bytes.Replace(ls[9], []byte(`"operation":"update"`), []byte(`"operation":"read"`), 1)
			return ls
		}, 10, "edited"},
		{"delete", func(ls [][]byte) [][]byte { return append(ls[:9], ls[10:]...) }, 10, "removed"},
		{"swap", func(ls [][]byte) [][]byte { ls[9], ls[10] = ls[10], ls[9]; return ls }, 10, "reordered"},
		{"insert foreign line", func(ls [][]byte) [][]byte {
			return append(ls[:5], append([][]byte{[]byte(`{"type":"request","request":{"path":"x"}}`)}, ls[5:]...)...)
		}, 6, "inserted"},
		{"duplicate", func(ls [][]byte) [][]byte {
			return append(ls[:5], append([][]byte{ls[3]}, ls[5:]...)...)
		}, 6, "inserted or reordered"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := VerifyChain(bytes.NewReader(joinLines(tc.tamper(clone()))), nil)
			if !errors.Is(err, ErrChainBroken) {
				t.Fatalf("err = %v, want ErrChainBroken", err)
			}
			if rep.Line != tc.wantLine || !strings.Contains(rep.Problem, tc.wantWord) {
				t.Errorf("report = line %d %q, want line %d %q", rep.Line, rep.Problem, tc.wantLine, tc.wantWord)
			}
		})
	}
}

// TestChainRebuiltWithoutKey: someone who edits an entry and recomputes
// every later link gets past the hashes but not the checkpoints.
func TestChainRebuiltWithoutKey(t *testing.T) {
	d, _, lines := chainedLog(t, 120)
	lines[5] = bytes.Replace(lines[5], []byte(`"operation":"update"`), []byte(`"operation":"read"`), 1)
	for i := 6; i < len(lines); i++ {
		h := linkHash(lines[i-1])
		link, _ := parseLink(lines[i])
		old := fmt.Sprintf(`"prev":%q`, link.Prev)
		lines[i] = bytes.Replace(lines[i], []byte(old), []byte(fmt.Sprintf(`"prev":%q`, hex.EncodeToString(h[:]))), 1)
	}
	if _, err := VerifyChain(bytes.NewReader(joinLines(lines)), nil); err != nil {
		t.Fatalf("rebuilt chain without checkpoints: %v (the forgery should pass the hashes)", err)
	}
	rep, err := VerifyChain(bytes.NewReader(joinLines(lines)), checkpointsAgainst(d))
	if !errors.Is(err, ErrChainBroken) || rep.Line != 100 || !strings.Contains(rep.Problem, "checkpoint") {
		t.Fatalf("report = %+v, err = %v; want a checkpoint mismatch at line 100", rep, err)
	}
}

// TestChainAcrossRestartAndRotation: a device reopened on the same file
// continues its chain; after rename + Reload the new file continues it too,
// so the rotated files concatenated verify as one.
func TestChainAcrossRestartAndRotation(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.log")
	storage := logical.NewInmemStorage()
	open := func() Device {
		d, err := NewFile(ctx, &DeviceConfig{Path: "file/", Options: map[string]string{"file_path": path}, SaltStorage: storage})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := open()
	for i := 0; i < 5; i++ {
		_ = d.LogRequest(ctx, sampleInput())
	}
	_ = d.Close()
	d = open() // a restart
	for i := 0; i < 5; i++ {
		_ = d.LogRequest(ctx, sampleInput())
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		_ = d.LogRequest(ctx, sampleInput())
	}
	_ = d.Close()
	all := append(readLogLines(t, path+".1"), readLogLines(t, path)...)
	rep, err := VerifyChain(bytes.NewReader(joinLines(all)), nil)
	if err != nil || rep.Entries != 15 || len(rep.Restarts) != 0 {
		t.Fatalf("report = %+v, err = %v; want 15 linked entries", rep, err)
	}
}
