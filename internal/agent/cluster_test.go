package agent

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/testcluster"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

// The built `strongbox proxy` in front of a standby of a 3-node raft
// cluster: the cached token is replayed, the active node is stopped, and
// once a new one is elected requests through the proxy work again and the
// cache still answers.
func TestProxyBinaryInFrontOfClusterAcrossFailover(t *testing.T) {
	bin := testcluster.Build(t)
	c := testcluster.NewCluster(t, testcluster.Options{Storage: "raft", Nodes: 3, Binary: bin, LogLevel: "info",
		StorageConfig: "performance_multiplier = 1"})
	c.Init(t)
	c.UnsealAll(t)
	active := c.WaitForActive(t, 60*time.Second)
	standbys := c.WaitForStandbys(t, 60*time.Second)
	// Joining servers start as non-voters; losing the leader before
	// autopilot promotes them would leave no quorum.
	eventually(t, 60*time.Second, "three raft voters", func() bool {
		s, err := active.Client(c.RootToken()).Logical().Read("sys/storage/raft/configuration")
		if err != nil || s == nil {
			return false
		}
		cfg, _ := s.Data["config"].(map[string]any)
		servers, _ := cfg["servers"].([]any)
		voters := 0
		for _, srv := range servers {
			if m, ok := srv.(map[string]any); ok && m["voter"] == true {
				voters++
			}
		}
		return voters == 3
	})
	var target testcluster.Node
	for _, n := range standbys {
		if n.ID() != active.ID() {
			target = n
			break
		}
	}
	if target == nil {
		t.Fatal("no standby")
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "proxy.hcl")
	writeFile(t, cfg, fmt.Sprintf("vault {\n  address = %q\n  retry { num_retries = -1 }\n}\ncache {}\nlistener \"tcp\" {\n  address = %q\n  tls_disable = true\n}\n", target.APIAddr(), addr))
	cmd := exec.Command(bin, "proxy", "-config", cfg)
	logs := &logBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Env = append(os.Environ(), "VAULT_ADDR=", "VAULT_TOKEN=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("proxy log:\n%s", logs.String())
		}
	})
	cl := agentClient(t, addr, c.RootToken())
	create := func(meta string) (string, error) {
		s, err := cl.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"default"}, TTL: "1h", Metadata: map[string]string{"m": meta}})
		if err != nil {
			return "", err
		}
		return s.Auth.ClientToken, nil
	}
	var first string
	eventually(t, 30*time.Second, "the proxy", func() bool {
		var err error
		first, err = create("a")
		return err == nil
	})
	if again, err := create("a"); err != nil || again != first {
		t.Fatalf("repeated create through the proxy: %v (same token: %v)", err, again == first)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := active.Stop(ctx); err != nil {
		t.Fatalf("stop the active node: %v", err)
	}
	newActive := c.WaitForActive(t, 60*time.Second)
	if newActive.ID() == active.ID() {
		t.Fatal("the stopped node is still active")
	}
	var second string
	eventually(t, 60*time.Second, "a request through the proxy after the failover", func() bool {
		var err error
		second, err = create("b")
		return err == nil
	})
	if second == first {
		t.Fatal("a different request got the cached token")
	}
	if again, err := create("a"); err != nil || again != first {
		t.Fatalf("the cache after the failover: %v (same token: %v)", err, again == first)
	}
	if _, err := agentClient(t, addr, first).Auth().Token().LookupSelf(); err != nil {
		t.Fatalf("the cached token after the failover: %v", err)
	}
}
