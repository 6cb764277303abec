package raft

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
)

// openLogStore opens (creating if needed) the raft log and stable store in
// dir: raft-wal segments of segmentSize bytes (0: raft-wal's 64 MiB) beside
// its bolt metadata file. Every open of the log (the backend's and the
// tests') goes through here, so a WAL written by an older release is read
// exactly as the server reads it.
//
// raft-wal must be v0.4.1 or newer (go.mod says why not v0.4.2): v0.4.0
// marked the tail segment sealed on a tail truncation (raft clearing a
// conflicting log suffix) without writing its index block, and the node
// could not read its log after a restart ("sealed segment has no index
// block", raft-wal issue #31). A log already damaged that way is repaired
// first (repairUnindexedSegments).
func openLogStore(dir string, segmentSize int, logger *slog.Logger) (*wal.WAL, *metadb.BoltMetaDB, error) {
	if segmentSize <= 0 {
		segmentSize = wal.DefaultSegmentSize
	}
	// We keep the metadata store to close it ourselves: raft-wal v0.4.0's
	// Close left it open (and so its file lock held); closing it twice is
	// harmless in later versions.
	meta := &metadb.BoltMetaDB{}
	if err := repairUnindexedSegments(dir, meta, logger); err != nil {
		_ = meta.Close()
		return nil, nil, err
	}
	w, err := wal.Open(dir, wal.WithMetaStore(meta), wal.WithSegmentSize(segmentSize),
		wal.WithLogger(newHCLogger(logger, "raft-wal")))
	if err != nil {
		_ = meta.Close()
		return nil, nil, fmt.Errorf("raft storage: open log %s: %w", dir, err)
	}
	return w, meta, nil
}

// repairUnindexedSegments writes the missing index block of every segment
// that raft-wal v0.4.0 marked sealed on a tail truncation without writing
// it, so that a node whose log was damaged by that bug (it can no longer
// start: "sealed segment has no index block") starts again after the
// upgrade. The segment's entries are all in its file: its frames are read
// back as raft-wal recovers a tail after a crash, the index block and a
// commit frame are appended (raft-wal's own ForceSeal, what v0.4.1 does at
// the truncation), and the metadata records where the index starts. The
// truncated entries past the segment's MaxIndex stay unreachable. meta is
// left open for wal.Open.
func repairUnindexedSegments(dir string, meta *metadb.BoltMetaDB, logger *slog.Logger) error {
	if _, err := os.Stat(filepath.Join(dir, metadb.FileName)); errors.Is(err, os.ErrNotExist) {
		return nil // a new log
	}
	state, err := meta.Load(dir)
	if err != nil {
		return fmt.Errorf("raft storage: open log metadata in %s: %w", dir, err)
	}
	filer := segment.NewFiler(dir, fs.New())
	repaired := 0
	for i, seg := range state.Segments {
		if seg.SealTime.IsZero() || seg.IndexStart != 0 {
			continue
		}
		w, err := filer.RecoverTail(seg)
		if err != nil {
			return fmt.Errorf("raft storage: repair log segment %s: read: %w", segment.FileName(seg), err)
		}
		if last := w.LastIndex(); last < seg.MaxIndex {
			_ = w.Close()
			return fmt.Errorf("raft storage: log segment %s holds entries up to %d but should hold up to %d: "+
				"the log is damaged beyond repair; move %s away and let the node rejoin its cluster (or restore a snapshot)",
				segment.FileName(seg), last, seg.MaxIndex, dir)
		}
		indexStart, err := w.ForceSeal()
		closeErr := w.Close()
		if err != nil {
			return fmt.Errorf("raft storage: repair log segment %s: write index: %w", segment.FileName(seg), err)
		}
		if closeErr != nil {
			return fmt.Errorf("raft storage: repair log segment %s: %w", segment.FileName(seg), closeErr)
		}
		state.Segments[i].IndexStart = indexStart
		repaired++
		logger.Warn("raft storage: wrote the missing index block of a log segment sealed by raft-wal v0.4.0's tail truncation",
			"segment", segment.FileName(seg), "min_index", seg.MinIndex, "max_index", seg.MaxIndex)
	}
	if repaired == 0 {
		return nil
	}
	if err := meta.CommitState(state); err != nil {
		return fmt.Errorf("raft storage: repair log metadata in %s: %w", dir, err)
	}
	return nil
}
