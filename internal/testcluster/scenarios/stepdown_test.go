package scenarios

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/testcluster"
)

// TestStepDownUnderLoad: 32 clients write and read through every node
// while the active node steps down five times: no client sees an error.
func TestStepDownUnderLoad(t *testing.T) {
	c := raftCluster(t, 3)
	errs, ops := stepDownsUnderLoad(t, c, 32, 5)
	for _, e := range errs {
		t.Errorf("client error across a step-down: %v", e)
	}
	t.Logf("%d operations by 32 clients across 5 step-downs, %d errors", ops, len(errs))
	if ops == 0 {
		t.Fatal("no operation ran")
	}
}

// stepDownsUnderLoad runs clients against all nodes and steps the active
// node down `times` times, returning the client errors and op count.
func stepDownsUnderLoad(t testing.TB, c *testcluster.ProcessCluster, clients, times int) ([]error, int64) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ops atomic.Int64
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	nodes := c.Nodes()
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cfg := vault.DefaultConfig()
			cfg.Address = nodes[i%len(nodes)].APIAddr()
			cfg.MaxRetries = 0
			cfg.Timeout = 30 * time.Second
			cl, err := vault.NewClient(cfg)
			if err != nil {
				panic(err)
			}
			cl.SetToken(c.RootToken())
			for j := 0; ctx.Err() == nil; j++ {
				key := fmt.Sprintf("sd/%d", i%8)
				var err error
				if j%2 == 0 {
					_, err = cl.KVv2("secret").Put(context.Background(), key, map[string]any{"j": j})
				} else {
					_, err = cl.KVv2("secret").Get(context.Background(), key)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("client %d op %d via %s: %w", i, j, cfg.Address, err))
					mu.Unlock()
					return
				}
				ops.Add(1)
			}
		}(i)
	}
	time.Sleep(time.Second)
	for k := 0; k < times; k++ {
		active := c.WaitForActive(t, 30*time.Second)
		if err := active.Client(c.RootToken()).Sys().StepDown(); err != nil {
			t.Fatalf("step-down %d: %v", k, err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			lctx, lcancel := context.WithTimeout(context.Background(), 2*time.Second)
			n, err := c.Leader(lctx)
			lcancel()
			if err == nil && n != active {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("step-down %d: leadership never moved", k)
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(time.Second)
	}
	cancel()
	wg.Wait()
	return errs, ops.Load()
}
