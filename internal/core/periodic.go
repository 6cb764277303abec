package core

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/core/mount"
	"github.com/strongbox/strongbox/internal/logical"
)

// The periodic runner is Vault's rollback manager: on the active node only,
// every Config.PeriodicInterval, it sends each mount a RollbackOperation,
// which a logical.FrameworkBackend serves with its PeriodicFunc and then its
// Rollback hook. postUnseal starts it and teardown stops it, so it never
// runs on a standby or a sealed node.

const (
	// defaultPeriodicInterval is Vault's rollback manager period.
	defaultPeriodicInterval = time.Minute
	// periodicStopGrace bounds how long stopping waits for runs that
	// ignore their cancelled context: teardown (a seal, a step-down) must
	// not hang on an engine.
	periodicStopGrace = 2 * time.Second
)

// runPeriodic runs until ctx ends; r is the router of this activation.
func (c *Core) runPeriodic(ctx context.Context, r *mount.Router) {
	interval := c.conf.PeriodicInterval
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
			c.logger.Warn("periodic functions still running after the core stopped them; leaving them behind")
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
				c.periodicOnce(ctx, rt)
			}()
		}
	}
}

// periodicTarget reports whether the runner calls rt: not the system
// backend, not the token store (its own loop tidies it), not the
// cubbyhole (its storage is per token; it has no periodic work), not
// identity (nothing to tidy).
func periodicTarget(rt *mount.Route) bool {
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
func (c *Core) periodicOnce(ctx context.Context, rt *mount.Route) {
	defer func() {
		if p := recover(); p != nil {
			c.logger.Error("periodic function panicked", "mount", rt.Mount, "type", rt.Entry.Type, "panic", fmt.Sprint(p))
		}
	}()
	req := &logical.Request{
		Operation:     logical.RollbackOperation,
		MountPoint:    rt.Mount,
		MountType:     rt.Entry.Type,
		MountAccessor: rt.Entry.Accessor,
		MountConfig:   rt.Entry.LogicalConfig(c.conf.DefaultLeaseTTL, c.conf.MaxLeaseTTL),
		Storage:       rt.Storage,
	}
	_, err := rt.Backend.HandleRequest(ctx, req)
	switch {
	case err == nil, ctx.Err() != nil:
	case errors.Is(err, logical.ErrUnsupportedOperation), errors.Is(err, logical.ErrUnsupportedPath):
		// An engine not built on the framework, with no periodic work.
	default:
		c.logger.Warn("periodic function failed", "mount", rt.Mount, "type", rt.Entry.Type, "error", err)
	}
}
