package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strongbox/strongbox/internal/server"
)

// nodeExtraConfig is appended to the configuration of the nodes started
// next (-mode=metrics sets a telemetry stanza).
var nodeExtraConfig string

// node is a Strongbox server run in this process on a 127.0.0.1 port.
type node struct {
	dir    string
	cfg    string
	url    string
	token  string
	keys   []string
	cancel context.CancelFunc
	done   chan error
	client *http.Client
	// initTook is how long PUT sys/init took on the fresh server.
	initTook time.Duration
}

func startNode(ctx context.Context, dir string) (*node, error) {
	return startNodeOn(ctx, dir, "file")
}

// startNodeOn starts a node on "file" storage or on one-node "raft"
// storage (the layout the OpenBao figures were measured on).
func startNodeOn(ctx context.Context, dir, storage string) (*node, error) {
	n := &node{dir: dir, client: &http.Client{Timeout: 30 * time.Second}}
	n.cfg = filepath.Join(dir, "config.hcl")
	cfg := fmt.Sprintf("storage \"file\" {\n  path = %q\n}\nlistener \"tcp\" {\n  address = \"127.0.0.1:0\"\n  tls_disable = true\n}\ndisable_mlock = true\n", filepath.Join(dir, "data"))
	if storage == "raft" {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		cfg = fmt.Sprintf("storage \"raft\" {\n  path = %q\n  node_id = \"bench\"\n}\nlistener \"tcp\" {\n  address = \"127.0.0.1:0\"\n  cluster_address = \"127.0.0.1:%d\"\n  tls_disable = true\n}\ncluster_addr = \"https://127.0.0.1:%d\"\ndisable_mlock = true\n", filepath.Join(dir, "raft"), port, port)
		if err := os.MkdirAll(filepath.Join(dir, "raft"), 0o700); err != nil {
			return nil, err
		}
	}
	cfg += nodeExtraConfig
	if err := os.WriteFile(n.cfg, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	if err := n.start(ctx); err != nil {
		return nil, err
	}
	var init struct {
		Keys      []string `json:"keys"`
		RootToken string   `json:"root_token"`
	}
	initStart := time.Now()
	if err := n.call(ctx, "PUT", "sys/init", map[string]any{"secret_shares": 5, "secret_threshold": 3}, &init); err != nil {
		return nil, err
	}
	n.initTook = time.Since(initStart)
	n.keys, n.token = init.Keys, init.RootToken
	if err := n.unseal(ctx); err != nil {
		return nil, err
	}
	// A raft node becomes active a moment after the unseal: retry until
	// it takes writes.
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := n.call(ctx, "POST", "sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}}, nil)
		if err == nil || time.Now().After(deadline) {
			return n, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (n *node) start(ctx context.Context) error {
	rctx, cancel := context.WithCancel(ctx)
	ready := make(chan []string, 1)
	n.cancel, n.done = cancel, make(chan error, 1)
	go func() {
		n.done <- server.Run(rctx, server.Options{ConfigPaths: []string{n.cfg}, Logger: quietLogger(), Ready: func(a []string) { ready <- a }}, nil)
	}()
	select {
	case a := <-ready:
		n.url = "http://" + a[0]
		return nil
	case err := <-n.done:
		return fmt.Errorf("server: %v", err)
	case <-time.After(time.Minute):
		return fmt.Errorf("server did not start")
	}
}

func (n *node) stop() {
	n.cancel()
	<-n.done
}

func (n *node) unseal(ctx context.Context) error {
	for _, k := range n.keys[:3] {
		if err := n.call(ctx, "PUT", "sys/unseal", map[string]any{"key": k}, nil); err != nil {
			return err
		}
	}
	return nil
}

// restart stops the node and measures start until unsealed.
func (n *node) restart(ctx context.Context) (time.Duration, error) {
	n.stop()
	t0 := time.Now()
	if err := n.start(ctx); err != nil {
		return 0, err
	}
	if err := n.unseal(ctx); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

func (n *node) call(ctx context.Context, method, path string, body any, out any) error {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, n.url+"/v1/"+path, strings.NewReader(string(raw)))
	if err != nil {
		return err
	}
	req.Header.Set("X-Vault-Token", n.token)
	resp, err := n.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct{ Errors []string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("%s %s: %d %v", method, path, resp.StatusCode, e.Errors)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

func (n *node) seed(ctx context.Context) error {
	return n.call(ctx, "POST", "secret/data/bench/0", map[string]any{"data": map[string]any{"password": "value"}}, nil)
}

var writeBody = []byte(`{"data":{"password":"value","user":"bench"}}`)

// writer writes to one key per worker, so versions pile up as real use would.
func (n *node) writer() op {
	return func(ctx context.Context, c *http.Client, w int, i int64) error {
		return do(ctx, c, http.MethodPost, fmt.Sprintf("%s/v1/secret/data/w/%d", n.url, w), n.token, writeBody)
	}
}

func (n *node) enableAudit(ctx context.Context, path string) error {
	return n.call(ctx, "PUT", "sys/audit/bench", map[string]any{"type": "file", "options": map[string]any{"file_path": path}}, nil)
}

func (n *node) disableAudit(ctx context.Context) error {
	return n.call(ctx, "DELETE", "sys/audit/bench", nil, nil)
}

// fill writes count distinct secrets with 32 workers.
func (n *node) fill(ctx context.Context, count int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(count) {
					return
				}
				if err := do(ctx, client, http.MethodPost, fmt.Sprintf("%s/v1/secret/data/fill/%d", n.url, i), n.token, writeBody); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
