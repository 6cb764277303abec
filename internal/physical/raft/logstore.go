package raft

import (
	"fmt"
	"log/slog"

	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

// openLogStore opens (creating if needed) the raft log and stable store in
// dir: raft-wal segments of segmentSize bytes (0: raft-wal's 64 MiB) beside
// its bolt metadata file. Every open of the log (the backend's and the
// tests') goes through here, so a WAL written by an older release is read
// exactly as the server reads it.
//
// raft-wal must be v0.4.1 or newer (go.mod says why not v0.4.2): v0.4.0 marked the tail segment sealed on
// a tail truncation (raft clearing a conflicting log suffix) without writing
// its index block, and the node could not read its log after a restart
// ("sealed segment has no index block", raft-wal issue #31).
func openLogStore(dir string, segmentSize int, logger *slog.Logger) (*wal.WAL, *metadb.BoltMetaDB, error) {
	if segmentSize <= 0 {
		segmentSize = wal.DefaultSegmentSize
	}
	// We keep the metadata store to close it ourselves: raft-wal v0.4.0's
	// Close left it open (and so its file lock held); closing it twice is
	// harmless in later versions.
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(dir, wal.WithMetaStore(meta), wal.WithSegmentSize(segmentSize),
		wal.WithLogger(newHCLogger(logger, "raft-wal")))
	if err != nil {
		_ = meta.Close()
		return nil, nil, fmt.Errorf("raft storage: open log %s: %w", dir, err)
	}
	return w, meta, nil
}
