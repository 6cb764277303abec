package raftops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/barrier"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/snapshot"
)

// Automated snapshots (sys/storage/raft/snapshot-auto/...): named
// configurations, each with an interval, a destination and a retention.
// The scheduler runs on the active node only: snapshotPaths starts it each
// time the node becomes active (the sys backend is built then), and it
// stops once that activation ends. When was the last snapshot, and how it
// went, is kept in storage, so a new active node resumes every schedule
// where the old one left it.

const (
	autoConfigPrefix = "core/snapshot-auto/config/"
	autoStatusPrefix = "core/snapshot-auto/status/"
	// autoPoll bounds how long the scheduler takes to notice that its
	// activation ended.
	autoPoll = 500 * time.Millisecond
	// defaultFilePrefix is Vault's default file_prefix.
	defaultFilePrefix = "vault-snapshot"
)

// snapshotPaths serve sys/storage/raft/snapshot-auto/... Building them
// marks a new activation (the sys backend is built in postUnseal), so it
// also starts that activation's scheduler.
func (o *Ops) snapshotPaths() []*logical.Path {
	if o.snapshotStorage() == nil {
		return nil
	}
	o.startAutoSnapshots(o.host.StateLocked().Activation)
	name := map[string]*logical.FieldSchema{"name": str("configuration name")}
	return []*logical.Path{
		{
			Pattern: "storage/raft/snapshot-auto/config/?",
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ListOperation: func(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
					keys, err := o.barrier.List(ctx, autoConfigPrefix)
					if err != nil {
						return nil, err
					}
					return &logical.Response{Data: map[string]any{"keys": keys}}, nil
				},
			},
		},
		{
			Pattern: "storage/raft/snapshot-auto/config/(?P<name>[^/]+)",
			Fields:  autoConfigFields,
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation:   o.autoConfigRead,
				logical.UpdateOperation: o.autoConfigWrite,
				logical.DeleteOperation: o.autoConfigDelete,
			},
		},
		{
			Pattern: "storage/raft/snapshot-auto/status/(?P<name>[^/]+)",
			Fields:  name,
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation: o.autoStatusRead,
			},
		},
	}
}

func (o *Ops) autoConfigRead(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	cfg, err := getJSON[autoConfig](ctx, o.barrier, autoConfigPrefix+d.Get("name").(string))
	if err != nil || cfg == nil {
		return nil, err
	}
	return &logical.Response{Data: cfg.data()}, nil
}

func (o *Ops) autoConfigWrite(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	if !autoNameRE.MatchString(name) {
		return nil, logical.BadRequest("invalid configuration name %q", name)
	}
	cfg, err := getJSON[autoConfig](ctx, o.barrier, autoConfigPrefix+name)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		cfg = &autoConfig{Name: name, Retain: 1, FilePrefix: defaultFilePrefix}
	}
	cfg.apply(d)
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if _, err := cfg.target(ctx, o.snapshotSpoolDir()); err != nil {
		return nil, logical.BadRequest("%s", err)
	}
	if err := putJSON(ctx, o.barrier, autoConfigPrefix+name, cfg); err != nil {
		return nil, err
	}
	o.snaps.auto.wake()
	return nil, nil
}

func (o *Ops) autoConfigDelete(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	if err := o.barrier.Delete(ctx, autoConfigPrefix+name); err != nil {
		return nil, err
	}
	// A snapshot of this configuration in flight is stopped (and its
	// pruning finished) before the answer, so nothing of it is written
	// afterwards.
	o.snaps.auto.cancelRun(name)
	if err := o.barrier.Delete(ctx, autoStatusPrefix+name); err != nil {
		return nil, err
	}
	o.snaps.auto.wake()
	return nil, nil
}

func (o *Ops) autoStatusRead(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	cfg, err := getJSON[autoConfig](ctx, o.barrier, autoConfigPrefix+name)
	if err != nil || cfg == nil {
		return nil, err
	}
	st, err := getJSON[autoStatus](ctx, o.barrier, autoStatusPrefix+name)
	if err != nil {
		return nil, err
	}
	if st == nil {
		st = &autoStatus{}
	}
	return &logical.Response{Data: st.data()}, nil
}

// autoSnapshots is the scheduler of the current activation.
type autoSnapshots struct {
	mu     sync.Mutex
	gen    uint64             // bumped by each start
	cancel context.CancelFunc // ends the scheduler and its runs
	wakeCh chan struct{}      // configurations changed
	runs   map[string]*autoRun
}

// autoRun is one snapshot being taken.
type autoRun struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (a *autoSnapshots) wake() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.wakeCh != nil {
		select {
		case a.wakeCh <- struct{}{}:
		default:
		}
	}
}

// cancelRun stops the named configuration's snapshot in flight, if any,
// and waits for it. Runs never take the state lock, so this is safe under
// it.
func (a *autoSnapshots) cancelRun(name string) {
	a.mu.Lock()
	r := a.runs[name]
	a.mu.Unlock()
	if r != nil {
		r.cancel()
		<-r.done
	}
}

// startAutoSnapshots starts the scheduler of activation act, replacing any
// earlier one. Called under stateLock (in postUnseal), so it does not wait
// for the old scheduler, which takes that lock.
func (o *Ops) startAutoSnapshots(act any) {
	ctx, cancel := context.WithCancel(context.Background())
	a := &o.snaps.auto
	a.mu.Lock()
	if a.cancel != nil {
		a.cancel()
	}
	a.gen++
	a.cancel, a.wakeCh, a.runs = cancel, make(chan struct{}, 1), map[string]*autoRun{}
	gen, wake := a.gen, a.wakeCh
	a.mu.Unlock()
	go o.runAutoSnapshots(ctx, gen, act, wake)
}

// stopAutoSnapshots cancels the scheduler of generation gen (0: whichever
// runs) and its snapshots in flight, without waiting.
func (o *Ops) stopAutoSnapshots(gen uint64) {
	a := &o.snaps.auto
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel != nil && (gen == 0 || gen == a.gen) {
		a.cancel()
		a.cancel, a.wakeCh = nil, nil
	}
}

// AutoSnapshotsRunning reports whether an automated snapshot scheduler
// runs (on the active node, from activation to seal or step-down).
func (o *Ops) AutoSnapshotsRunning() bool {
	a := &o.snaps.auto
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cancel != nil
}

// stillActive reports whether activation act goes on.
func (o *Ops) stillActive(act any) (active bool) {
	o.host.ReadState(func(st State) { active = !st.Sealed && !st.Standby && st.Activation == act })
	return active
}

// activeSource returns what a snapshot needs while activation act goes on
// (nil when it ended or failed).
func (o *Ops) activeSource(ctx context.Context, act any) (src *snapshotSource) {
	o.host.ReadState(func(st State) {
		if st.Sealed || st.Standby || st.Activation != act {
			return
		}
		var err error
		if src, err = o.snapshotSourceLocked(ctx, st); err != nil {
			o.logger.Warn("automated snapshots: preparing a snapshot", "error", err)
			src = nil
		}
	})
	return src
}

// runAutoSnapshots is the scheduler loop of one activation: it reads the
// configurations and their stored status, starts a snapshot when one is
// due (last start + interval; at once for a configuration never run), and
// returns once the activation ends. Only the loop takes the state lock;
// the snapshots it starts run without it.
func (o *Ops) runAutoSnapshots(ctx context.Context, gen uint64, act any, wake <-chan struct{}) {
	defer o.stopAutoSnapshots(gen)
	var configs []*autoConfig
	statuses := map[string]*autoStatus{}
	loaded := false
	for {
		if !o.stillActive(act) || ctx.Err() != nil {
			return
		}
		if !loaded {
			configs, loaded = o.loadAutoConfigs(ctx), true
			clear(statuses)
			for _, cfg := range configs {
				st, err := getJSON[autoStatus](ctx, o.barrier, autoStatusPrefix+cfg.Name)
				if err != nil || st == nil {
					st = &autoStatus{}
				}
				statuses[cfg.Name] = st
			}
		}
		now := time.Now()
		next := now.Add(autoPoll)
		var src *snapshotSource
		for _, cfg := range configs {
			st := statuses[cfg.Name]
			every := time.Duration(cfg.Interval) * time.Second
			due := st.LastStart.Add(every)
			if st.LastStart.IsZero() || !due.After(now) {
				if src == nil {
					src = o.activeSource(ctx, act)
				}
				if src != nil && o.startAutoRun(ctx, src, cfg, st) {
					due = st.LastStart.Add(every)
				}
			}
			if due.After(now) && due.Before(next) {
				next = due
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
			loaded = false
		case <-time.After(time.Until(next)):
		}
	}
}

func (o *Ops) loadAutoConfigs(ctx context.Context) []*autoConfig {
	names, err := o.barrier.List(ctx, autoConfigPrefix)
	if err != nil {
		o.logger.Warn("automated snapshots: listing configurations", "error", err)
		return nil
	}
	sort.Strings(names)
	var out []*autoConfig
	for _, n := range names {
		cfg, err := getJSON[autoConfig](ctx, o.barrier, autoConfigPrefix+n)
		if err != nil {
			o.logger.Warn("automated snapshots: reading a configuration", "config", n, "error", err)
			continue
		}
		if cfg != nil {
			out = append(out, cfg)
		}
	}
	return out
}

// startAutoRun takes one snapshot of cfg in the background unless one is
// still running, and reports whether it started. st is the scheduler's
// status of cfg; its LastStart is set at once, so the next snapshot is
// scheduled from it.
func (o *Ops) startAutoRun(ctx context.Context, src *snapshotSource, cfg *autoConfig, st *autoStatus) bool {
	a := &o.snaps.auto
	a.mu.Lock()
	if _, busy := a.runs[cfg.Name]; busy || a.runs == nil || ctx.Err() != nil {
		a.mu.Unlock()
		return false
	}
	rctx, cancel := context.WithCancel(ctx)
	run := &autoRun{cancel: cancel, done: make(chan struct{})}
	a.runs[cfg.Name] = run
	a.mu.Unlock()
	st.LastStart = time.Now().UTC()
	stCopy := *st
	go func() {
		defer func() {
			cancel()
			a.mu.Lock()
			if a.runs[cfg.Name] == run {
				delete(a.runs, cfg.Name)
			}
			a.mu.Unlock()
			close(run.done)
		}()
		o.autoSnapshot(rctx, src, cfg, &stCopy)
	}()
	return true
}

// autoSnapshot takes, stores and prunes one snapshot of cfg, and records
// how it went. It never takes the state lock (a configuration delete waits
// for it while holding that lock for reading).
func (o *Ops) autoSnapshot(ctx context.Context, src *snapshotSource, cfg *autoConfig, st *autoStatus) {
	// Registered as running first, then checked: a delete either finds
	// this run and waits for it, or removed the configuration before.
	if cur, err := getJSON[autoConfig](ctx, o.barrier, autoConfigPrefix+cfg.Name); err != nil || cur == nil {
		return
	}
	// Runs of one configuration never overlap: the stored status is the
	// latest, and this run carries its counters on.
	if prev, err := getJSON[autoStatus](ctx, o.barrier, autoStatusPrefix+cfg.Name); err == nil && prev != nil {
		start := st.LastStart
		*st = *prev
		st.LastStart = start
	}
	// The start is recorded first, so a new active node schedules the
	// next snapshot from it even if this node dies midway.
	if err := putJSON(ctx, o.barrier, autoStatusPrefix+cfg.Name, st); err != nil {
		o.logger.Warn("automated snapshot: recording its start", "config", cfg.Name, "error", err)
	}
	err := func() error {
		tgt, err := cfg.target(ctx, o.snapshotSpoolDir())
		if err != nil {
			return err
		}
		obj, err := tgt.Write(ctx, snapshot.ObjectName(cfg.FilePrefix, st.LastStart), func(w io.Writer) error {
			_, err := src.write(ctx, w)
			return err
		})
		st.LastURL, st.LastSize = obj.URL, obj.Size
		if err != nil {
			return err
		}
		st.SuccessStart, st.SuccessURL, st.SuccessSize = st.LastStart, obj.URL, obj.Size
		// The new snapshot is in place: pruning runs to its end even if
		// the scheduler stops meanwhile, so at most retain remain.
		if _, err := snapshot.Prune(context.WithoutCancel(ctx), tgt, cfg.FilePrefix, cfg.Retain); err != nil {
			return fmt.Errorf("snapshot written, but pruning older ones failed: %w", err)
		}
		return nil
	}()
	if err != nil && ctx.Err() != nil {
		// Stopped (step-down, seal, configuration deleted): nothing more
		// is recorded; the next active node carries on.
		return
	}
	st.LastEnd = time.Now().UTC()
	st.LastError = ""
	if err != nil {
		st.LastError = err.Error()
		st.ConsecutiveErrors++
		o.logger.Warn("automated snapshot failed", "config", cfg.Name, "error", err)
	} else {
		st.ConsecutiveErrors = 0
		o.logger.Info("automated snapshot taken", "config", cfg.Name, "url", st.LastURL, "bytes", st.LastSize)
	}
	if perr := putJSON(context.WithoutCancel(ctx), o.barrier, autoStatusPrefix+cfg.Name, st); perr != nil && !errors.Is(perr, barrier.ErrSealed) {
		o.logger.Warn("automated snapshot: recording status", "config", cfg.Name, "error", perr)
	}
}
