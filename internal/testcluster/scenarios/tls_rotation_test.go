package scenarios

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/testcluster"
)

// TestRaftTLSRotation: the raft TLS CA rotates (staged, then promoted)
// under load without a failed request, and a follower restarted after the
// rotations still rejoins over the new CA.
func TestRaftTLSRotation(t *testing.T) {
	c := raftClusterWith(t, 3, `tls_rotation_interval = "4s"`)
	runChecked(t, c, c.Nodes(), 14*time.Second, func() {})
	active := c.WaitForActive(t, 10*time.Second)
	var activeLog string
	for _, n := range c.ProcessNodes() {
		if n.ID() == active.ID() {
			raw, err := os.ReadFile(n.LogPath())
			if err != nil {
				t.Fatal(err)
			}
			activeLog = string(raw)
		}
	}
	if got := strings.Count(activeLog, "raft TLS keyring rotated"); got < 2 {
		t.Fatalf("the active node rotated the raft TLS keyring %d times in 14s, want at least 2 (stage and promote)", got)
	}
	var follower testcluster.Node
	for _, n := range c.Nodes() {
		if n != active {
			follower = n
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := follower.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Unseal(ctx, follower); err != nil {
		t.Fatal(err)
	}
	if _, err := active.Client(c.RootToken()).KVv2("secret").Put(ctx, "after-rotation", map[string]any{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := follower.Client(c.RootToken()).KVv2("secret").Get(ctx, "after-rotation")
		if err == nil && s.Data["v"] == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted follower never served the new write: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.WaitForStandbys(t, 30*time.Second)
}
