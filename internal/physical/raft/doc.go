// Package raft is the integrated Raft storage backend (`storage "raft"`): a
// physical.Transactional replicated with hashicorp/raft, which the server
// builds from its storage stanza and the core uses both as storage (through
// the barrier) and as its HA mechanism (active node = raft leader).
//
// Layout under Config.Path:
//
//	node-id            the generated node ID, when none is configured
//	vault.db           the FSM: a bbolt file holding every entry, plus the
//	                   index and term of the last log entry it reflects
//	raft/wal/          the raft log and stable store (raft-wal segment files,
//	                   so the log never becomes one ever-growing file)
//	raft/snapshots/    raft snapshots (the bbolt file, streamed)
//
// Writes (Put, Delete, Transaction) are accepted only on the leader. They
// are queued to one dispatcher goroutine which, while earlier entries are
// still being committed, folds everything queued meanwhile into a single
// raft log entry (batch.go); a write returns once its entry is applied to
// the leader's FSM, so a read on the leader after an acknowledged write sees
// it. Reads are served from the local bbolt file on any node; ConsistentRead
// makes a following leader read linearizable. A node that wins an election
// reports itself leader (IsLeader, WatchLeadership) only once it has applied
// everything its predecessors committed, so the core never activates on
// stale data (leader.go).
//
// Restarts do not re-apply the log: the FSM stores the index it reflects in
// the same bbolt transaction as the data, raft is told not to restore its
// snapshot on start, and entries at or below that index are skipped when
// raft replays them (fsm.go, open.go).
package raft
