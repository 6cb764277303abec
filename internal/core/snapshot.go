package core

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

// snapshotState is the core's snapshot machinery: where restores are
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
// data volume; os.TempDir when empty) and subscribes the core to the
// snapshots its raft storage installs, so a standby reloads its keyring
// when the active restores a snapshot. The server calls it once, before
// unsealing.
func (c *Core) ConfigureSnapshots(spoolDir string) {
	if spoolDir != "" {
		if err := os.MkdirAll(spoolDir, 0o700); err != nil {
			c.logger.Warn("snapshot spool directory; using the system's temporary directory", "dir", spoolDir, "error", err)
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
	c.snaps.mu.Lock()
	c.snaps.spoolDir = spoolDir
	c.snaps.mu.Unlock()
	if n, ok := c.physical.(snapshotInstallNotifier); ok {
		n.OnSnapshotInstalled(c.snapshotInstalled)
	}
}

func (c *Core) snapshotSpoolDir() string {
	c.snaps.mu.Lock()
	defer c.snaps.mu.Unlock()
	if c.snaps.spoolDir == "" {
		return os.TempDir()
	}
	return c.snaps.spoolDir
}

func (c *Core) snapshotStorage() SnapshotStorage {
	s, _ := c.physical.(SnapshotStorage)
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
// key on the first snapshot. The caller holds stateLock (read or write).
func (c *Core) snapshotSourceLocked(ctx context.Context) (*snapshotSource, error) {
	ss := c.snapshotStorage()
	if ss == nil {
		return nil, errNoSnapshotStorage
	}
	if c.sealed {
		return nil, ErrSealed
	}
	if c.standby {
		return nil, ErrStandby
	}
	key, err := c.snapshotKey(ctx, true)
	if err != nil {
		return nil, err
	}
	return &snapshotSource{storage: ss, key: key, clusterID: c.clusterID}, nil
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
func (c *Core) WriteSnapshot(ctx context.Context, w io.Writer) (snapshot.Meta, error) {
	c.stateLock.RLock()
	src, err := c.snapshotSourceLocked(ctx)
	c.stateLock.RUnlock()
	if err != nil {
		return snapshot.Meta{}, err
	}
	return src.write(ctx, w)
}

// snapshotKey reads the cluster's snapshot key from the barrier, creating
// it when create is set and there is none (nil, nil otherwise).
func (c *Core) snapshotKey(ctx context.Context, create bool) (*snapshot.Key, error) {
	read := func() (*snapshot.Key, error) {
		e, err := c.barrier.Get(ctx, snapshotKeyPath)
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
	c.snaps.keyMu.Lock()
	defer c.snaps.keyMu.Unlock()
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
	if err := c.barrier.Put(ctx, &physical.Entry{Key: snapshotKeyPath, Value: raw}); err != nil {
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
func (c *Core) RestoreSnapshot(ctx context.Context, r io.Reader, force bool) error {
	ss := c.snapshotStorage()
	if ss == nil {
		return errNoSnapshotStorage
	}
	if err := c.activeCheck(); err != nil {
		return err
	}
	c.snaps.restoreMu.Lock()
	defer c.snaps.restoreMu.Unlock()
	f, err := os.CreateTemp(c.snapshotSpoolDir(), "snapshot-restore-*")
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
		c.stateLock.RLock()
		key, err := c.snapshotKey(ctx, false)
		c.stateLock.RUnlock()
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
	c.logger.Info("restoring snapshot", "index", arch.Meta.Index, "term", arch.Meta.Term,
		"bytes", arch.Meta.Size, "cluster_id", arch.Meta.ClusterID, "forced", force)
	return c.installSnapshot(ctx, ss, f)
}

func (c *Core) activeCheck() error {
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	switch {
	case c.sealed:
		return ErrSealed
	case c.standby:
		return ErrStandby
	}
	return nil
}

// installSnapshot hands the verified stream to raft and reloads the core
// from the restored data.
func (c *Core) installSnapshot(ctx context.Context, ss SnapshotStorage, stream io.Reader) error {
	// Once started, the restore runs to its end whatever the client does.
	ctx = context.WithoutCancel(ctx)
	// Automated snapshots in flight hold a read of the old data that raft
	// would wait for; they are cancelled and the scheduler restarts with
	// the reloaded core.
	c.stopAutoSnapshots(0)
	c.stateLock.Lock()
	if err := c.activeCheckLocked(); err != nil {
		c.stateLock.Unlock()
		return err
	}
	c.teardown(ctx)
	if err := ss.Restore(ctx, stream); err != nil {
		// Raft refuses a bad stream before touching any data: the node
		// serves the old data again.
		rerr := c.resumeActive(ctx)
		c.stateLock.Unlock()
		if rerr != nil {
			c.sealAfterRestore(ctx, rerr)
		}
		if errors.Is(err, physical.ErrInvalidSnapshot) {
			return logical.BadRequest("%s", err)
		}
		return fmt.Errorf("restore: %w", err)
	}
	if err := c.reloadBarrier(ctx); err != nil {
		c.stateLock.Unlock()
		c.logger.Warn("the restored snapshot's keyring does not open with this node's root key; sealing: unseal with the snapshot's unseal keys", "error", err)
		c.sealAfterRestore(ctx, nil)
		return nil
	}
	err := c.resumeActive(ctx)
	c.stateLock.Unlock()
	if err != nil {
		c.sealAfterRestore(ctx, err)
		return fmt.Errorf("restore: the snapshot was installed but this node could not load it, and sealed: %w", err)
	}
	c.logger.Info("snapshot restored; active state reloaded")
	return nil
}

func (c *Core) activeCheckLocked() error {
	switch {
	case c.sealed:
		return ErrSealed
	case c.standby:
		return ErrStandby
	}
	return nil
}

// resumeActive runs the active setup again after the data changed under
// it (or a restore failed after teardown). Called under stateLock.
func (c *Core) resumeActive(ctx context.Context) error {
	err := c.loadClusterInfo(ctx)
	if err == nil {
		err = c.loadRaftTLS(ctx)
	}
	if err == nil {
		err = c.postUnseal(ctx)
	}
	if err == nil {
		err = c.haNode.Advertise(ctx, haLocked{c})
	}
	if err != nil {
		c.teardown(ctx)
	}
	return err
}

// sealAfterRestore seals a node whose state no longer matches its data.
func (c *Core) sealAfterRestore(ctx context.Context, cause error) {
	if cause != nil {
		c.logger.Error("reloading after a snapshot restore failed; sealing", "error", cause)
	}
	if err := c.Seal(ctx); err != nil {
		c.logger.Error("sealing after a snapshot restore", "error", err)
	}
}

// reloadBarrier replaces the barrier's keyring with the restored one. It
// opens with the root key in memory when the snapshot came from this
// cluster; under an auto seal the stored root key is unwrapped again, in
// case the snapshot carried another one the key service still opens.
// Called under stateLock; on error the barrier may be sealed and the
// caller must seal the core.
func (c *Core) reloadBarrier(ctx context.Context) error {
	err := c.barrier.ReloadKeyring(ctx)
	if err == nil || c.autoSeal == nil {
		return err
	}
	rootKey, aerr := c.autoSeal.RootKey(ctx)
	if aerr != nil {
		return errors.Join(err, aerr)
	}
	defer wipe(rootKey)
	c.barrier.Seal()
	return c.barrier.Unseal(ctx, rootKey)
}

// snapshotInstalled runs when raft installed a snapshot on this node. On a
// standby (the active restored a snapshot, or a lagging follower caught
// up) the barrier reloads its keyring and the cluster identity from the
// new data; if the keyring no longer opens, the node seals. The active
// node reloads itself in installSnapshot. It runs on raft's FSM goroutine,
// so the work is done in another.
func (c *Core) snapshotInstalled() {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c.stateLock.Lock()
		if c.sealed || !c.standby {
			c.stateLock.Unlock()
			return
		}
		err := c.reloadBarrier(ctx)
		if err == nil {
			err = c.loadClusterInfo(ctx)
		}
		c.stateLock.Unlock()
		if err != nil {
			c.logger.Warn("a snapshot was installed whose keyring this node cannot open; sealing once the leader lets go: unseal with the snapshot's unseal keys", "error", err)
			// Sealing drops the raft TLS keyring, which takes the node out of
			// raft; the leader that installed the snapshot still needs it to
			// commit the restore. It seals too (it cannot open the keyring
			// either), then this node follows.
			leader := c.ha.LeaderID()
			for leader != "" && c.ha.LeaderID() == leader && ctx.Err() == nil {
				select {
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
			}
			if serr := c.Seal(context.WithoutCancel(ctx)); serr != nil {
				c.logger.Error("sealing after a snapshot install", "error", serr)
			}
			return
		}
		c.logger.Info("snapshot installed; keyring reloaded")
	}()
}
