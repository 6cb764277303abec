package core

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// writeCounter records the writes that reach the physical storage.
type writeCounter struct {
	*inmem.Backend
	mu   sync.Mutex
	puts []string
	txns [][]string
}

func (w *writeCounter) Put(ctx context.Context, e *physical.Entry) error {
	w.mu.Lock()
	w.puts = append(w.puts, e.Key)
	w.mu.Unlock()
	return w.Backend.Put(ctx, e)
}

func (w *writeCounter) Transaction(ctx context.Context, ops []*physical.TxnOp) error {
	keys := make([]string, 0, len(ops))
	for _, op := range ops {
		keys = append(keys, op.Entry.Key)
	}
	w.mu.Lock()
	w.txns = append(w.txns, keys)
	w.mu.Unlock()
	return w.Backend.Transaction(ctx, ops)
}

func (w *writeCounter) reset() {
	w.mu.Lock()
	w.puts, w.txns = nil, nil
	w.mu.Unlock()
}

// TestTokenAndLeaseOneWrite: creating a token with a TTL stores the token,
// its indexes and its lease in one transaction (one raft round per login),
// and the lease is there to look up.
func TestTokenAndLeaseOneWrite(t *testing.T) {
	ctx := context.Background()
	phys := &writeCounter{Backend: inmem.New()}
	c, err := New(Config{
		Physical: phys, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SecretEngines: builtin.SecretEngines(), AuthMethods: builtin.AuthMethods(),
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Init(ctx, InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Unseal(ctx, res.Keys[0]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Seal(ctx) })

	phys.reset()
	out, err := c.HandleRequest(ctx, &logical.Request{
		Operation: logical.UpdateOperation, Path: "auth/token/create", ClientToken: res.RootToken,
		Data: map[string]any{"ttl": "1h", "policies": []any{"default"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	phys.mu.Lock()
	puts, txns := phys.puts, phys.txns
	phys.mu.Unlock()
	if len(puts) != 0 || len(txns) != 1 {
		t.Fatalf("token create wrote puts %v and transactions %v: want one transaction", puts, txns)
	}
	var token, lease int
	for _, k := range txns[0] {
		switch {
		case strings.HasPrefix(k, "sys/token/id/"):
			token++
		case strings.HasPrefix(k, "sys/expire/id/auth/token/create/"):
			lease++
		}
	}
	if token != 1 || lease != 1 {
		t.Fatalf("transaction keys %v: want the token entry and its lease", txns[0])
	}

	// The lease is real: lookup finds it under the token's creation path.
	list, err := c.HandleRequest(ctx, &logical.Request{
		Operation: logical.ListOperation, Path: "sys/leases/lookup/auth/token/create/", ClientToken: res.RootToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := list.Response.Data["keys"].([]string)
	if len(keys) != 1 {
		t.Fatalf("leases under auth/token/create/: %v (auth %v)", list.Response.Data, out.Response.Auth != nil)
	}
}
