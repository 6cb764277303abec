package raft

import (
	"errors"
	"fmt"

	"github.com/hashicorp/raft"

	"github.com/strongbox/strongbox/internal/physical"
)

// Sentinel errors; compare with errors.Is.
var (
	// ErrNotLeader: writes, ConsistentRead, Restore and cluster changes
	// run only on the leader. Nothing was changed; retry on the leader.
	ErrNotLeader = errors.New("not the raft leader")
	// ErrCommitTimeout: raft did not commit and apply the write within
	// ApplyTimeout (typically: quorum lost). The write may still be applied
	// later, or never.
	ErrCommitTimeout = errors.New("timed out waiting for raft to commit")
	// ErrLeadershipLost: this node stopped being leader while the write was
	// in flight. The new leader may or may not have it. Writes are never
	// re-sent by the backend: a put or delete applied again after other
	// clients' later writes would undo them. Membership changes, which
	// state an end result, are retried (changeMembership).
	ErrLeadershipLost = errors.New("raft leadership lost before commit")
	// ErrClosed: the backend is closed (or closing).
	ErrClosed = errors.New("raft storage is closed")
	// ErrAlreadyInitialized: Bootstrap on a node that already has raft state.
	ErrAlreadyInitialized = errors.New("raft storage already has raft state")
	// ErrLocked: another server (or Backend) uses the same path.
	ErrLocked = errors.New("raft data directory is locked by another process")
	// ErrStorageFailed: writing vault.db failed; the node stopped applying
	// the log and serves no reads until restarted.
	ErrStorageFailed = errors.New("raft FSM storage failed")
	// ErrInvalidSnapshot: a snapshot stream is damaged or not ours (the
	// storage-neutral physical.ErrInvalidSnapshot, which callers test).
	ErrInvalidSnapshot = physical.ErrInvalidSnapshot
	// ErrEntryTooLarge: one write encodes larger than MaxEntrySize.
	ErrEntryTooLarge = errors.New("write exceeds the raft entry size limit")
)

// mapRaftErr turns hashicorp/raft's errors into ours, keeping raft's text.
func mapRaftErr(err error) error {
	var ours error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		ours = ErrNotLeader
	case errors.Is(err, raft.ErrLeadershipLost):
		ours = ErrLeadershipLost
	case errors.Is(err, raft.ErrRaftShutdown):
		ours = ErrClosed
	case errors.Is(err, raft.ErrEnqueueTimeout):
		ours = ErrCommitTimeout
	default:
		return err
	}
	if ours == ErrNotLeader && errors.Is(err, raft.ErrNotLeader) {
		return ErrNotLeader
	}
	return fmt.Errorf("%w: %w", ours, err)
}
