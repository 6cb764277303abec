package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/testcluster"
)

// Crash-loop bounds: at least crashLoopKills kills, within crashLoopBudget
// of killing (the cluster's start and the final check come on top).
const (
	crashLoopKills  = 50
	crashLoopBudget = 150 * time.Second
	// ballastKeys × ballastSize is what the FSM holds of the ballast; the
	// raft log gets every write, so its 64 MiB segments fill and rotate.
	// (Segment files are also started by every tail truncation, so their
	// count alone does not prove a rotation.)
	ballastKeys   = 8
	ballastSize   = 192 << 10
	ballastWriter = 2
)

// TestCrashLoop: a three-node cluster under write load has a node killed
// with SIGKILL again and again: mostly the leader (which then holds log
// entries the next leader never commits, so on rejoining it truncates its
// log tail: the raft-wal v0.4.0 failure), at random moments, at the moment
// a raft snapshot is being written and at the moment the log rotates to a
// new segment. Small snapshot_threshold and trailing_logs make snapshots
// and log compaction frequent; large ballast writes make the default 64 MiB
// segments rotate. After every kill the node must start again and unseal,
// every acknowledged ballast write must be readable, and at the end the
// history of the small keys must be linearizable with no acknowledged write
// lost.
func TestCrashLoop(t *testing.T) {
	c := raftClusterWith(t, 3, "snapshot_threshold = 64\ntrailing_logs = 32\nsnapshot_interval = \"1s\"")
	active := c.WaitForActive(t, 30*time.Second)
	if err := active.Client(c.RootToken()).Sys().Mount("ballast", &vault.MountInput{Type: "kv"}); err != nil {
		t.Fatalf("mount ballast: %v", err)
	}
	start := time.Now()
	rng := rand.New(rand.NewPCG(uint64(start.UnixNano()), 9))
	t.Logf("crash loop seed %d", start.UnixNano())

	rec := testcluster.NewRecorder()
	w := &testcluster.Workload{
		Recorder: rec, Nodes: c.Nodes(), Token: c.RootToken(), Clients: 4, Keys: 16,
		Duration: crashLoopBudget + time.Minute, Prefix: "crash/",
	}
	loadCtx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	statsc := make(chan testcluster.WorkloadStats, 1)
	go func() {
		stats, _ := w.Run(loadCtx)
		statsc <- stats
	}()
	b := &ballast{nodes: c.Nodes(), token: c.RootToken()}
	var wg sync.WaitGroup
	for i := range ballastWriter {
		wg.Add(1)
		go func() { defer wg.Done(); b.write(loadCtx, i) }()
	}

	var kills, atSnapshot, atRotation, atTruncation int
	rotations := newSegmentCounter()
	restart := func(victim *testcluster.ProcessNode, why string) {
		t.Helper()
		kills++
		rotations.add(victim.DataDir())
		sctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := victim.Start(sctx); err != nil {
			t.Fatalf("kill %d (%s, %s): restart: %v", kills, victim.ID(), why, err)
		}
		if err := c.Unseal(sctx, victim); err != nil {
			t.Fatalf("kill %d (%s, %s): unseal after restart: %v", kills, victim.ID(), why, err)
		}
		c.WaitForStandbys(t, 60*time.Second)
		b.check(t, c, fmt.Sprintf("kill %d (%s, %s)", kills, victim.ID(), why))
	}
	for cycle := 0; kills < crashLoopKills && time.Since(start) < crashLoopBudget && !t.Failed(); cycle++ {
		if cycle%6 == 5 {
			// The failure: a deposed leader truncates its log tail
			// on rejoining, and is killed right after.
			victim := nodeOf(c, c.WaitForActive(t, 60*time.Second))
			logStart := logSize(victim)
			orphanEntries(t, c, victim)
			restart(victim, "leader with orphan entries")
			if waitForLog(victim, logStart, "clearing log suffix", 3*time.Second) {
				if err := victim.Kill(); err != nil {
					t.Fatalf("kill %s: %v", victim.ID(), err)
				}
				atTruncation++
				restart(victim, "right after its log tail was truncated")
			}
			continue
		}
		victim := pickVictim(t, c, rng)
		dir := victim.DataDir()
		before := rotations.segments(dir)
		var why string
		if rng.IntN(10) < 3 {
			why = killAtSnapshot(victim, 3*time.Second)
		} else {
			why = killAtRandom(victim, dir, before, time.Duration(100+rng.IntN(800))*time.Millisecond)
		}
		if why == "" {
			if err := victim.Kill(); err != nil {
				t.Fatalf("kill %s: %v", victim.ID(), err)
			}
			why = "random"
		}
		switch why {
		case "snapshot":
			atSnapshot++
		case "rotation":
			atRotation++
		}
		restart(victim, why)
	}
	stopLoad()
	wg.Wait()
	stats := <-statsc
	elapsed := time.Since(start)

	active = c.WaitForActive(t, 30*time.Second)
	fctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.FinalReads(fctx, active); err != nil {
		t.Fatalf("final reads: %v", err)
	}
	b.check(t, c, "at the end")
	report := rec.Check(t, 90*time.Second)
	segs := rotations.total()
	truncations := 0
	for _, n := range c.ProcessNodes() {
		raw, _ := os.ReadFile(n.LogPath())
		truncations += bytes.Count(raw, []byte("clearing log suffix"))
	}
	t.Logf("%d kills in %s (%d while a snapshot was written, %d as a new log segment appeared, %d right after a log tail truncation); %d log segment files seen; %d log tail truncations; ballast: %d acknowledged writes (%d MiB); %s; %s",
		kills, elapsed.Round(time.Second), atSnapshot, atRotation, atTruncation, segs, truncations, b.acked.Load(), b.acked.Load()*ballastSize>>20, stats, report)
	if kills < crashLoopKills {
		t.Fatalf("only %d kills in %s, want %d", kills, crashLoopBudget, crashLoopKills)
	}
	if atSnapshot == 0 {
		t.Fatal("no kill landed while a snapshot was being written")
	}
	if atTruncation == 0 {
		t.Fatal("no node was killed right after truncating its log tail")
	}
	// Every acknowledged write is in the logs of at least two of the three
	// nodes: past 96 MiB, one node took in 64 MiB, a whole segment.
	if mib := b.acked.Load() * ballastSize >> 20; mib < 96 {
		t.Fatalf("only %d MiB of ballast acknowledged: the raft logs may never have rotated", mib)
	}
	if stats.AckedWrites == 0 {
		t.Fatal("no write was acknowledged: the scenario tested nothing")
	}
}

// orphanEntries leaves the leader with log entries the next leader never
// has: the links into the other nodes are slowed so that the leader's log
// runs ahead of theirs, then the leader is cut off (what it sent is held
// back), killed, and the others elect a new leader before the links heal.
// On rejoining, the old leader must clear those entries from its log.
func orphanEntries(t *testing.T, c *testcluster.ProcessCluster, leader *testcluster.ProcessNode) {
	t.Helper()
	var others []*testcluster.ProcessNode
	for _, n := range c.ProcessNodes() {
		if n != leader {
			others = append(others, n)
		}
	}
	// Well under the leader lease (500 ms at performance_multiplier 1).
	for _, n := range others {
		n.Link().Delay(80 * time.Millisecond)
	}
	// The fault: let the load's writes run the leader's log ahead.
	time.Sleep(400 * time.Millisecond)
	if err := c.Isolate(leader); err != nil {
		t.Fatalf("isolate %s: %v", leader.ID(), err)
	}
	if err := leader.Kill(); err != nil {
		t.Fatalf("kill %s: %v", leader.ID(), err)
	}
	for _, n := range others {
		n.Link().Delay(0)
	}
	c.WaitForActive(t, 60*time.Second)
	c.Heal()
}

// nodeOf returns the process node behind n.
func nodeOf(c *testcluster.ProcessCluster, n testcluster.Node) *testcluster.ProcessNode {
	for _, p := range c.ProcessNodes() {
		if p.ID() == n.ID() {
			return p
		}
	}
	return nil
}

// logSize is the current length of n's server log.
func logSize(n *testcluster.ProcessNode) int64 {
	fi, err := os.Stat(n.LogPath())
	if err != nil {
		return 0
	}
	return fi.Size()
}

// waitForLog polls n's server log past offset for text, at most wait.
func waitForLog(n *testcluster.ProcessNode, offset int64, text string, wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if f, err := os.Open(n.LogPath()); err == nil {
			raw, _ := io.ReadAll(io.NewSectionReader(f, offset, 1<<40))
			f.Close()
			if bytes.Contains(raw, []byte(text)) {
				return true
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

// pickVictim returns the active node two times in three, else a standby.
func pickVictim(t *testing.T, c *testcluster.ProcessCluster, rng *rand.Rand) *testcluster.ProcessNode {
	active := c.WaitForActive(t, 60*time.Second)
	nodes := c.ProcessNodes()
	if rng.IntN(3) < 2 {
		for _, n := range nodes {
			if n.ID() == active.ID() {
				return n
			}
		}
	}
	var standbys []*testcluster.ProcessNode
	for _, n := range nodes {
		if n.ID() != active.ID() {
			standbys = append(standbys, n)
		}
	}
	return standbys[rng.IntN(len(standbys))]
}

// killAtSnapshot kills n the moment raft is writing a snapshot (its
// "<id>.tmp" directory exists), waiting at most wait; "" if none came.
func killAtSnapshot(n *testcluster.ProcessNode, wait time.Duration) string {
	dir := filepath.Join(n.DataDir(), "raft", "snapshots")
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".tmp") {
				_ = n.Kill()
				return "snapshot"
			}
		}
		time.Sleep(time.Millisecond)
	}
	return ""
}

// killAtRandom kills n after d, or at once when its log rotates to a new
// segment before that.
func killAtRandom(n *testcluster.ProcessNode, dataDir string, segments map[string]bool, d time.Duration) string {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, name := range walSegments(dataDir) {
			if !segments[name] {
				_ = n.Kill()
				return "rotation"
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return ""
}

// walSegments lists the raft-wal segment files in a node's data directory.
func walSegments(dataDir string) []string {
	entries, _ := os.ReadDir(filepath.Join(dataDir, "raft", "wal"))
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".wal") {
			out = append(out, e.Name())
		}
	}
	return out
}

// segmentCounter remembers every log segment each node ever had.
type segmentCounter struct{ seen map[string]map[string]bool }

func newSegmentCounter() *segmentCounter {
	return &segmentCounter{seen: map[string]map[string]bool{}}
}

func (s *segmentCounter) add(dataDir string) {
	if s.seen[dataDir] == nil {
		s.seen[dataDir] = map[string]bool{}
	}
	for _, name := range walSegments(dataDir) {
		s.seen[dataDir][name] = true
	}
}

// segments returns the segments known for dataDir, reading it first.
func (s *segmentCounter) segments(dataDir string) map[string]bool {
	s.add(dataDir)
	return s.seen[dataDir]
}

func (s *segmentCounter) total() int {
	n := 0
	for _, names := range s.seen {
		n += len(names)
	}
	return n
}

// ballast writes large values to a KV v1 mount, each writer i to its own
// keys in turn with increasing sequence numbers, so that a read shows
// whether an acknowledged write was lost.
type ballast struct {
	nodes []testcluster.Node
	token string
	acked atomic.Int64

	mu sync.Mutex
	// lastAcked and lastSent are per key: the sequence number of the last
	// acknowledged write, and of the last one sent (it may have applied).
	lastAcked, lastSent map[string]int
}

func (b *ballast) key(writer, i int) string { return fmt.Sprintf("w%d-k%d", writer, i) }

func (b *ballast) write(ctx context.Context, writer int) {
	hc := &http.Client{Timeout: 10 * time.Second}
	pad := strings.Repeat("x", ballastSize)
	for seq, node := 1, writer; ctx.Err() == nil; seq++ {
		key := b.key(writer, seq%(ballastKeys/ballastWriter))
		body, _ := json.Marshal(map[string]string{"seq": strconv.Itoa(seq), "pad": pad})
		b.mu.Lock()
		if b.lastSent == nil {
			b.lastSent, b.lastAcked = map[string]int{}, map[string]int{}
		}
		b.lastSent[key] = seq
		b.mu.Unlock()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, b.nodes[node%len(b.nodes)].APIAddr()+"/v1/ballast/"+key, bytes.NewReader(body))
		req.Header.Set("X-Vault-Token", b.token)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		if err == nil && resp.StatusCode/100 == 2 {
			b.mu.Lock()
			b.lastAcked[key] = seq
			b.mu.Unlock()
			b.acked.Add(1)
			continue
		}
		node++ // try another node; pace a little while nodes restart
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// check reads every ballast key through the active node: each must hold
// its last acknowledged write or a later one that was sent.
func (b *ballast) check(t *testing.T, c *testcluster.ProcessCluster, when string) {
	t.Helper()
	b.mu.Lock()
	acked := make(map[string]int, len(b.lastAcked))
	for k, v := range b.lastAcked {
		acked[k] = v
	}
	b.mu.Unlock()
	active := c.WaitForActive(t, 60*time.Second)
	cl := active.Client(c.RootToken())
	for key, want := range acked {
		var s *vault.Secret
		var err error
		deadline := time.Now().Add(30 * time.Second)
		for {
			s, err = cl.Logical().Read("ballast/" + key)
			if err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil || s == nil {
			t.Fatalf("%s: ballast/%s (acknowledged seq %d): %v, %v", when, key, want, s, err)
		}
		got, _ := strconv.Atoi(fmt.Sprint(s.Data["seq"]))
		b.mu.Lock()
		sent := b.lastSent[key]
		b.mu.Unlock()
		if got < want || got > sent {
			t.Fatalf("%s: ballast/%s holds seq %d; acknowledged %d, last sent %d: an acknowledged write was lost", when, key, got, want, sent)
		}
	}
}
