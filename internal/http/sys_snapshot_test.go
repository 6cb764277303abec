package http_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/strongbox/strongbox/internal/server"
	"github.com/strongbox/strongbox/internal/snapshot"
)

// raftServer is one in-process server on single-node raft storage.
type raftServer struct {
	t    *testing.T
	addr string
	dir  string
	keys []string
	root string
	stop func()
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		_ = ln.Close()
	}
	return ports
}

// startRaftServer runs, initializes (1 share) and unseals a one-node raft
// server whose listener allows requests of maxRequest bytes at most, and
// mounts KV v2 at secret/.
func startRaftServer(t *testing.T, maxRequest int) *raftServer {
	t.Helper()
	dir := t.TempDir()
	ports := freePorts(t, 2)
	cfg := fmt.Sprintf(`storage "raft" {
  path    = %q
  node_id = "n1"
  performance_multiplier = 1
}
listener "tcp" {
  address          = "127.0.0.1:%d"
  cluster_address  = "127.0.0.1:%d"
  tls_disable      = true
  max_request_size = %d
}
api_addr      = "http://127.0.0.1:%d"
cluster_addr  = "https://127.0.0.1:%d"
disable_mlock = true
`, filepath.Join(dir, "raft"), ports[0], ports[1], maxRequest, ports[0], ports[1])
	cfgPath := filepath.Join(dir, "config.hcl")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan []string, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Options{
			ConfigPaths: []string{cfgPath}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Ready: func(a []string) { ready <- a },
		}, nil)
	}()
	s := &raftServer{t: t, dir: dir}
	select {
	case a := <-ready:
		s.addr = "http://" + a[0]
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not start within 30s")
	}
	s.stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			t.Error("server did not stop within 40s")
		}
	}
	t.Cleanup(s.stop)
	c := s.client("")
	res, err := c.Sys().Init(&vault.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	s.keys, s.root = res.Keys, res.RootToken
	s.unseal()
	if err := s.client(s.root).Sys().Mount("secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatalf("mount: %v", err)
	}
	return s
}

func (s *raftServer) client(token string) *vault.Client {
	s.t.Helper()
	cfg := vault.DefaultConfig()
	cfg.Address = s.addr
	cfg.MaxRetries = 0
	cfg.Timeout = 60 * time.Second
	c, err := vault.NewClient(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	c.ClearNamespace()
	if token == "" {
		c.ClearToken()
	} else {
		c.SetToken(token)
	}
	return c
}

// unseal unseals with the server's own key and waits until it is active.
func (s *raftServer) unseal() { s.unsealWith(s.keys[0]) }

func (s *raftServer) unsealWith(key string) {
	s.t.Helper()
	c := s.client("")
	if _, err := c.Sys().Unseal(key); err != nil {
		s.t.Fatalf("unseal: %v", err)
	}
	s.waitActive()
}

func (s *raftServer) waitActive() {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		h, err := s.client("").Sys().Health()
		if err == nil && h.Initialized && !h.Sealed && !h.Standby {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("not active within 30s: %+v %v", h, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *raftServer) waitSealed() {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := s.client("").Sys().SealStatus()
		if err == nil && st.Sealed {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("not sealed within 30s: %+v %v", st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *raftServer) put(key string, data map[string]any) {
	s.t.Helper()
	if _, err := s.client(s.root).KVv2("secret").Put(context.Background(), key, data); err != nil {
		s.t.Fatalf("put %s: %v", key, err)
	}
}

// get returns the secret's "v" field ("" when the secret is missing).
func (s *raftServer) get(key string) string {
	s.t.Helper()
	sec, err := s.client(s.root).KVv2("secret").Get(context.Background(), key)
	if errors.Is(err, vault.ErrSecretNotFound) {
		return ""
	}
	if err != nil {
		s.t.Fatalf("get %s: %v", key, err)
	}
	v, _ := sec.Data["v"].(string)
	return v
}

func (s *raftServer) snapshot() []byte {
	s.t.Helper()
	var buf bytes.Buffer
	if err := s.client(s.root).Sys().RaftSnapshot(&buf); err != nil {
		s.t.Fatalf("snapshot: %v", err)
	}
	return buf.Bytes()
}

// responseError is the status and message of a failed API call.
func responseError(t *testing.T, err error) (int, string) {
	t.Helper()
	var re *vault.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("not a response error: %v", err)
	}
	return re.StatusCode, strings.Join(re.Errors, "; ")
}

// TestSnapshotSaveRestore: a snapshot saved with the official client
// restores the data exactly as saved, through a listener whose request
// size limit is far below the snapshot's size; damaged snapshots are
// refused with a 400 and change nothing.
func TestSnapshotSaveRestore(t *testing.T) {
	s := startRaftServer(t, 4096)
	s.put("a", map[string]any{"v": "1"})
	s.put("b", map[string]any{"v": "1"})
	snap := s.snapshot()
	if len(snap) <= 4096 {
		t.Fatalf("snapshot of %d bytes does not exercise the request size limit", len(snap))
	}
	s.put("a", map[string]any{"v": "2"})
	s.put("c", map[string]any{"v": "new"})
	if err := s.client(s.root).KVv2("secret").DeleteMetadata(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
	c := s.client(s.root)
	if err := c.Sys().RaftSnapshotRestore(bytes.NewReader(snap), false); err != nil {
		t.Fatalf("restore: %v", err)
	}
	s.waitActive()
	if a, b, cc := s.get("a"), s.get("b"), s.get("c"); a != "1" || b != "1" || cc != "" {
		t.Fatalf("after restore: a=%q b=%q c=%q, want 1, 1, missing", a, b, cc)
	}
	// The node keeps working: writes, and another snapshot.
	s.put("d", map[string]any{"v": "after"})
	again := s.snapshot()

	damaged := map[string][]byte{
		"truncated": again[:len(again)/2],
		"corrupted": func() []byte { b := bytes.Clone(again); b[len(b)/2] ^= 0xff; return b }(),
		"empty":     {},
		"garbage":   []byte("not a snapshot"),
	}
	for name, data := range damaged {
		t.Run(name, func(t *testing.T) {
			err := c.Sys().RaftSnapshotRestore(bytes.NewReader(data), false)
			code, msg := responseError(t, err)
			if code != http.StatusBadRequest || !strings.Contains(msg, "invalid snapshot") {
				t.Fatalf("restore of a %s snapshot: %d %q", name, code, msg)
			}
			if s.get("d") != "after" || s.get("a") != "1" {
				t.Fatal("a refused restore changed the data")
			}
		})
	}
	left, _ := filepath.Glob(filepath.Join(s.dir, "raft", "snapshot-spool", "*"))
	if len(left) != 0 {
		t.Fatalf("spool files left: %v", left)
	}
}

// TestSnapshotNeedsSudo: snapshot and restore need sudo on their paths.
func TestSnapshotNeedsSudo(t *testing.T) {
	s := startRaftServer(t, 0)
	root := s.client(s.root)
	for name, caps := range map[string]string{
		"nosudo": `["read", "update"]`,
		"sudo":   `["read", "update", "sudo"]`,
	} {
		policy := fmt.Sprintf(`path "sys/storage/raft/snapshot" { capabilities = %s }
path "sys/storage/raft/snapshot-force" { capabilities = %s }`, caps, caps)
		if err := root.Sys().PutPolicy(name, policy); err != nil {
			t.Fatal(err)
		}
	}
	token := func(policy string) *vault.Client {
		sec, err := root.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{policy}})
		if err != nil {
			t.Fatal(err)
		}
		return s.client(sec.Auth.ClientToken)
	}
	var buf bytes.Buffer
	err := token("nosudo").Sys().RaftSnapshot(&buf)
	if code, _ := responseError(t, err); code != http.StatusForbidden {
		t.Fatalf("snapshot without sudo: %v", err)
	}
	snap := s.snapshot()
	for _, force := range []bool{false, true} {
		err := token("nosudo").Sys().RaftSnapshotRestore(bytes.NewReader(snap), force)
		if code, _ := responseError(t, err); code != http.StatusForbidden {
			t.Fatalf("restore (force %v) without sudo: %v", force, err)
		}
	}
	if err := s.client("").Sys().RaftSnapshot(&buf); err == nil {
		t.Fatal("snapshot without a token succeeded")
	}
	buf.Reset()
	sudo := token("sudo")
	if err := sudo.Sys().RaftSnapshot(&buf); err != nil {
		t.Fatalf("snapshot with sudo: %v", err)
	}
	if err := sudo.Sys().RaftSnapshotRestore(bytes.NewReader(buf.Bytes()), false); err != nil {
		t.Fatalf("restore with sudo: %v", err)
	}
}

// TestSnapshotOtherCluster: another cluster's snapshot is refused without
// force; forced, it replaces the data and keyring, the node seals, and the
// other cluster's unseal key opens it onto the other cluster's data.
func TestSnapshotOtherCluster(t *testing.T) {
	a := startRaftServer(t, 0)
	b := startRaftServer(t, 0)
	a.put("who", map[string]any{"v": "cluster A"})
	b.put("who", map[string]any{"v": "cluster B"})
	snapB := b.snapshot()

	err := a.client(a.root).Sys().RaftSnapshotRestore(bytes.NewReader(snapB), false)
	code, msg := responseError(t, err)
	if code != http.StatusBadRequest || !strings.Contains(msg, "another cluster") || !strings.Contains(msg, "snapshot-force") {
		t.Fatalf("restore of another cluster's snapshot: %d %q", code, msg)
	}
	if a.get("who") != "cluster A" {
		t.Fatal("the refused restore changed the data")
	}

	if err := a.client(a.root).Sys().RaftSnapshotRestoreWithContext(context.Background(), bytes.NewReader(snapB), true); err != nil {
		t.Fatalf("forced restore: %v", err)
	}
	a.waitSealed()
	a.unsealWith(b.keys[0])
	if got := (&raftServer{t: t, addr: a.addr, root: b.root}).get("who"); got != "cluster B" {
		t.Fatalf("after the forced restore: %q, want cluster B's data", got)
	}
}

// TestAutoSnapshotsLocal: configuration CRUD, and snapshots taken on
// schedule, pruned to retain, each restorable.
func TestAutoSnapshotsLocal(t *testing.T) {
	s := startRaftServer(t, 0)
	c := s.client(s.root).Logical()
	dir := filepath.Join(t.TempDir(), "snaps")

	for name, body := range map[string]map[string]any{
		"no interval":     {"path_prefix": dir, "storage_type": "local"},
		"relative path":   {"interval": "1s", "path_prefix": "rel/dir", "storage_type": "local"},
		"unknown storage": {"interval": "1s", "path_prefix": dir, "storage_type": "google-gcs"},
		"bad retain":      {"interval": "1s", "path_prefix": dir, "storage_type": "local", "retain": 0},
		"bad interval":    {"interval": "soon", "path_prefix": dir, "storage_type": "local"},
		"s3 no bucket":    {"interval": "1s", "path_prefix": "p", "storage_type": "aws-s3"},
	} {
		_, err := c.Write("sys/storage/raft/snapshot-auto/config/bad", body)
		if code, _ := responseError(t, err); code != http.StatusBadRequest {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := c.Write("sys/storage/raft/snapshot-auto/config/hourly", map[string]any{
		"interval": "1s", "retain": 2, "path_prefix": dir, "storage_type": "local", "file_prefix": "sbx",
	}); err != nil {
		t.Fatal(err)
	}
	sec, err := c.Read("sys/storage/raft/snapshot-auto/config/hourly")
	if err != nil || sec == nil {
		t.Fatalf("read config: %v %v", sec, err)
	}
	if fmt.Sprint(sec.Data["interval"]) != "1" || fmt.Sprint(sec.Data["retain"]) != "2" || sec.Data["storage_type"] != "local" ||
		sec.Data["file_prefix"] != "sbx" || sec.Data["path_prefix"] != dir {
		t.Fatalf("config %v", sec.Data)
	}
	list, err := c.List("sys/storage/raft/snapshot-auto/config")
	if err != nil || list == nil || fmt.Sprint(list.Data["keys"]) != "[hourly]" {
		t.Fatalf("list: %v %v", list, err)
	}

	// Wait for the schedule to have taken more snapshots than it keeps.
	var status map[string]any
	seen := map[string]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for len(seen) < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d snapshots taken in 60s; status %v", len(seen), status)
		}
		st, err := c.Read("sys/storage/raft/snapshot-auto/status/hourly")
		if err != nil {
			t.Fatal(err)
		}
		status = st.Data
		if u, _ := status["snapshot_url"].(string); u != "" {
			seen[u] = true
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status["last_snapshot_error"] != "" || !strings.HasPrefix(status["snapshot_url"].(string), "file://"+dir+"/sbx-") {
		t.Fatalf("status %v", status)
	}
	if _, err := c.Delete("sys/storage/raft/snapshot-auto/config/hourly"); err != nil {
		t.Fatal(err)
	}
	if sec, err := c.Read("sys/storage/raft/snapshot-auto/status/hourly"); err != nil || sec != nil {
		t.Fatalf("status of a deleted configuration: %v %v", sec, err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 2 {
		t.Fatalf("files after deleting the schedule: %v, want exactly retain=2", files)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.client(s.root).Sys().RaftSnapshotRestore(bytes.NewReader(data), false); err != nil {
			t.Fatalf("restore %s: %v", f, err)
		}
		s.waitActive()
		// The snapshots were taken while the schedule existed: it is back.
		if sec, err := c.Read("sys/storage/raft/snapshot-auto/config/hourly"); err != nil || sec == nil {
			t.Fatalf("configuration after restoring %s: %v %v", f, sec, err)
		}
	}
}

// TestAutoSnapshotsS3: snapshots go to an S3-compatible server (gofakes3
// on 127.0.0.1), are pruned there, and restore.
func TestAutoSnapshotsS3(t *testing.T) {
	backend := s3mem.New()
	srv := startS3(t, backend)
	if err := backend.CreateBucket("backups"); err != nil {
		t.Fatal(err)
	}
	s := startRaftServer(t, 0)
	s.put("k", map[string]any{"v": "in s3"})
	c := s.client(s.root).Logical()
	if _, err := c.Write("sys/storage/raft/snapshot-auto/config/s3", map[string]any{
		"interval": 1, "retain": 2, "storage_type": "aws-s3", "path_prefix": "strongbox/",
		"aws_s3_bucket": "backups", "aws_s3_region": "us-east-1", "aws_s3_endpoint": srv,
		"aws_s3_disable_tls": true, "aws_s3_force_path_style": true,
		"aws_access_key_id": "AKID", "aws_secret_access_key": "very-secret",
	}); err != nil {
		t.Fatal(err)
	}
	sec, err := c.Read("sys/storage/raft/snapshot-auto/config/s3")
	if err != nil {
		t.Fatal(err)
	}
	if _, leaked := sec.Data["aws_secret_access_key"]; leaked || sec.Data["aws_access_key_id"] != "AKID" {
		t.Fatalf("config read: %v", sec.Data)
	}
	tgt, err := snapshot.NewS3Target(context.Background(), snapshot.S3Config{
		Bucket: "backups", Region: "us-east-1", Prefix: "strongbox", Endpoint: srv, DisableTLS: true,
		ForcePathStyle: true, AccessKeyID: "AKID", SecretAccessKey: "very-secret", TempDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for len(seen) < 4 {
		if time.Now().After(deadline) {
			st, _ := c.Read("sys/storage/raft/snapshot-auto/status/s3")
			t.Fatalf("only %d snapshots in S3 in 60s; status %v", len(seen), st)
		}
		objs, err := snapshot.Snapshots(context.Background(), tgt, "vault-snapshot")
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) > 3 {
			t.Fatalf("%d snapshots kept, retain is 2 (one more may exist between upload and prune)", len(objs))
		}
		for _, o := range objs {
			seen[o.Name] = true
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := c.Delete("sys/storage/raft/snapshot-auto/config/s3"); err != nil {
		t.Fatal(err)
	}
	objs, _ := snapshot.Snapshots(context.Background(), tgt, "vault-snapshot")
	if len(objs) != 2 {
		t.Fatalf("objects %v, want exactly 2", objs)
	}
	s.put("k", map[string]any{"v": "changed"})
	rc, err := tgt.Open(context.Background(), objs[1].Name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := s.client(s.root).Sys().RaftSnapshotRestore(rc, false); err != nil {
		t.Fatalf("restore from S3: %v", err)
	}
	s.waitActive()
	if got := s.get("k"); got != "in s3" {
		t.Fatalf("restored %q", got)
	}
}

// startS3 serves an in-memory S3 on 127.0.0.1 and returns its host:port.
func startS3(t *testing.T, backend gofakes3.Backend) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: gofakes3.New(backend).Server(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}
