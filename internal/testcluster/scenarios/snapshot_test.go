package scenarios

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
	bolt "go.etcd.io/bbolt"

	"github.com/strongbox/strongbox/internal/physical/raft"
	"github.com/strongbox/strongbox/internal/snapshot"
	"github.com/strongbox/strongbox/internal/testcluster"
)

// longClient is a node's API client with room for large snapshots.
func longClient(t testing.TB, n testcluster.Node, token string) *vault.Client {
	t.Helper()
	cfg := vault.DefaultConfig()
	cfg.Address = n.APIAddr()
	cfg.MaxRetries = 0
	cfg.Timeout = 5 * time.Minute
	cl, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cl.ClearNamespace()
	cl.SetToken(token)
	return cl
}

// kvGet reads secret/<key>'s "v" through n ("" when missing).
func kvGet(t testing.TB, n testcluster.Node, token, key string) string {
	t.Helper()
	s, err := n.Client(token).KVv2("secret").Get(context.Background(), key)
	if errors.Is(err, vault.ErrSecretNotFound) {
		return ""
	}
	if err != nil {
		t.Fatalf("%s: get %s: %v", n.ID(), key, err)
	}
	v, _ := s.Data["v"].(string)
	return v
}

func kvPut(t testing.TB, n testcluster.Node, token, key, v string) {
	t.Helper()
	if _, err := n.Client(token).KVv2("secret").Put(context.Background(), key, map[string]any{"v": v}); err != nil {
		t.Fatalf("%s: put %s: %v", n.ID(), key, err)
	}
}

// saveSnapshot saves a snapshot through n into a file.
func saveSnapshot(t testing.TB, n testcluster.Node, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "raft.snap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := longClient(t, n, token).Sys().RaftSnapshot(f); err != nil {
		t.Fatalf("%s: snapshot: %v", n.ID(), err)
	}
	return path
}

func restoreFile(n testcluster.Node, token, path string, force bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cfg := vault.DefaultConfig()
	cfg.Address, cfg.MaxRetries, cfg.Timeout = n.APIAddr(), 0, 5*time.Minute
	cl, err := vault.NewClient(cfg)
	if err != nil {
		return err
	}
	cl.SetToken(token)
	return cl.Sys().RaftSnapshotRestore(f, force)
}

// standbyOf returns a running node other than active.
func standbyOf(c *testcluster.ProcessCluster, active testcluster.Node) testcluster.Node {
	for _, n := range c.Nodes() {
		if n != active && n.State() == testcluster.Running {
			return n
		}
	}
	return nil
}

// logicalDigests maps every key under logical/ in a snapshot file to the
// SHA-256 of its (encrypted) value.
func logicalDigests(t testing.TB, path string) map[string][32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var state bytes.Buffer
	if _, err := snapshot.Read(f, &state); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	out := map[string][32]byte{}
	if _, err := raft.InspectSnapshot(context.Background(), &state, t.TempDir(), func(k string, v []byte) error {
		if strings.HasPrefix(k, "logical/") {
			out[k] = sha256.Sum256(v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// nodeDigests is logicalDigests of a stopped node's vault.db (the raft
// FSM keeps every entry in its bucket "data").
func nodeDigests(t testing.TB, n testcluster.Node) map[string][32]byte {
	t.Helper()
	db, err := bolt.Open(filepath.Join(n.DataDir(), "vault.db"), 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("%s: open vault.db: %v", n.ID(), err)
	}
	defer db.Close()
	out := map[string][32]byte{}
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("data"))
		if b == nil {
			return errors.New("no data bucket")
		}
		c := b.Cursor()
		for k, v := c.Seek([]byte("logical/")); k != nil && bytes.HasPrefix(k, []byte("logical/")); k, v = c.Next() {
			out[string(k)] = sha256.Sum256(v)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", n.ID(), err)
	}
	return out
}

// TestSnapshotRestoreThreeNodes: a snapshot saved through a standby and
// restored through another replaces the data on every node with exactly
// the saved data: read through each node's API, and byte for byte in each
// node's storage once stopped.
func TestSnapshotRestoreThreeNodes(t *testing.T) {
	c := raftCluster(t, 3)
	root := c.RootToken()
	active := c.WaitForActive(t, 10*time.Second)
	for i := range 20 {
		kvPut(t, active, root, fmt.Sprintf("k%d", i), "saved")
	}
	file := saveSnapshot(t, standbyOf(c, active), root)

	for i := range 10 {
		kvPut(t, active, root, fmt.Sprintf("k%d", i), "changed")
		kvPut(t, active, root, fmt.Sprintf("new%d", i), "changed")
	}
	for i := 10; i < 15; i++ {
		if err := active.Client(root).KVv2("secret").DeleteMetadata(context.Background(), fmt.Sprintf("k%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := restoreFile(standbyOf(c, active), root, file, false); err != nil {
		t.Fatalf("restore through a standby: %v", err)
	}
	c.WaitForActive(t, 30*time.Second)
	c.WaitForStandbys(t, 30*time.Second)
	for _, n := range c.Nodes() {
		for i := range 20 {
			if got := kvGet(t, n, root, fmt.Sprintf("k%d", i)); got != "saved" {
				t.Fatalf("%s: k%d = %q after the restore", n.ID(), i, got)
			}
		}
		for i := range 10 {
			if got := kvGet(t, n, root, fmt.Sprintf("new%d", i)); got != "" {
				t.Fatalf("%s: new%d = %q survived the restore", n.ID(), i, got)
			}
		}
	}
	want := logicalDigests(t, file)
	if len(want) == 0 {
		t.Fatal("the snapshot holds no KV data")
	}
	// Every node applied everything before it stops.
	waitPeers(t, c, c.WaitForActive(t, 10*time.Second), 3)
	for _, n := range c.Nodes() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := n.Stop(ctx)
		cancel()
		if err != nil {
			t.Fatalf("%s: stop: %v", n.ID(), err)
		}
	}
	for _, n := range c.Nodes() {
		got := nodeDigests(t, n)
		if len(got) != len(want) {
			t.Fatalf("%s: %d logical entries, the snapshot has %d", n.ID(), len(got), len(want))
		}
		for k, d := range want {
			if got[k] != d {
				t.Fatalf("%s: %s differs from the snapshot", n.ID(), k)
			}
		}
	}
}

// TestSnapshotRestoreRefusals: a truncated snapshot, a corrupted one and
// another cluster's are refused with a clear 400 and change nothing, on a
// 3-node cluster.
func TestSnapshotRestoreRefusals(t *testing.T) {
	c := raftCluster(t, 3)
	other := raftCluster(t, 1)
	root := c.RootToken()
	active := c.WaitForActive(t, 10*time.Second)
	kvPut(t, active, root, "marker", "before")
	file := saveSnapshot(t, active, root)
	kvPut(t, active, root, "marker", "after")
	kvPut(t, other.WaitForActive(t, 10*time.Second), other.RootToken(), "marker", "other cluster")
	foreign := saveSnapshot(t, other.WaitForActive(t, 10*time.Second), other.RootToken())

	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	truncated, corrupted := filepath.Join(dir, "truncated.snap"), filepath.Join(dir, "corrupted.snap")
	if err := os.WriteFile(truncated, data[:len(data)*3/4], 0o600); err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 0x40
	if err := os.WriteFile(corrupted, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, msg string }{
		{"truncated", truncated, "invalid snapshot"},
		{"corrupted", corrupted, "invalid snapshot"},
		{"another cluster", foreign, "taken by another cluster"},
	} {
		for _, via := range []testcluster.Node{active, standbyOf(c, active)} {
			err := restoreFile(via, root, tc.path, false)
			var re *vault.ResponseError
			if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest || !strings.Contains(strings.Join(re.Errors, " "), tc.msg) {
				t.Fatalf("%s through %s: %v", tc.name, via.ID(), err)
			}
			for _, n := range c.Nodes() {
				if got := kvGet(t, n, root, "marker"); got != "after" {
					t.Fatalf("%s: marker = %q after a refused %s restore", n.ID(), got, tc.name)
				}
			}
		}
	}
	// The cluster still takes good restores. The keyring is rotated after
	// the snapshot, and every node learns that term 2 (a step-down makes a
	// new active advertise itself under it, and the reads below fetch the
	// advertisement). After the restore term 2 is rotated in again with
	// another key: a standby that becomes active reads it only if it
	// reloaded its keyring when the snapshot was installed.
	if _, err := active.Client(root).Logical().Write("sys/rotate", nil); err != nil {
		t.Fatal(err)
	}
	active = stepDown(t, c, active)
	for _, n := range c.Nodes() {
		if got := kvGet(t, n, root, "marker"); got != "after" {
			t.Fatalf("%s: marker = %q", n.ID(), got)
		}
	}
	if err := restoreFile(active, root, file, false); err != nil {
		t.Fatal(err)
	}
	active = c.WaitForActive(t, 30*time.Second)
	if got := kvGet(t, active, root, "marker"); got != "before" {
		t.Fatalf("marker = %q after the good restore", got)
	}
	if _, err := active.Client(root).Logical().Write("sys/rotate", nil); err != nil {
		t.Fatal(err)
	}
	kvPut(t, active, root, "post", "new term")
	next := stepDown(t, c, active)
	for _, n := range c.Nodes() {
		if got := kvGet(t, n, root, "post"); got != "new term" {
			t.Fatalf("%s (active %s): post = %q", n.ID(), next.ID(), got)
		}
	}
}

// stepDown steps the active node down and returns the next active one.
func stepDown(t testing.TB, c *testcluster.ProcessCluster, active testcluster.Node) testcluster.Node {
	t.Helper()
	if err := active.Client(c.RootToken()).Sys().StepDown(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if next := c.WaitForActive(t, 30*time.Second); next != active {
			return next
		}
		if time.Now().After(deadline) {
			t.Fatal("no other node became active after the step-down")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// procStatus reads a field of /proc/<pid>/status, in kB.
func procStatus(t testing.TB, pid int, field string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// peakGrowth runs fn and returns by how much the process's peak RSS rose
// above its RSS when fn started, in bytes. It resets the peak first
// (clear_refs 5) when the kernel lets it, so earlier peaks do not hide
// fn's.
func peakGrowth(t testing.TB, pid int, fn func()) int64 {
	t.Helper()
	resetErr := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0o200)
	base := procStatus(t, pid, "VmRSS")
	hwm := procStatus(t, pid, "VmHWM")
	if hwm > base {
		base = hwm // the reset was not allowed: measure against the old peak
	}
	fn()
	after := procStatus(t, pid, "VmHWM")
	t.Logf("peak RSS: %d kB before (reset: %v), %d kB after; anon %d kB, file %d kB", hwm, resetErr, after,
		procStatus(t, pid, "RssAnon"), procStatus(t, pid, "RssFile"))
	return (after - base) * 1024
}

// fillRandom writes n KV v2 secrets of size bytes each (random, so the
// data does not compress) through the node with 8 writers.
func fillRandom(t testing.TB, n testcluster.Node, token string, count, size int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, count)
	next := make(chan int)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewChaCha8([32]byte{byte(w)}))
			buf := make([]byte, size/2)
			cl := longClient(t, n, token)
			for i := range next {
				for j := range buf {
					buf[j] = byte(rng.Uint32())
				}
				v := fmt.Sprintf("%x", buf)
				if _, err := cl.KVv2("secret").Put(context.Background(), fmt.Sprintf("big/%d", i), map[string]any{"v": v}); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range count {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("fill: %v", err)
	}
}

// TestSnapshotMemoryBounded: saving a snapshot of more than 200 MB streams
// it: the server's peak RSS grows by far less than the snapshot's size.
func TestSnapshotMemoryBounded(t *testing.T) {
	c := testcluster.NewCluster(t, testcluster.Options{Nodes: 1, Storage: "raft", LogLevel: "info",
		StorageConfig: "performance_multiplier = 1"})
	c.Init(t)
	c.UnsealAll(t)
	node := c.WaitForActive(t, 30*time.Second)
	root := c.RootToken()
	if err := node.Client(root).Sys().Mount("secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	fillRandom(t, node, root, 220, 1<<20)
	// A fresh process: what the fill left in memory (request buffers, the
	// pages it wrote) must not hide what the snapshot costs.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := node.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Unseal(ctx, node); err != nil {
		t.Fatal(err)
	}
	c.WaitForActive(t, 30*time.Second)
	pid := c.ProcessNodes()[0].PID()

	var file string
	var took time.Duration
	growth := peakGrowth(t, pid, func() {
		t0 := time.Now()
		file = saveSnapshot(t, node, root)
		took = time.Since(t0)
	})
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	size := fi.Size()
	t.Logf("snapshot: %d MB in %s (%.0f MB/s); server peak RSS grew by %d MB",
		size>>20, took.Round(time.Millisecond), float64(size)/(1<<20)/took.Seconds(), growth>>20)
	if size < 200<<20 {
		t.Fatalf("snapshot of %d bytes: the test needs at least 200 MB", size)
	}
	if growth >= size/2 {
		t.Fatalf("peak RSS grew by %d MB for a %d MB snapshot: not streamed", growth>>20, size>>20)
	}

	kvPut(t, node, root, "marker", "after the snapshot")
	growth = peakGrowth(t, pid, func() {
		t0 := time.Now()
		if err := restoreFile(node, root, file, false); err != nil {
			t.Fatalf("restore: %v", err)
		}
		took = time.Since(t0)
	})
	t.Logf("restore: %d MB in %s (%.0f MB/s); server peak RSS grew by %d MB",
		size>>20, took.Round(time.Millisecond), float64(size)/(1<<20)/took.Seconds(), growth>>20)
	c.WaitForActive(t, 30*time.Second)
	if got := kvGet(t, node, root, "marker"); got != "" {
		t.Fatalf("marker %q survived the restore", got)
	}
}

// snapshotFiles lists the automated snapshots in dir, oldest first.
func snapshotFiles(t testing.TB, dir string) []string {
	t.Helper()
	objs, err := snapshot.Snapshots(context.Background(), &snapshot.LocalTarget{Dir: dir}, "vault-snapshot")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range objs {
		out = append(out, filepath.Join(dir, o.Name))
	}
	return out
}

// TestAutoSnapshotsSurviveLeaderLoss: automated snapshots every 2s, retain
// 3, into a directory every node can write; the leader is killed midway
// and the new active node carries the schedule on from the stored state.
// In the end exactly 3 files remain, each intact and restorable.
func TestAutoSnapshotsSurviveLeaderLoss(t *testing.T) {
	c := raftCluster(t, 3)
	root := c.RootToken()
	dir := filepath.Join(t.TempDir(), "snaps")
	active := c.WaitForActive(t, 10*time.Second)
	kvPut(t, active, root, "marker", "auto")
	if _, err := active.Client(root).Logical().Write("sys/storage/raft/snapshot-auto/config/every2s", map[string]any{
		"interval": "2s", "retain": 3, "path_prefix": dir, "storage_type": "local",
	}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	waitSnapshots := func(n int, what string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for len(seen) < n {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d snapshots seen in 60s, want %d", what, len(seen), n)
			}
			files := snapshotFiles(t, dir)
			if len(files) > 4 {
				t.Fatalf("%d snapshots kept with retain 3: %v", len(files), files)
			}
			for _, f := range files {
				seen[filepath.Base(f)] = true
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitSnapshots(2, "before the kill")
	if err := active.Kill(); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	newActive := c.WaitForActive(t, 30*time.Second)
	before := len(seen)
	waitSnapshots(before+3, "after the kill")
	st, err := newActive.Client(root).Logical().Read("sys/storage/raft/snapshot-auto/status/every2s")
	if err != nil || st == nil {
		t.Fatalf("status: %v %v", st, err)
	}
	last, err := time.Parse(time.RFC3339Nano, st.Data["snapshot_start"].(string))
	if err != nil || !last.After(killedAt) {
		t.Fatalf("status after the kill: %v (%v)", st.Data, err)
	}

	// Bring the killed node back so the restores below have all three.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := active.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Unseal(ctx, active); err != nil {
		t.Fatal(err)
	}
	c.WaitForStandbys(t, 30*time.Second)
	if _, err := newActive.Client(root).Logical().Delete("sys/storage/raft/snapshot-auto/config/every2s"); err != nil {
		t.Fatal(err)
	}
	files := snapshotFiles(t, dir)
	if len(files) != 3 {
		t.Fatalf("%d snapshots after the schedule stopped, want exactly 3: %v", len(files), files)
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		_, err = snapshot.Read(fh, io.Discard)
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := restoreFile(c.WaitForActive(t, 30*time.Second), root, f, false); err != nil {
			t.Fatalf("restore %s: %v", filepath.Base(f), err)
		}
		if got := kvGet(t, c.WaitForActive(t, 30*time.Second), root, "marker"); got != "auto" {
			t.Fatalf("after restoring %s: marker %q", filepath.Base(f), got)
		}
	}
}

// BenchmarkSnapshot fills a one-node cluster with 100k (and 1M) KV v2
// secrets, then saves and restores a snapshot of it, reporting MB/s and by
// how much the server's peak RSS grew during each.
func BenchmarkSnapshot(b *testing.B) {
	for _, keys := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) { benchSnapshot(b, keys) })
	}
}

func benchSnapshot(b *testing.B, keys int) {
	for i := 0; i < b.N; i++ {
		c := testcluster.NewCluster(b, testcluster.Options{Nodes: 1, Storage: "raft", LogLevel: "info",
			StorageConfig: "performance_multiplier = 1"})
		c.Init(b)
		c.UnsealAll(b)
		node := c.WaitForActive(b, 30*time.Second)
		root := c.RootToken()
		if err := node.Client(root).Sys().Mount("secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		fillSmall(b, node, root, keys, 32)
		b.ReportMetric(float64(keys)/time.Since(t0).Seconds(), "fill-writes/s")
		pid := c.ProcessNodes()[0].PID()

		var file string
		var took time.Duration
		saveGrowth := peakGrowth(b, pid, func() {
			start := time.Now()
			file = saveSnapshot(b, node, root)
			took = time.Since(start)
		})
		fi, err := os.Stat(file)
		if err != nil {
			b.Fatal(err)
		}
		mb := float64(fi.Size()) / (1 << 20)
		b.ReportMetric(mb, "snapshot-MB")
		b.ReportMetric(mb/took.Seconds(), "save-MB/s")
		b.ReportMetric(float64(saveGrowth)/(1<<20), "save-peak-RSS-growth-MB")
		restoreGrowth := peakGrowth(b, pid, func() {
			start := time.Now()
			if err := restoreFile(node, root, file, false); err != nil {
				b.Fatal(err)
			}
			took = time.Since(start)
		})
		b.ReportMetric(mb/took.Seconds(), "restore-MB/s")
		b.ReportMetric(float64(restoreGrowth)/(1<<20), "restore-peak-RSS-growth-MB")
		b.ReportMetric(float64(procStatus(b, pid, "VmHWM"))/1024, "server-peak-RSS-MB")
	}
}

// fillSmall writes count small KV v2 secrets with the given concurrency.
func fillSmall(b testing.TB, n testcluster.Node, token string, count, workers int) {
	b.Helper()
	var wg sync.WaitGroup
	next := make(chan int, workers)
	var mu sync.Mutex
	var firstErr error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := longClient(b, n, token)
			for i := range next {
				_, err := cl.KVv2("secret").Put(context.Background(), fmt.Sprintf("app/%d/key-%d", i%100, i),
					map[string]any{"v": fmt.Sprintf("value-%d-%032d", i, i)})
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range count {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		b.Fatalf("fill: %v", firstErr)
	}
}

// TestSnapshotForcedRestoreOtherCluster: forced, another cluster's
// snapshot replaces the data and the keyring on every node; every node
// seals, and the other cluster's unseal keys open all three onto the other
// cluster's data.
func TestSnapshotForcedRestoreOtherCluster(t *testing.T) {
	c := raftCluster(t, 3)
	other := raftCluster(t, 1)
	root := c.RootToken()
	active := c.WaitForActive(t, 10*time.Second)
	kvPut(t, active, root, "who", "cluster A")
	otherActive := other.WaitForActive(t, 10*time.Second)
	kvPut(t, otherActive, other.RootToken(), "who", "cluster B")
	foreign := saveSnapshot(t, otherActive, other.RootToken())
	if err := restoreFile(active, root, foreign, true); err != nil {
		t.Fatalf("forced restore: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, n := range c.Nodes() {
		for {
			st, err := n.Client("").Sys().SealStatus()
			if err == nil && st.Sealed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not seal: %v %v", n.ID(), st, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, n := range c.Nodes() {
		cl := n.Client("")
		for _, k := range other.UnsealKeys()[:2] {
			if _, err := cl.Sys().UnsealWithContext(ctx, k); err != nil {
				t.Fatalf("%s: unseal with the other cluster's keys: %v", n.ID(), err)
			}
		}
	}
	c.WaitForActive(t, 30*time.Second)
	c.WaitForStandbys(t, 30*time.Second)
	for _, n := range c.Nodes() {
		if got := kvGet(t, n, other.RootToken(), "who"); got != "cluster B" {
			t.Fatalf("%s: who = %q", n.ID(), got)
		}
	}
}
