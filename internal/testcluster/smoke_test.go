package testcluster

import (
	"context"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// TestSmokeFileNodeKillRestart runs the whole harness on what works today:
// one file-storage node as a real process; init, unseal, KV v2; four
// clients for 3 s with a kill -9 in the middle; restart, unseal, final
// reads. File storage fsyncs every write before acknowledging it, so the
// history must be linearizable and no acknowledged write may be lost.
func TestSmokeFileNodeKillRestart(t *testing.T) {
	c := NewCluster(t, Options{Storage: "file"})
	_, root := c.Init(t)
	c.UnsealAll(t)
	n := c.WaitForActive(t, 10*time.Second)
	if err := n.Client(root).Sys().Mount("secret", &vault.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatalf("mount kv-v2: %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 45*time.Second)
	defer cancel()
	rec := NewRecorder()
	w := &Workload{Recorder: rec, Nodes: c.Nodes(), Token: root, Clients: 4, Keys: 4, Duration: 3 * time.Second}
	type result struct {
		st  WorkloadStats
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		st, err := w.Run(ctx)
		done <- result{st, err}
	}()

	// kill -9 while the clients are busy: half-way through the run, and not
	// before some writes are acknowledged.
	const minAcked = 100
	for {
		acked, _ := countOps(rec.Operations())
		if acked >= minAcked && time.Since(start) >= w.Duration/2 {
			t.Logf("kill -9 after %s, %d acknowledged writes", time.Since(start).Round(time.Millisecond), acked)
			break
		}
		select {
		case r := <-done:
			t.Fatalf("workload ended before %d writes were acknowledged: %v %v", minAcked, r.st, r.err)
		case <-time.After(pollInterval):
		}
	}
	if err := n.Kill(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Logf("workload: %v", r.st)

	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c.UnsealAll(t)
	c.WaitForActive(t, 10*time.Second)
	if err := w.FinalReads(ctx, n); err != nil {
		t.Fatal(err)
	}
	rep := rec.Check(t, 20*time.Second)
	t.Log(rep)
	if !rep.OK() || rep.AckedWrites < minAcked || rep.FinalReads < w.Keys {
		t.Fatalf("want a linearizable history with >= %d acknowledged writes and none lost, got: %v", minAcked, rep)
	}
}
