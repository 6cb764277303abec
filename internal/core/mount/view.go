package mount

import (
	"context"
	"errors"
	"strings"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
)

// View is a logical.Storage confined to a prefix of the barrier: a mount's
// data (logical/<uuid>/, auth/<uuid>/) or a system store (sys/policy/).
type View struct {
	b      physical.Backend
	prefix string
}

// NewView returns the view of b (the barrier) below prefix.
func NewView(b physical.Backend, prefix string) *View { return &View{b: b, prefix: prefix} }

// Sub returns the view below prefix inside v (a token's cubbyhole).
func (v *View) Sub(prefix string) *View { return &View{b: v.b, prefix: v.prefix + prefix} }

// Get implements logical.Storage.

func (v *View) Get(ctx context.Context, key string) (*logical.StorageEntry, error) {
	e, err := v.b.Get(ctx, v.prefix+key)
	if err != nil || e == nil {
		return nil, err
	}
	return &logical.StorageEntry{Key: key, Value: e.Value}, nil
}

// Put implements logical.Storage; keys holding ".." are refused.
func (v *View) Put(ctx context.Context, e *logical.StorageEntry) error {
	if e.Key == "" || strings.Contains(e.Key, "..") {
		return logical.BadRequest("invalid storage key %q", e.Key)
	}
	return v.b.Put(ctx, &physical.Entry{Key: v.prefix + e.Key, Value: e.Value})
}

// Delete implements logical.Storage.
func (v *View) Delete(ctx context.Context, key string) error {
	return v.b.Delete(ctx, v.prefix+key)
}

// List implements logical.Storage.
func (v *View) List(ctx context.Context, prefix string) ([]string, error) {
	return v.b.List(ctx, v.prefix+prefix)
}

// txnBackend is the barrier's atomic batch write.
type txnBackend interface {
	Transaction(ctx context.Context, ops []*physical.TxnOp) error
}

// Transaction implements logical.Transactional when the barrier below
// offers transactions.
func (v *View) Transaction(ctx context.Context, ops []*logical.TxnOp) error {
	tb, ok := v.b.(txnBackend)
	if !ok {
		return errors.New("storage does not support transactions")
	}
	out, err := v.PhysicalOps(ops)
	if err != nil {
		return err
	}
	return tb.Transaction(ctx, out)
}

// PhysicalOps turns writes relative to the view into writes on the
// storage below it, so that writes of several views can be applied in one
// transaction there (a token and its lease).
func (v *View) PhysicalOps(ops []*logical.TxnOp) ([]*physical.TxnOp, error) {
	out := make([]*physical.TxnOp, 0, len(ops))
	for _, op := range ops {
		if op == nil || op.Entry == nil || op.Entry.Key == "" || strings.Contains(op.Entry.Key, "..") {
			return nil, logical.BadRequest("invalid transaction operation")
		}
		e := &physical.Entry{Key: v.prefix + op.Entry.Key, Value: op.Entry.Value}
		if op.Delete {
			out = append(out, &physical.TxnOp{Op: physical.DeleteOp, Entry: e})
		} else {
			out = append(out, &physical.TxnOp{Op: physical.PutOp, Entry: e})
		}
	}
	return out, nil
}

// Clear deletes every key below the view, depth first.
func (v *View) Clear(ctx context.Context) error {
	return clearPrefix(ctx, v, "")
}

func clearPrefix(ctx context.Context, s logical.Storage, prefix string) error {
	keys, err := s.List(ctx, prefix)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if strings.HasSuffix(k, "/") {
			if err := clearPrefix(ctx, s, prefix+k); err != nil {
				return err
			}
			continue
		}
		if err := s.Delete(ctx, prefix+k); err != nil {
			return err
		}
	}
	return nil
}
