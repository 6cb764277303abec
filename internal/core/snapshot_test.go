package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/core/raftops"

	"github.com/strongbox/strongbox/internal/audit"
	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical/raft"
)

// testRaft adapts a raft backend to raftops.RaftStorage, as the server does.
type testRaft struct{ *raft.Backend }

func (r testRaft) LeaderID() string { id, _ := r.Leader(); return id }
func (r testRaft) HasState() bool   { return r.Initialized() }
func (r testRaft) Peers(ctx context.Context) ([]raftops.RaftPeer, error) {
	conf, err := r.Configuration(ctx)
	if err != nil {
		return nil, err
	}
	var out []raftops.RaftPeer
	for _, p := range conf {
		out = append(out, raftops.RaftPeer{ID: p.ID, Address: p.Address, Leader: p.Leader, Voter: p.Voter})
	}
	return out, nil
}

// raftCore is an active core on one-node raft storage.
type raftCore struct {
	c    *Core
	root string
	key  []byte
}

func newRaftCore(t *testing.T) *raftCore {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := raft.New(ctx, raft.Config{Path: dir, NodeID: "n1", BindAddr: "127.0.0.1:0", PerformanceMultiplier: 1, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{
		Physical: testRaft{b}, Logger: logger, StorageType: "raft",
		SecretEngines: builtin.SecretEngines(), AuthMethods: builtin.AuthMethods(), AuditDevices: audit.Factories(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Seal(context.Background())
		_ = b.Close()
	})
	c.ConfigureSnapshots(t.TempDir())
	res, err := c.Init(ctx, InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Unseal(ctx, res.Keys[0]); err != nil {
		t.Fatal(err)
	}
	rc := &raftCore{c: c, root: res.RootToken, key: res.Keys[0]}
	rc.waitActive(t)
	return rc
}

func (r *raftCore) waitActive(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for r.c.Sealed() || r.c.Standby() {
		if time.Now().After(deadline) {
			t.Fatal("core not active within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *raftCore) do(t *testing.T, token string, op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	t.Helper()
	res, err := r.c.HandleRequest(context.Background(), &logical.Request{Operation: op, Path: path, Data: data, ClientToken: token})
	if res == nil {
		return nil, err
	}
	return res.Response, err
}

func (r *raftCore) must(t *testing.T, op logical.Operation, path string, data map[string]any) *logical.Response {
	t.Helper()
	resp, err := r.do(t, r.root, op, path, data)
	if err != nil {
		t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

func (r *raftCore) snapshot(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := r.c.WriteSnapshot(context.Background(), &buf); err != nil {
		t.Fatalf("WriteSnapshot: %v", err)
	}
	return buf.Bytes()
}

// TestSnapshotEndpointsThroughPipeline: the snapshot endpoints are
// authorized by the one request pipeline (token, ACL with sudo on their
// root paths), and the request and response of each are audited.
func TestSnapshotEndpointsThroughPipeline(t *testing.T) {
	r := newRaftCore(t)
	auditFile := filepath.Join(t.TempDir(), "audit.log")
	r.must(t, logical.UpdateOperation, "sys/audit/file", map[string]any{"type": "file", "options": map[string]any{"file_path": auditFile}})
	r.must(t, logical.UpdateOperation, "sys/policy/snap", map[string]any{
		"policy": `path "sys/storage/raft/snapshot" { capabilities = ["read"] }
path "sys/storage/raft/snapshot-force" { capabilities = ["update", "sudo"] }`,
	})
	tok := r.must(t, logical.UpdateOperation, "auth/token/create", map[string]any{"policies": []string{"snap"}}).Auth.ClientToken
	call := func(token string, op logical.Operation, path string) (int, error) {
		var out bytes.Buffer
		req := &logical.Request{Operation: op, Path: path, ClientToken: token, ResponseWriter: &out}
		if op == logical.UpdateOperation {
			req.Body = bytes.NewReader([]byte("not a snapshot"))
		}
		_, err := r.c.HandleRequest(context.Background(), req)
		return out.Len(), err
	}
	cases := []struct {
		name, token, path string
		op                logical.Operation
		want              error
		streamed          bool
	}{
		{"root", r.root, "sys/storage/raft/snapshot", logical.ReadOperation, nil, true},
		{"no sudo on a root path", tok, "sys/storage/raft/snapshot", logical.ReadOperation, logical.ErrPermissionDenied, false},
		{"capability missing", tok, "sys/storage/raft/snapshot", logical.UpdateOperation, logical.ErrPermissionDenied, false},
		{"unknown token", "hvs.nope", "sys/storage/raft/snapshot", logical.ReadOperation, logical.ErrPermissionDenied, false},
		{"no token", "", "sys/storage/raft/snapshot", logical.ReadOperation, logical.ErrPermissionDenied, false},
	}
	for _, c := range cases {
		n, err := call(c.token, c.op, c.path)
		if !errors.Is(err, c.want) && !(err == nil && c.want == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if (n > 0) != c.streamed {
			t.Errorf("%s: streamed %d bytes", c.name, n)
		}
	}
	// Authorized, and the restore itself refuses the body: a 400 that the
	// response entry records.
	if _, err := call(tok, logical.UpdateOperation, "sys/storage/raft/snapshot-force"); err == nil || !strings.Contains(err.Error(), "gzip") && !strings.Contains(err.Error(), "snapshot") {
		t.Fatalf("forced restore of garbage: %v", err)
	} else if st, _ := logical.StatusOf(err); st != http.StatusBadRequest {
		t.Fatalf("forced restore of garbage: status %d (%v)", st, err)
	}
	raw, err := os.ReadFile(auditFile)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var e struct {
			Type    string `json:"type"`
			Request struct {
				Path string `json:"path"`
			} `json:"request"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if strings.HasPrefix(e.Request.Path, "sys/storage/raft/snapshot") {
			counts[e.Type+" "+e.Request.Path]++
		}
	}
	// Five calls on snapshot (one allowed), one on snapshot-force: each
	// leaves a request and a response entry.
	want := map[string]int{
		"request sys/storage/raft/snapshot": 5, "response sys/storage/raft/snapshot": 5,
		"request sys/storage/raft/snapshot-force": 1, "response sys/storage/raft/snapshot-force": 1,
	}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("audit %s: %d entries, want %d (all: %v)", k, counts[k], n, counts)
		}
	}
	if err := r.c.Seal(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := call(r.root, logical.ReadOperation, "sys/storage/raft/snapshot"); !errors.Is(err, ErrSealed) {
		t.Fatalf("sealed: %v", err)
	}
	if _, err := r.c.WriteSnapshot(context.Background(), io.Discard); !errors.Is(err, ErrSealed) {
		t.Fatalf("WriteSnapshot sealed: %v", err)
	}
	if err := r.c.RestoreSnapshot(context.Background(), bytes.NewReader(nil), false); !errors.Is(err, ErrSealed) {
		t.Fatalf("RestoreSnapshot sealed: %v", err)
	}
}

// TestRestoreReloadsEverything: after a restore the active core serves the
// snapshot's policies, tokens and mounts, and keeps its keyring working
// even when the keyring was rotated after the snapshot.
func TestRestoreReloadsEverything(t *testing.T) {
	r := newRaftCore(t)
	r.must(t, logical.UpdateOperation, "sys/mounts/kv", map[string]any{"type": "kv"})
	r.must(t, logical.UpdateOperation, "kv/a", map[string]any{"v": "before"})
	snap := r.snapshot(t)

	r.must(t, logical.UpdateOperation, "sys/rotate", nil)
	r.must(t, logical.UpdateOperation, "kv/a", map[string]any{"v": "after"})
	r.must(t, logical.UpdateOperation, "sys/policy/late", map[string]any{"policy": `path "kv/*" { capabilities = ["read"] }`})
	late := r.must(t, logical.UpdateOperation, "auth/token/create", map[string]any{"policies": []string{"late"}}).Auth.ClientToken
	r.must(t, logical.UpdateOperation, "sys/mounts/later", map[string]any{"type": "kv"})

	if err := r.c.RestoreSnapshot(context.Background(), bytes.NewReader(snap), false); err != nil {
		t.Fatalf("RestoreSnapshot: %v", err)
	}
	r.waitActive(t)
	if got := r.must(t, logical.ReadOperation, "kv/a", nil).Data["v"]; got != "before" {
		t.Fatalf("kv/a = %v", got)
	}
	if _, err := r.do(t, late, logical.ReadOperation, "kv/a", nil); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("token created after the snapshot: %v", err)
	}
	if resp := r.must(t, logical.ReadOperation, "sys/policy/late", nil); resp != nil {
		t.Fatalf("policy created after the snapshot: %v", resp.Data)
	}
	if _, err := r.do(t, r.root, logical.ReadOperation, "later/x", nil); err == nil || logicalStatus(err) != http.StatusNotFound {
		t.Fatalf("mount created after the snapshot: %v", err)
	}
	// The restored keyring is the one in use: rotate and write again.
	r.must(t, logical.UpdateOperation, "sys/rotate", nil)
	r.must(t, logical.UpdateOperation, "kv/b", map[string]any{"v": "new term"})
	if got := r.must(t, logical.ReadOperation, "kv/b", nil).Data["v"]; got != "new term" {
		t.Fatalf("kv/b = %v", got)
	}
}

func logicalStatus(err error) int {
	s, _ := logical.StatusOf(err)
	return s
}

// TestRestoreRefusals: another cluster's snapshot, and damaged ones, are
// refused with a 400 and change nothing.
func TestRestoreRefusals(t *testing.T) {
	a, b := newRaftCore(t), newRaftCore(t)
	a.must(t, logical.UpdateOperation, "sys/mounts/kv", map[string]any{"type": "kv"})
	a.must(t, logical.UpdateOperation, "kv/a", map[string]any{"v": "A"})
	foreign := b.snapshot(t)
	own := a.snapshot(t)
	cases := map[string][]byte{
		"other cluster": foreign,
		"truncated":     own[:len(own)-10],
		"corrupted":     func() []byte { d := bytes.Clone(own); d[len(d)/3] ^= 1; return d }(),
	}
	for name, data := range cases {
		err := a.c.RestoreSnapshot(context.Background(), bytes.NewReader(data), false)
		if logicalStatus(err) != http.StatusBadRequest {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "other cluster" && !errors.Is(err, raftops.ErrSnapshotKeyMismatch) {
			t.Fatalf("other cluster: %v", err)
		}
		if got := a.must(t, logical.ReadOperation, "kv/a", nil).Data["v"]; got != "A" || a.c.Sealed() {
			t.Fatalf("%s changed the data or sealed the core", name)
		}
	}
	// Forced, the other cluster's keyring comes with it: the core seals.
	if err := a.c.RestoreSnapshot(context.Background(), bytes.NewReader(foreign), true); err != nil {
		t.Fatalf("forced: %v", err)
	}
	if !a.c.Sealed() {
		t.Fatal("core still unsealed with another cluster's keyring")
	}
	if err := a.c.Unseal(context.Background(), b.key); err != nil {
		t.Fatalf("unseal with the other cluster's key: %v", err)
	}
	a.waitActive(t)
	if _, err := a.do(t, b.root, logical.ReadOperation, "sys/mounts", nil); err != nil {
		t.Fatalf("the other cluster's root token: %v", err)
	}
}
