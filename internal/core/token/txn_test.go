package token

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

// countingTxnStorage counts single writes and transactions over a
// transactional storage.
type countingTxnStorage struct {
	*logical.InmemStorage
	puts, txns atomic.Int32
}

func (c *countingTxnStorage) Put(ctx context.Context, e *logical.StorageEntry) error {
	c.puts.Add(1)
	return c.InmemStorage.Put(ctx, e)
}

func (c *countingTxnStorage) Transaction(ctx context.Context, ops []*logical.TxnOp) error {
	c.txns.Add(1)
	return c.InmemStorage.Transaction(ctx, ops)
}

// On transactional storage a new token (entry, accessor index, parent
// index) is one write: one raft round instead of three. The token is then
// found by value and by accessor, and revoking its parent revokes it.
func TestCreateIsOneTransaction(t *testing.T) {
	h := newHarness(t)
	cs := &countingTxnStorage{InmemStorage: h.storage}
	s, err := New(h.ctx, cs, Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	parentTok, parent, err := s.Create(h.ctx, CreateRequest{Policies: []string{"p"}, Path: "auth/token/create"})
	if err != nil {
		t.Fatal(err)
	}
	cs.puts.Store(0)
	cs.txns.Store(0)
	childTok, child, err := s.Create(h.ctx, CreateRequest{Parent: parent, Policies: []string{"p"}, Path: "auth/token/create"})
	if err != nil {
		t.Fatal(err)
	}
	if p, x := cs.puts.Load(), cs.txns.Load(); p != 0 || x != 1 {
		t.Fatalf("creating a child token made %d puts and %d transactions, want 0 and 1", p, x)
	}
	if e, err := s.Lookup(h.ctx, childTok); err != nil || e == nil {
		t.Fatalf("lookup child: %v %v", e, err)
	}
	if e, err := s.LookupAccessor(h.ctx, child.Accessor); err != nil || e == nil || e.ID != child.ID {
		t.Fatalf("lookup child by accessor: %v %v", e, err)
	}
	if err := s.RevokeTree(h.ctx, parent); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{parentTok, childTok} {
		if e, err := s.Lookup(h.ctx, tok); err != nil || e != nil {
			t.Fatalf("after revoking the parent: %v %v", e, err)
		}
	}
}
