package keyops

import (
	"context"
	"time"
)

// StartWork starts the node's background seal upkeep once it is unsealed
// (RunWork every tick; it does work only while active). Core calls it
// holding the state lock for writing: the loop's first round waits for it.
func (o *Ops) StartWork() {
	w := &o.work
	w.loopMu.Lock()
	defer w.loopMu.Unlock()
	if w.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w.stop, w.done = cancel, done
	tick := w.tick
	go func() {
		defer close(done)
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			o.RunWork(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// StopWork stops the loop and waits for it. The caller must not hold the
// state lock: a round in progress holds it for reading.
func (o *Ops) StopWork() {
	w := &o.work
	w.loopMu.Lock()
	cancel, done := w.stop, w.done
	w.stop, w.done = nil, nil
	w.loopMu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// SetPace sets the upkeep loop's tick (one second by default) and how
// often the rotation count is stored (every 30 seconds by default). Tests
// slow the loop to run RunWork themselves. Call it before the node
// unseals.
func (o *Ops) SetPace(tick, persistEvery time.Duration) {
	o.work.loopMu.Lock()
	o.work.tick = tick
	o.work.loopMu.Unlock()
	o.work.tickMu.Lock()
	o.work.rotation.persistEvery = persistEvery
	o.work.tickMu.Unlock()
}

// RunWork is one round of the active node's seal upkeep. On the first
// round of each active term it performs a pending seal migration, re-wraps
// the root key if the seal's current key is not the one that wrapped it,
// and loads the rotation state; every round it checks whether the barrier
// key is due for rotation. Standbys and sealed nodes do nothing. It takes
// the state lock for reading: the caller must not hold it.
func (o *Ops) RunWork(ctx context.Context) {
	w := &o.work
	w.tickMu.Lock()
	defer w.tickMu.Unlock()
	o.host.RLockState()
	defer o.host.RUnlockState()
	tokens, err := o.host.Active()
	if err != nil {
		w.epoch = nil
		return
	}
	if w.epoch != tokens {
		if time.Now().Before(w.retryAt) {
			return
		}
		cctx, cancel := context.WithTimeout(ctx, sealCallTimeout)
		defer cancel()
		if err := o.migrateSeal(cctx); err != nil {
			w.retryAt = time.Now().Add(sealWorkRetry)
			o.logger.Error("seal migration failed; the node keeps serving under the old seal and retries",
				"error", err, "retry_in", sealWorkRetry)
			return
		}
		o.rewrapIfStale(cctx)
		if err := o.rotationActivate(cctx); err != nil {
			w.retryAt = time.Now().Add(sealWorkRetry)
			o.logger.Error("loading the key rotation state failed; retrying", "error", err, "retry_in", sealWorkRetry)
			return
		}
		w.epoch = tokens
	}
	o.rotationCheck(ctx)
}
