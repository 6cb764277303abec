package scenarios

import (
	"context"
	"fmt"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/testcluster"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

// raftCluster starts n raft nodes (with fault proxies), initializes,
// unseals and joins them, and mounts KV v2 at secret/.
func raftCluster(t *testing.T, n int) *testcluster.ProcessCluster {
	t.Helper()
	return raftClusterWith(t, n, "")
}

// raftClusterWith is raftCluster with extra lines in the storage stanza.
func raftClusterWith(t *testing.T, n int, storage string) *testcluster.ProcessCluster {
	t.Helper()
	c := testcluster.NewCluster(t, testcluster.Options{
		Nodes: n, Storage: "raft", Proxies: true,
		// Fast elections keep scenarios short; the product default is 5.
		StorageConfig: "performance_multiplier = 1\n" + storage,
	})
	c.Init(t)
	c.UnsealAll(t)
	active := c.WaitForActive(t, 30*time.Second)
	c.WaitForStandbys(t, 30*time.Second)
	if err := active.Client(c.RootToken()).Sys().Mount("secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatalf("mount: %v", err)
	}
	waitPeers(t, c, active, n)
	return c
}

// waitPeers waits until the raft configuration lists n voters. Joining
// servers start as non-voters; autopilot promotes them once stable.
func waitPeers(t testing.TB, c *testcluster.ProcessCluster, via testcluster.Node, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := via.Client(c.RootToken()).Logical().Read("sys/storage/raft/configuration")
		if err == nil && s != nil {
			if cfg, ok := s.Data["config"].(map[string]any); ok {
				servers, _ := cfg["servers"].([]any)
				voters := 0
				for _, srv := range servers {
					if m, ok := srv.(map[string]any); ok && m["voter"] == true {
						voters++
					}
				}
				if len(servers) == n && voters == n {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("raft configuration never reached %d servers (last: %v, %v)", n, s, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runChecked runs a workload through nodes while fault runs, then reads
// every key through a healthy node and checks the history.
func runChecked(t *testing.T, c *testcluster.ProcessCluster, nodes []testcluster.Node, d time.Duration, fault func()) {
	t.Helper()
	rec := testcluster.NewRecorder()
	// A fresh key prefix per run: a new recorder knows nothing of the
	// values earlier runs left behind.
	prefix := fmt.Sprintf("linz-%d/", time.Now().UnixNano())
	w := &testcluster.Workload{Recorder: rec, Nodes: nodes, Token: c.RootToken(), Clients: 8, Keys: 4, Duration: d, Prefix: prefix}
	done := make(chan testcluster.WorkloadStats, 1)
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	go func() {
		stats, _ := w.Run(ctx)
		done <- stats
	}()
	fault()
	stats := <-done
	active := c.WaitForActive(t, 30*time.Second)
	if err := w.FinalReads(ctx, active); err != nil {
		t.Fatalf("final reads: %v", err)
	}
	report := rec.Check(t, 60*time.Second)
	t.Logf("%s; %s", stats, report)
	if stats.AckedWrites == 0 {
		t.Fatal("no write was acknowledged: the scenario tested nothing")
	}
}
