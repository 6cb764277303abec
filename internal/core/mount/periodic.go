package mount

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
	"log/slog"
)

// The periodic runner is Vault's rollback manager: on the active node only,
// every PeriodicOptions.Interval, it sends each mount a RollbackOperation,
// which a logical.FrameworkBackend serves with its PeriodicFunc and then its
// Rollback hook. The kernel starts it when the node becomes active and
// stops it on teardown, so it never runs on a standby or a sealed node.

const (
	// defaultPeriodicInterval is Vault's rollback manager period.
	defaultPeriodicInterval = time.Minute
	// periodicStopGrace bounds how long stopping waits for runs that
	// ignore their cancelled context: teardown (a seal, a step-down) must
	// not hang on an engine.
	periodicStopGrace = 2 * time.Second
)

// PeriodicOptions tune RunPeriodic.
type PeriodicOptions struct {
	// Interval between rounds; one minute if zero.
	Interval time.Duration
	// DefaultLeaseTTL and MaxLeaseTTL are the system TTLs the mounts'
	// configs fall back to.
	DefaultLeaseTTL, MaxLeaseTTL time.Duration
	Logger                       *slog.Logger
}

// RunPeriodic calls every mount of r's periodic hook until ctx ends; r is
// the router of this activation.
func RunPeriodic(ctx context.Context, r *Router, o PeriodicOptions) {
	interval := o.Interval
	if interval <= 0 {
		interval = defaultPeriodicInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var (
		mu       sync.Mutex
		inflight = map[string]bool{} // mount UUID → a run is going
		wg       sync.WaitGroup
	)
	defer func() {
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		t := time.NewTimer(min(interval, periodicStopGrace))
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			o.Logger.Warn("periodic functions still running after the core stopped them; leaving them behind")
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// A tick and the stop can be ready together, and select picks
		// either: never start a run once the activation has ended.
		if ctx.Err() != nil {
			return
		}
		for _, rt := range r.All() {
			if !periodicTarget(rt) {
				continue
			}
			id := rt.Entry.UUID
			mu.Lock()
			busy := inflight[id]
			inflight[id] = true
			mu.Unlock()
			if busy {
				// The previous run is still going; never two at once.
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(inflight, id)
					mu.Unlock()
				}()
				periodicOnce(ctx, rt, o)
			}()
		}
	}
}

// periodicTarget reports whether the runner calls rt: not the system
// backend, not the token store (its own loop tidies it), not the
// cubbyhole (its storage is per token; it has no periodic work), not
// identity (nothing to tidy).
func periodicTarget(rt *Route) bool {
	switch {
	case rt.IsCubby:
		return false
	case !rt.IsAuth && (rt.Entry.Type == "system" || rt.Entry.Type == "identity"):
		return false
	case rt.IsAuth && rt.Entry.Type == "token":
		return false
	}
	return true
}

// periodicOnce sends rt one RollbackOperation. A panic in the engine is
// caught and logged: it must not take the core down.
func periodicOnce(ctx context.Context, rt *Route, o PeriodicOptions) {
	defer func() {
		if p := recover(); p != nil {
			o.Logger.Error("periodic function panicked", "mount", rt.Mount, "type", rt.Entry.Type, "panic", fmt.Sprint(p))
		}
	}()
	req := &logical.Request{
		Operation:     logical.RollbackOperation,
		MountPoint:    rt.Mount,
		MountType:     rt.Entry.Type,
		MountAccessor: rt.Entry.Accessor,
		MountConfig:   rt.Entry.LogicalConfig(o.DefaultLeaseTTL, o.MaxLeaseTTL),
		Storage:       rt.Storage,
	}
	_, err := rt.Backend.HandleRequest(ctx, req)
	switch {
	case err == nil, ctx.Err() != nil:
	case errors.Is(err, logical.ErrUnsupportedOperation), errors.Is(err, logical.ErrUnsupportedPath):
		// An engine not built on the framework, with no periodic work.
	default:
		o.Logger.Warn("periodic function failed", "mount", rt.Mount, "type", rt.Entry.Type, "error", err)
	}
}
