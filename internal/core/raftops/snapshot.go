package raftops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/snapshot"
)

// SnapshotStorage is storage that streams a consistent snapshot of all its
// data and replaces all of it with one: integrated raft. Values in the
// stream are as stored, so barrier-encrypted.
type SnapshotStorage interface {
	// Snapshot writes a consistent snapshot to w, streamed (never whole in
	// memory).
	Snapshot(ctx context.Context, w io.Writer) error
	// Restore replaces the whole cluster's data with a stream made by
	// Snapshot; a damaged stream changes nothing. Leader only.
	Restore(ctx context.Context, r io.Reader) error
}

// snapshotInstallNotifier is raft storage telling which snapshots this
// node installed (its leader's restore reaching a follower).
type snapshotInstallNotifier interface {
	OnSnapshotInstalled(fn func())
}

// snapshotState is the room's snapshot machinery: where restores are
// spooled, the lock serializing restores, and the automated snapshot
// scheduler (snapshot_auto.go).
type snapshotState struct {
	mu       sync.Mutex
	spoolDir string
	// keyMu serializes creating the snapshot key.
	keyMu sync.Mutex
	// restoreMu lets one restore run at a time.
	restoreMu sync.Mutex
	auto      autoSnapshots
}

// snapshotKeyPath holds the cluster's snapshot key, inside the barrier.
const snapshotKeyPath = "core/snapshot/key"

// ConfigureSnapshots sets where restores are spooled (a directory on the
// data volume; os.TempDir when empty) and subscribes the node to the
// snapshots its raft storage installs, so a standby reloads its keyring
// when the active restores a snapshot. The server calls it once, before
// unsealing.
func (o *Ops) ConfigureSnapshots(spoolDir string) {
	if spoolDir != "" {
		if err := os.MkdirAll(spoolDir, 0o700); err != nil {
			o.logger.Warn("snapshot spool directory; using the system's temporary directory", "dir", spoolDir, "error", err)
			spoolDir = ""
		} else {
			// Spools left by a crash in the middle of a restore or an upload.
			for _, pattern := range []string{"snapshot-restore-*", "s3-snapshot-*"} {
				stale, _ := filepath.Glob(filepath.Join(spoolDir, pattern))
				for _, p := range stale {
					_ = os.Remove(p)
				}
			}
		}
	}
	o.snaps.mu.Lock()
	o.snaps.spoolDir = spoolDir
	o.snaps.mu.Unlock()
	if n, ok := o.physical.(snapshotInstallNotifier); ok {
		n.OnSnapshotInstalled(o.snapshotInstalled)
	}
}

func (o *Ops) snapshotSpoolDir() string {
	o.snaps.mu.Lock()
	defer o.snaps.mu.Unlock()
	if o.snaps.spoolDir == "" {
		return os.TempDir()
	}
	return o.snaps.spoolDir
}

func (o *Ops) snapshotStorage() SnapshotStorage {
	s, _ := o.physical.(SnapshotStorage)
	return s
}

var errNoSnapshotStorage = logical.BadRequest("raft storage is not in use: snapshots need integrated storage")

// snapshotSource is what taking a snapshot needs from the active core,
// captured under the state lock so the stream itself runs without it.
type snapshotSource struct {
	storage   SnapshotStorage
	key       *snapshot.Key
	clusterID string
}

// snapshotSourceLocked captures a snapshotSource, creating the snapshot
// key on the first snapshot. The caller holds stateLock (read or write);
// st is the state under it.
func (o *Ops) snapshotSourceLocked(ctx context.Context, st State) (*snapshotSource, error) {
	ss := o.snapshotStorage()
	if ss == nil {
		return nil, errNoSnapshotStorage
	}
	if st.Sealed {
		return nil, logical.ErrSealed
	}
	if st.Standby {
		return nil, logical.ErrStandby
	}
	key, err := o.snapshotKey(ctx, true)
	if err != nil {
		return nil, err
	}
	return &snapshotSource{storage: ss, key: key, clusterID: st.ClusterID}, nil
}

// write streams the snapshot archive to w.
func (s *snapshotSource) write(ctx context.Context, w io.Writer) (snapshot.Meta, error) {
	return snapshot.Write(ctx, w, snapshot.Meta{ClusterID: s.clusterID}, s.key, func(sw io.Writer) error {
		return s.storage.Snapshot(ctx, sw)
	})
}

// WriteSnapshot streams a consistent snapshot of all data to w, in the
// format of internal/snapshot: values stay barrier-encrypted, and the
// checksums are sealed with this cluster's snapshot key so that a restore
// can tell its own snapshots from another cluster's. Only the active node
// serves it (ErrStandby). Nothing is written to w when it fails before the
// stream starts; a failure after that leaves w with a truncated archive
// that no restore accepts.
func (o *Ops) WriteSnapshot(ctx context.Context, w io.Writer) (snapshot.Meta, error) {
	var src *snapshotSource
	var err error
	o.host.ReadState(func(st State) { src, err = o.snapshotSourceLocked(ctx, st) })
	if err != nil {
		return snapshot.Meta{}, err
	}
	return src.write(ctx, w)
}

// snapshotKey reads the cluster's snapshot key from the barrier, creating
// it when create is set and there is none (nil, nil otherwise).
func (o *Ops) snapshotKey(ctx context.Context, create bool) (*snapshot.Key, error) {
	read := func() (*snapshot.Key, error) {
		e, err := o.barrier.Get(ctx, snapshotKeyPath)
		if err != nil || e == nil {
			return nil, err
		}
		var k snapshot.Key
		if err := json.Unmarshal(e.Value, &k); err != nil {
			return nil, fmt.Errorf("decode snapshot key: %w", err)
		}
		return &k, nil
	}
	k, err := read()
	if err != nil || k != nil || !create {
		return k, err
	}
	o.snaps.keyMu.Lock()
	defer o.snaps.keyMu.Unlock()
	if k, err := read(); err != nil || k != nil {
		return k, err
	}
	if k, err = snapshot.NewKey(); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(k)
	if err != nil {
		return nil, err
	}
	if err := o.barrier.Put(ctx, &physical.Entry{Key: snapshotKeyPath, Value: raw}); err != nil {
		return nil, fmt.Errorf("store snapshot key: %w", err)
	}
	return k, nil
}

// ErrSnapshotKeyMismatch is the 400 a restore answers for another
// cluster's snapshot, in words close to Vault's.
var ErrSnapshotKeyMismatch = logical.BadRequest("could not verify the snapshot's checksums with this cluster's key: " +
	"the snapshot was taken by another cluster (another keyring and unseal keys); " +
	"use sys/storage/raft/snapshot-force to restore it anyway")

// RestoreSnapshot replaces all data, on every node, with the snapshot read
// from r. The body is spooled to a temporary file and verified first
// (gzip, tar, checksums), so a truncated or corrupted snapshot fails with
// a 400 and changes nothing; unless force is set, a snapshot whose sealed
// checksums do not verify with this cluster's snapshot key (another
// cluster's) fails with ErrSnapshotKeyMismatch. Then, holding the state
// lock (requests wait), the active state is torn down, raft installs the
// snapshot through the leader, and the active node loads everything again
// from the restored data: mounts, policies, tokens, the keyring. If the
// restored keyring no longer opens with this node's root key (a forced
// restore of another cluster's snapshot, or one taken before a rekey), the
// node seals: unseal it with the snapshot's keys. Standbys reload through
// snapshotInstalled.
func (o *Ops) RestoreSnapshot(ctx context.Context, r io.Reader, force bool) error {
	ss := o.snapshotStorage()
	if ss == nil {
		return errNoSnapshotStorage
	}
	if err := o.activeCheck(); err != nil {
		return err
	}
	o.snaps.restoreMu.Lock()
	defer o.snaps.restoreMu.Unlock()
	f, err := os.CreateTemp(o.snapshotSpoolDir(), "snapshot-restore-*")
	if err != nil {
		return fmt.Errorf("restore: spool snapshot: %w", err)
	}
	defer func() {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}()
	arch, err := snapshot.Read(r, f)
	if err != nil {
		if errors.Is(err, snapshot.ErrInvalid) {
			return logical.BadRequest("%s", err)
		}
		return fmt.Errorf("restore: %w", err)
	}
	if !force {
		var key *snapshot.Key
		var err error
		o.host.ReadState(func(State) { key, err = o.snapshotKey(ctx, false) })
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		if err := arch.Verify(key); err != nil {
			return ErrSnapshotKeyMismatch
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	o.logger.Info("restoring snapshot", "index", arch.Meta.Index, "term", arch.Meta.Term,
		"bytes", arch.Meta.Size, "cluster_id", arch.Meta.ClusterID, "forced", force)
	return o.installSnapshot(ctx, ss, f)
}

func (o *Ops) activeCheck() (err error) {
	o.host.ReadState(func(st State) {
		switch {
		case st.Sealed:
			err = logical.ErrSealed
		case st.Standby:
			err = logical.ErrStandby
		}
	})
	return err
}

// installSnapshot hands the verified stream to raft; the core reloads
// itself from the restored data (Host.InstallSnapshot).
func (o *Ops) installSnapshot(ctx context.Context, ss SnapshotStorage, stream io.Reader) error {
	// Once started, the restore runs to its end whatever the client does.
	ctx = context.WithoutCancel(ctx)
	// Automated snapshots in flight hold a read of the old data that raft
	// would wait for; they are cancelled and the scheduler restarts with
	// the reloaded core.
	o.stopAutoSnapshots(0)
	var restoreErr error
	err := o.host.InstallSnapshot(ctx, func(ctx context.Context) error {
		restoreErr = ss.Restore(ctx, stream)
		return restoreErr
	})
	if restoreErr != nil {
		// Raft refuses a bad stream before touching any data: the node
		// serves the old data again.
		if errors.Is(restoreErr, physical.ErrInvalidSnapshot) {
			return logical.BadRequest("%s", restoreErr)
		}
		return fmt.Errorf("restore: %w", restoreErr)
	}
	return err
}

// snapshotInstalled runs when raft installed a snapshot on this node. On a
// standby (the active restored a snapshot, or a lagging follower caught
// up) the barrier reloads its keyring and the cluster identity from the
// new data (Host.ReloadStandby); if the keyring no longer opens, the node
// seals. The active node reloads itself in installSnapshot. It runs on
// raft's FSM goroutine, so the work is done in another.
// sealHold bounds how long a standby that cannot open a restored keyring
// waits for the leader to let go before it seals.
const sealHold = 10 * time.Second

func (o *Ops) snapshotInstalled() {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		reloaded, err := o.host.ReloadStandby(ctx)
		if !reloaded && err == nil {
			return
		}
		if err != nil {
			o.logger.Warn("a snapshot was installed whose keyring this node cannot open; sealing once the leader lets go: unseal with the snapshot's unseal keys", "error", err)
			// Sealing drops the raft TLS keyring, which takes the node out of
			// raft; the leader that installed the snapshot still needs it to
			// commit the restore. It seals too (it cannot open the keyring
			// either), then this node follows: once leadership moves, or
			// after sealHold at the latest, since the same node may win the
			// next election and the leader ID then never changes.
			leaderID := func() string {
				if r := o.raftStorage(); r != nil {
					return r.LeaderID()
				}
				return ""
			}
			leader := leaderID()
			hold, stop := context.WithTimeout(ctx, sealHold)
			defer stop()
			for leader != "" && leaderID() == leader && hold.Err() == nil {
				select {
				case <-hold.Done():
				case <-time.After(100 * time.Millisecond):
				}
			}
			if serr := o.host.Seal(context.WithoutCancel(ctx)); serr != nil {
				o.logger.Error("sealing after a snapshot install", "error", serr)
			}
			return
		}
		o.logger.Info("snapshot installed; keyring reloaded")
	}()
}
