package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/audit"
	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/cluster"
	"github.com/strongbox/strongbox/internal/core"
	apihttp "github.com/strongbox/strongbox/internal/http"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// haGroup is shared-storage HA for tests: every node sees the same inmem
// storage, and the test decides who leads.
type haGroup struct {
	mu     sync.Mutex
	leader string
	nodes  []string
	subs   map[string][]chan bool
}

func (g *haGroup) setLeader(id string) {
	g.mu.Lock()
	g.leader = id
	subs := g.subs
	g.mu.Unlock()
	for node, chans := range subs {
		for _, ch := range chans {
			select {
			case ch <- node == id:
			default:
			}
		}
	}
}

type haNode struct {
	*inmem.Backend
	id string
	g  *haGroup
}

func (n *haNode) NodeID() string { return n.id }
func (n *haNode) IsLeader() bool {
	n.g.mu.Lock()
	defer n.g.mu.Unlock()
	return n.g.leader == n.id
}
func (n *haNode) LeaderID() string {
	n.g.mu.Lock()
	defer n.g.mu.Unlock()
	return n.g.leader
}
func (n *haNode) WatchLeadership() (<-chan bool, func()) {
	ch := make(chan bool, 16)
	n.g.mu.Lock()
	n.g.subs[n.id] = append(n.g.subs[n.id], ch)
	n.g.mu.Unlock()
	return ch, func() {}
}
func (n *haNode) TransferLeadership(context.Context) error {
	for _, id := range n.g.nodes {
		if id != n.id {
			n.g.setLeader(id)
			return nil
		}
	}
	return nil
}
func (n *haNode) ConsistentRead(context.Context) error { return nil }
func (n *haNode) VerifyLeader(context.Context) error {
	if !n.IsLeader() {
		return errors.New("not the leader")
	}
	return nil
}

type haTestNode struct {
	core *core.Core
	api  *httptest.Server
}

func startHANode(t *testing.T, g *haGroup, id string, storage *inmem.Backend) *haTestNode {
	t.Helper()
	tlsp := &lateTLS{}
	cl, err := cluster.Listen(t.Context(), "127.0.0.1:0", tlsp, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	api := httptest.NewUnstartedServer(nil)
	c, err := core.New(core.Config{
		Physical: &haNode{Backend: storage, id: id, g: g}, Logger: quietLogger(), StorageType: "inmem",
		SecretEngines: builtin.SecretEngines(), AuthMethods: builtin.AuthMethods(), AuditDevices: audit.Factories(),
		APIAddr: "http://" + api.Listener.Addr().String(), ClusterAddr: "https://" + cl.Addr().String(),
	})
	if err != nil {
		t.Fatal(err)
	}
	tlsp.set(c.ClusterTLS())
	h := apihttp.NewHandler(c, apihttp.Options{Logger: quietLogger()})
	cl.Register(cluster.ProtoForwarding, cluster.NewForwardServer(h, quietLogger()))
	api.Config.Handler = h
	api.Start()
	t.Cleanup(func() {
		api.Close()
		h.Close()
		_ = c.Seal(context.Background())
	})
	return &haTestNode{core: c, api: api}
}

func (n *haTestNode) client(t *testing.T, token string) *vault.Client {
	cfg := vault.DefaultConfig()
	cfg.Address = n.api.URL
	cfg.MaxRetries = 0
	c, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	return c
}

func healthCode(t *testing.T, n *haTestNode, query string) int {
	resp, err := http.Get(n.api.URL + "/v1/sys/health" + query)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitHealth(t *testing.T, n *haTestNode, want int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for healthCode(t, n, "") != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: health never became %d", n.api.URL, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStandbyForwardingAndStepDown: a standby answers 429 to health checks,
// forwards reads and writes to the active node, redirects when told not to
// forward, and a step-down moves active duty without a failed request.
func TestStandbyForwardingAndStepDown(t *testing.T) {
	g := &haGroup{nodes: []string{"a", "b"}, subs: map[string][]chan bool{}, leader: "a"}
	storage := inmem.New()
	a := startHANode(t, g, "a", storage)
	b := startHANode(t, g, "b", storage)
	ctx := context.Background()
	res, err := a.core.Init(ctx, core.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []*haTestNode{a, b} {
		if err := n.core.Unseal(ctx, res.Keys[0]); err != nil {
			t.Fatal(err)
		}
	}
	waitHealth(t, a, 200)
	waitHealth(t, b, 429)
	if c := healthCode(t, b, "?standbyok=true"); c != 200 {
		t.Fatalf("standbyok on a standby: %d", c)
	}
	if c := healthCode(t, b, "?standbycode=299"); c != 299 {
		t.Fatalf("standbycode: %d", c)
	}

	cb := b.client(t, res.RootToken)
	if err := cb.Sys().Mount("secret", &vault.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatalf("mount through the standby: %v", err)
	}
	if _, err := cb.KVv2("secret").Put(ctx, "creds", map[string]any{"admin": "pw"}); err != nil {
		t.Fatalf("write through the standby: %v", err)
	}
	s, err := a.client(t, res.RootToken).KVv2("secret").Get(ctx, "creds")
	if err != nil || s.Data["admin"] != "pw" {
		t.Fatalf("read on the active: %v %v", s, err)
	}
	leader, err := cb.Sys().Leader()
	if err != nil || !leader.HAEnabled || leader.IsSelf || leader.LeaderAddress != a.api.URL {
		t.Fatalf("sys/leader on the standby: %+v %v", leader, err)
	}

	// The standby's heartbeats make it appear in sys/ha-status.
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := cb.Sys().HAStatus()
		if err != nil {
			t.Fatalf("ha-status: %v", err)
		}
		if len(st.Nodes) == 2 && st.Nodes[0].ActiveNode && !st.Nodes[1].ActiveNode && st.Nodes[1].APIAddress == b.api.URL {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ha-status never listed both nodes: %+v", st.Nodes)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// No forwarding asked: 307 to the active's api_addr.
	req, _ := http.NewRequest("GET", b.api.URL+"/v1/secret/data/creds?version=1", nil)
	req.Header.Set("X-Vault-Token", res.RootToken)
	req.Header.Set("X-Vault-No-Request-Forwarding", "true")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 307 || resp.Header.Get("Location") != a.api.URL+"/v1/secret/data/creds?version=1" {
		t.Fatalf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Step down through the standby (forwarded to the active) while a
	// client keeps writing through both nodes: no request fails.
	stop := make(chan struct{})
	errs := make(chan error, 100)
	var okWrites [2]int
	var wg sync.WaitGroup
	for i, n := range []*haTestNode{a, b} {
		wg.Add(1)
		go func(i int, n *haTestNode) {
			defer wg.Done()
			c := n.client(t, res.RootToken)
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.KVv2("secret").Put(ctx, "load", map[string]any{"n": j}); err != nil {
					errs <- err
					return
				}
				okWrites[i]++
			}
		}(i, n)
	}
	if err := cb.Sys().StepDown(); err != nil {
		t.Fatalf("step-down: %v", err)
	}
	waitHealth(t, b, 200)
	waitHealth(t, a, 429)
	time.Sleep(200 * time.Millisecond) // let the writers run against the new active
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("request failed across the step-down: %v", err)
	}
	if okWrites[0] == 0 || okWrites[1] == 0 {
		t.Fatalf("writers made no progress: %v", okWrites)
	}
	s, err = a.client(t, res.RootToken).KVv2("secret").Get(ctx, "creds")
	if err != nil || s.Data["admin"] != "pw" {
		t.Fatalf("read through the new standby: %v %v", s, err)
	}
}
