package raft

import (
	"context"
	"fmt"

	"github.com/strongbox/strongbox/internal/physical"
)

var (
	_ physical.Transactional = (*Backend)(nil)
	_ physical.Closer        = (*Backend)(nil)
)

// checkOpen fails once ctx is done or the backend is closed.
func (b *Backend) checkOpen(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-b.closed:
		return ErrClosed
	default:
		return nil
	}
}

// Get implements physical.Backend. It reads this node's FSM: on the leader
// it sees every acknowledged write; on a follower it may lag (see
// ConsistentRead and AppliedIndex).
func (b *Backend) Get(ctx context.Context, key string) (*physical.Entry, error) {
	if err := b.checkOpen(ctx); err != nil {
		return nil, fmt.Errorf("raft storage: get: %w", err)
	}
	v, ok, err := b.fsm.get(key)
	if err != nil {
		return nil, fmt.Errorf("raft storage: get %q: %w", key, err)
	}
	if !ok {
		return nil, nil
	}
	return &physical.Entry{Key: key, Value: v}, nil
}

// List implements physical.Backend, on this node's FSM like Get.
func (b *Backend) List(ctx context.Context, prefix string) ([]string, error) {
	if err := b.checkOpen(ctx); err != nil {
		return nil, fmt.Errorf("raft storage: list: %w", err)
	}
	keys, err := b.fsm.list(prefix)
	if err != nil {
		return nil, fmt.Errorf("raft storage: list %q: %w", prefix, err)
	}
	return keys, nil
}

// Put implements physical.Backend. It returns nil once the write is
// committed by a quorum and applied on this (the leader's) FSM. On a
// follower it fails with ErrNotLeader; when raft cannot commit within
// ApplyTimeout, with ErrCommitTimeout.
func (b *Backend) Put(ctx context.Context, entry *physical.Entry) error {
	if err := b.checkOpen(ctx); err != nil {
		return fmt.Errorf("raft storage: put: %w", err)
	}
	if entry == nil {
		return fmt.Errorf("raft storage: put: nil entry")
	}
	if err := checkKey(entry.Key); err != nil {
		return err
	}
	if err := b.write(ctx, appendPut(nil, entry.Key, entry.Value)); err != nil {
		return fmt.Errorf("raft storage: put %q: %w", entry.Key, err)
	}
	return nil
}

// Delete implements physical.Backend, with Put's guarantees and errors.
func (b *Backend) Delete(ctx context.Context, key string) error {
	if err := b.checkOpen(ctx); err != nil {
		return fmt.Errorf("raft storage: delete: %w", err)
	}
	if key == "" {
		return nil
	}
	if err := checkKey(key); err != nil {
		return err
	}
	if err := b.write(ctx, appendDelete(nil, key)); err != nil {
		return fmt.Errorf("raft storage: delete %q: %w", key, err)
	}
	return nil
}

// Transaction implements physical.Transactional: the ops travel in one raft
// entry and are applied in one bbolt transaction on every node, so no
// reader anywhere sees part of them. Put's guarantees and errors apply.
func (b *Backend) Transaction(ctx context.Context, ops []*physical.TxnOp) error {
	if err := b.checkOpen(ctx); err != nil {
		return fmt.Errorf("raft storage: transaction: %w", err)
	}
	if len(ops) == 0 {
		return nil
	}
	body, err := encodeTxn(ops)
	if err != nil {
		return err
	}
	if err := b.write(ctx, body); err != nil {
		return fmt.Errorf("raft storage: transaction: %w", err)
	}
	return nil
}

// write commits one write's encoded ops through the dispatcher.
func (b *Backend) write(ctx context.Context, body []byte) error {
	if len(body)+1 > b.conf.MaxEntrySize {
		return fmt.Errorf("%w: %d bytes, limit %d (max_entry_size)", ErrEntryTooLarge, len(body)+1, b.conf.MaxEntrySize)
	}
	if !b.IsLeader() {
		return ErrNotLeader
	}
	return b.writes.submit(ctx, body)
}
