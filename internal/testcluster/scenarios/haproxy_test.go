package scenarios

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// haproxyConfig turns deploy/haproxy.cfg into a config for this cluster:
// the shipped file is what is tested, with only the addresses replaced.
func haproxyConfig(t *testing.T, listen string, apiAddrs []string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "deploy", "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(raw), "bind 127.0.0.1:8300", "bind "+listen, 1)
	var servers strings.Builder
	for i, a := range apiAddrs {
		u, err := url.Parse(a)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&servers, "    server node%d %s check\n", i+1, u.Host)
	}
	// Each backend's block of server lines is replaced by this cluster's.
	block := regexp.MustCompile(`(?m)(^\s*server node\d .*\n)+`)
	return block.ReplaceAllString(cfg, servers.String())
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestHAProxyFailover: a client that only knows HAProxy's address keeps
// working across a kill -9 of the active node.
func TestHAProxyFailover(t *testing.T) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatal("haproxy is not installed: run scripts/test-deps.sh (apt-get install haproxy)")
	}
	c := raftCluster(t, 3)
	var addrs []string
	for _, n := range c.Nodes() {
		addrs = append(addrs, n.APIAddr())
	}
	listen := freeAddr(t)
	cfgPath := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(haproxyConfig(t, listen, addrs)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-f", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("haproxy rejects the shipped config: %v\n%s", err, out)
	}
	proc := exec.Command(bin, "-db", "-f", cfgPath)
	logf, _ := os.Create(filepath.Join(t.TempDir(), "haproxy.log"))
	proc.Stdout, proc.Stderr = logf, logf
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proc.Process.Kill(); _ = proc.Wait() })

	cfg := vault.DefaultConfig()
	cfg.Address = "http://" + listen
	cfg.MaxRetries = 0
	cfg.Timeout = 5 * time.Second
	client, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client.SetToken(c.RootToken())
	ctx := context.Background()
	put := func(i int) error {
		_, err := client.KVv2("secret").Put(ctx, "lb", map[string]any{"n": i})
		return err
	}
	deadline := time.Now().Add(20 * time.Second)
	for put(0) != nil {
		if time.Now().After(deadline) {
			t.Fatal("no write went through HAProxy")
		}
		time.Sleep(100 * time.Millisecond)
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	leader, err := c.Leader(lctx)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if err := leader.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	failures := 0
	var recovered time.Duration
	for i := 1; time.Since(killed) < 30*time.Second; i++ {
		if err := put(i); err != nil {
			failures++
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if recovered == 0 {
			recovered = time.Since(killed)
		}
		if recovered != 0 && time.Since(killed) > recovered+2*time.Second {
			break
		}
	}
	if recovered == 0 {
		t.Fatalf("writes through HAProxy never recovered after the leader was killed (%d failures)", failures)
	}
	s, err := client.KVv2("secret").Get(ctx, "lb")
	if err != nil || s == nil {
		t.Fatalf("read through HAProxy after failover: %v", err)
	}
	t.Logf("writes through HAProxy recovered %s after kill -9 of the active node (%d failed attempts meanwhile)", recovered.Round(time.Millisecond), failures)
}
