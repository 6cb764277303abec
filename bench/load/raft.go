package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// runRaft measures KV-v2 writes on file storage and on one-node raft
// storage on the same disk, in alternating rounds so that both see the same
// machine load, with operator init's time on each fresh server and the
// fsync-per-write ceiling of the disk.
func runRaft(dur time.Duration, dir string, rounds int) error {
	ctx := context.Background()
	if dir == "" {
		tmp, err := os.MkdirTemp("", "strongbox-load-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	r := &report{}
	fs, err := fsyncLoop(dir, dur)
	if err != nil {
		return err
	}
	r.add("ceiling: fsync-per-write loop c=1", fs)
	nodes := map[string]*node{}
	for _, storage := range []string{"file", "raft"} {
		d := filepath.Join(dir, storage)
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		n, err := startNodeOn(ctx, d, storage)
		if err != nil {
			return fmt.Errorf("%s: %w", storage, err)
		}
		defer n.stop()
		nodes[storage] = n
		r.note(fmt.Sprintf("operator init on a fresh %s server: %s", storage, n.initTook.Round(time.Millisecond)))
	}
	for round := 1; round <= rounds; round++ {
		for _, c := range []int{1, 32} {
			for _, storage := range []string{"file", "raft"} {
				r.add(fmt.Sprintf("round %d kv-v2 write (%s) c=%d", round, storage, c), load(ctx, c, dur, nodes[storage].writer()))
			}
		}
	}
	r.printRows(os.Stdout)
	fmt.Println()
	for round := 1; round <= rounds; round++ {
		fmt.Printf("round %d kv-v2 write c=32 raft / file: %s (target >= 0.50); raft c=32 / OpenBao's 990/s: %.2f (target >= 3)\n", round,
			r.ratio(fmt.Sprintf("round %d kv-v2 write (raft) c=32", round), fmt.Sprintf("round %d kv-v2 write (file) c=32", round)),
			r.vals[fmt.Sprintf("round %d kv-v2 write (raft) c=32", round)].rate()/990)
	}
	for _, n := range r.notes {
		fmt.Println(n)
	}
	return nil
}
