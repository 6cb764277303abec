package command

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
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

	"github.com/strongbox/strongbox/internal/server"
)

// startRaftNode runs an in-process one-node raft server, initialized and
// unsealed, with KV v2 at secret/; it returns its address and root token.
func startRaftNode(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	var ports [2]int
	var lns []net.Listener
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		lns = append(lns, ln)
	}
	for _, ln := range lns {
		_ = ln.Close()
	}
	cfg := filepath.Join(dir, "config.hcl")
	writeFile(t, cfg, fmt.Sprintf(`storage "raft" {
  path = %q
  node_id = "n1"
  performance_multiplier = 1
}
listener "tcp" {
  address         = "127.0.0.1:%d"
  cluster_address = "127.0.0.1:%d"
  tls_disable     = true
}
api_addr      = "http://127.0.0.1:%d"
cluster_addr  = "https://127.0.0.1:%d"
disable_mlock = true
`, filepath.Join(dir, "raft"), ports[0], ports[1], ports[0], ports[1]))
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan []string, 1), make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Options{ConfigPaths: []string{cfg},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func(a []string) { ready <- a }}, nil)
	}()
	var addr string
	select {
	case a := <-ready:
		addr = "http://" + a[0]
	case err := <-done:
		cancel()
		t.Fatalf("server: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not start")
	}
	t.Cleanup(func() {
		cancel()
		<-done
	})
	c, err := vault.NewClient(&vault.Config{Address: addr, MaxRetries: 0})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Sys().Init(&vault.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sys().Unseal(res.Keys[0]); err != nil {
		t.Fatal(err)
	}
	c.SetToken(res.RootToken)
	deadline := time.Now().Add(30 * time.Second)
	for {
		h, err := c.Sys().Health()
		if err == nil && !h.Sealed && !h.Standby {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not active: %v %v", h, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := c.Sys().Mount("secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	return addr, res.RootToken
}

// TestOperatorRaftSnapshotEndToEnd: save, inspect (table and JSON, no
// server needed), restore, against a real server.
func TestOperatorRaftSnapshotEndToEnd(t *testing.T) {
	addr, root := startRaftNode(t)
	c := newCLI(t, addr)
	c.env["VAULT_TOKEN"] = root
	c.run("", "kv", "put", "secret/app", "v=saved").want(t, 0)
	file := filepath.Join(t.TempDir(), "raft.snap")
	res := c.run("", "operator", "raft", "snapshot", "save", file).want(t, 0)
	if res.stdout != "" {
		t.Errorf("save printed %q", res.stdout)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	c.run("", "kv", "put", "secret/app", "v=changed").want(t, 0)

	// Offline: no address, no token.
	off := newCLI(t, "http://127.0.0.1:1")
	res = off.run("", "operator", "raft", "snapshot", "inspect", "-depth=1", file).want(t, 0)
	for _, want := range []string{"ID ", "Size ", "Index ", "Term ", "Version ", "Key Name", "logical ", "core ", "sys ", "Total "} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("inspect table lacks %q:\n%s", want, res.stdout)
		}
	}
	t.Logf("inspect:\n%s", res.stdout)
	res = off.run("", "operator", "raft", "snapshot", "inspect", "-format=json", file).want(t, 0)
	var out inspectOutput
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("json: %v\n%s", err, res.stdout)
	}
	count := 0
	for _, s := range out.StatsKV {
		count += s.Count
	}
	if out.Meta.Index == 0 || out.Meta.Term == 0 || out.Meta.Version != 1 || out.TotalCountKV == 0 || count != out.TotalCountKV {
		t.Fatalf("inspect json %+v", out)
	}

	c.run("", "operator", "raft", "snapshot", "restore", file).want(t, 0)
	waitKV(t, c, "secret/app", "saved")

	// A truncated file is refused by the server, with its reason.
	data, _ := os.ReadFile(file)
	short := filepath.Join(t.TempDir(), "short.snap")
	writeFile(t, short, string(data[:len(data)/2]))
	res = c.run("", "operator", "raft", "snapshot", "restore", short).want(t, 2)
	if !strings.Contains(res.stderr, "Error installing the snapshot") || !strings.Contains(res.stderr, "invalid snapshot") {
		t.Errorf("stderr %q", res.stderr)
	}
	res = off.run("", "operator", "raft", "snapshot", "inspect", short).want(t, 1)
	if !strings.Contains(res.stderr, "Error reading snapshot") || !strings.Contains(res.stderr, "invalid snapshot") {
		t.Errorf("inspect of a truncated file: %q", res.stderr)
	}
}

func waitKV(t *testing.T, c *cli, path, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res := c.run("", "kv", "get", "-field=v", path)
		if res.code == 0 && res.stdout == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %q (exit %d, %s), want %q", path, res.stdout, res.code, res.stderr, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fakeArchive is what Vault's client accepts as a snapshot: a gzip'd tar
// ending in a non-empty SHA256SUMS.sealed (sealed false: without it).
func fakeArchive(t *testing.T, sealed bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	files := map[string]string{"state.bin": "data"}
	names := []string{"state.bin"}
	if sealed {
		files["SHA256SUMS.sealed"] = "mac"
		names = append(names, "SHA256SUMS.sealed")
	}
	for _, n := range names {
		_ = tw.WriteHeader(&tar.Header{Name: n, Mode: 0o600, Size: int64(len(files[n])), Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte(files[n]))
	}
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes()
}

func TestOperatorRaftSnapshotSave(t *testing.T) {
	good := fakeArchive(t, true)
	cases := []struct {
		name   string
		status int
		body   []byte
		code   int
		stderr string
	}{
		{"ok", 200, good, 0, ""},
		{"server error", 500, []byte(`{"errors":["boom"]}`), 2, "Error taking the snapshot"},
		{"incomplete stream", 200, fakeArchive(t, false), 2, "Error taking the snapshot"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeVault(t)
			f.onFunc("GET /v1/sys/storage/raft/snapshot", func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(c.status)
				_, _ = w.Write(c.body)
			})
			dir := t.TempDir()
			file := filepath.Join(dir, "s.snap")
			res := newCLI(t, f.srv.URL).run("", "operator", "raft", "snapshot", "save", file).want(t, c.code)
			if !strings.Contains(res.stderr, c.stderr) {
				t.Fatalf("stderr %q", res.stderr)
			}
			entries, _ := os.ReadDir(dir)
			switch {
			case c.code == 0:
				got, err := os.ReadFile(file)
				if err != nil || !bytes.Equal(got, c.body) || len(entries) != 1 {
					t.Fatalf("saved file: %v, %d entries", err, len(entries))
				}
			case len(entries) != 0:
				t.Fatalf("a failed save left %v", entries)
			}
		})
	}
	newCLI(t, "http://127.0.0.1:1").run("", "operator", "raft", "snapshot", "save").want(t, 1)
}

func TestOperatorRaftSnapshotRestore(t *testing.T) {
	file := filepath.Join(t.TempDir(), "s.snap")
	writeFile(t, file, "snapshot bytes")
	for _, force := range []bool{false, true} {
		f := newFakeVault(t)
		path := "/v1/sys/storage/raft/snapshot"
		args := []string{"operator", "raft", "snapshot", "restore"}
		if force {
			path += "-force"
			args = append(args, "-force")
		}
		f.on("POST "+path, 204, nil)
		newCLI(t, f.srv.URL).run("", append(args, file)...).want(t, 0)
		if got := f.only("POST " + path).Raw; got != "snapshot bytes" {
			t.Fatalf("body %q", got)
		}
	}
	f := newFakeVault(t)
	f.on("POST /v1/sys/storage/raft/snapshot", 400, map[string]any{"errors": []string{"snapshot was taken by another cluster"}})
	res := newCLI(t, f.srv.URL).run("", "operator", "raft", "snapshot", "restore", file).want(t, 2)
	if !strings.Contains(res.stderr, "Error installing the snapshot") || !strings.Contains(res.stderr, "another cluster") {
		t.Fatalf("stderr %q", res.stderr)
	}
	res = newCLI(t, f.srv.URL).run("", "operator", "raft", "snapshot", "restore", filepath.Join(t.TempDir(), "missing")).want(t, 1)
	if !strings.Contains(res.stderr, "Error opening snapshot file") {
		t.Fatalf("stderr %q", res.stderr)
	}
}

func TestByteSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 512: "512B", 1536: "1.5KB", 20 << 20: "20MB", 3 << 30: "3GB"} {
		if got := byteSize(n); got != want {
			t.Errorf("byteSize(%d) = %q, want %q", n, got, want)
		}
	}
}
