package keyops

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/seal"
)

// Seal re-wrap, as Vault's sys/sealwrap/rewrap: what the seal's key service
// encrypted is encrypted again with the service's current key, so the old
// key can be retired (an HSM key_label changed, with the old one kept as
// default_key_label or on the token until then; a KMS alias moved to a new
// key). In Strongbox the only value the seal encrypts is the root key blob
// (core/hsm/barrier-unseal-keys): the recovery key lives inside the barrier,
// so the root key's new wrapping covers it. The active node re-wraps on its
// own when it becomes active and the blob names another key than the
// service's current one; POST sys/sealwrap/rewrap re-wraps now, whatever
// key wrapped it.

// rewrapState is the last re-wrap's outcome, for GET sys/sealwrap/rewrap.
type rewrapState struct {
	mu                           sync.Mutex
	running                      bool
	processed, succeeded, failed int
}

func (r *rewrapState) status() map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return map[string]any{
		"is_running": r.running,
		"entries":    map[string]any{"processed": r.processed, "succeeded": r.succeeded, "failed": r.failed},
	}
}

// begin marks a run started; false when one is running already.
func (r *rewrapState) begin() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		return false
	}
	r.running = true
	r.processed, r.succeeded, r.failed = 0, 0, 0
	return true
}

func (r *rewrapState) end(processed, succeeded int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.running = false
	r.processed, r.succeeded, r.failed = processed, succeeded, processed-succeeded
}

func (o *Ops) sealwrapPaths() []*logical.Path {
	return []*logical.Path{{
		Pattern: "sealwrap/rewrap",
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: func(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
				return &logical.Response{Data: o.work.rewrapRun.status()}, nil
			},
			logical.UpdateOperation: func(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
				o.startRewrap()
				return nil, nil
			},
		},
	}}
}

// startRewrap re-wraps in the background unless a run is in progress; the
// log and GET sys/sealwrap/rewrap tell how it went.
func (o *Ops) startRewrap() {
	if !o.work.rewrapRun.begin() {
		return
	}
	o.logger.Info("seal re-wrap started")
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), sealCallTimeout)
		defer cancel()
		processed, succeeded := o.rewrapNow(ctx)
		o.work.rewrapRun.end(processed, succeeded)
	}()
}

// rewrapNow re-wraps every seal-wrapped value (the root key blob) with the
// seal's current key, on the active node only, and returns how many values
// it processed and how many succeeded.
func (o *Ops) rewrapNow(ctx context.Context) (processed, succeeded int) {
	o.host.RLockState()
	defer o.host.RUnlockState()
	if _, err := o.host.Active(); err != nil {
		o.logger.Warn("seal re-wrap skipped: the node is not active")
		return 0, 0
	}
	done, err := o.rewrapSealBlob(ctx, false)
	switch {
	case err != nil:
		o.logger.Error("seal re-wrap failed", "error", err)
		return 1, 0
	case done:
		return 1, 1
	}
	return 0, 0
}

// rewrapIfStale re-wraps the root key when the key that wrapped it is not
// the seal's current one. Caller: RunWork (state lock read, active).
func (o *Ops) rewrapIfStale(ctx context.Context) {
	if o.autoSeal == nil {
		return
	}
	if _, err := o.rewrapSealBlob(ctx, true); err != nil {
		o.logger.Error("seal re-wrap of the root key failed; the old key must stay available", "error", err)
	}
}

// rewrapSealBlob wraps the barrier's root key with the seal's current key
// and replaces the stored blob. With onlyIfStale it does nothing while the
// stored blob already names the current key. It reports whether it wrote.
// It never writes over storage that another seal owns (a pending or a
// completed migration), nor under the Shamir seal, which wraps nothing
// with a key service. The caller holds the state lock (read) on the active node.
func (o *Ops) rewrapSealBlob(ctx context.Context, onlyIfStale bool) (bool, error) {
	if o.autoSeal == nil {
		return false, nil
	}
	conf, err := seal.LoadConfig(ctx, o.physical)
	if err != nil {
		return false, fmt.Errorf("seal re-wrap: %w", err)
	}
	pending, err := o.MigrationPending(ctx, conf)
	if err != nil {
		return false, fmt.Errorf("seal re-wrap: %w", err)
	}
	if pending || conf.Type != o.autoSeal.Type() {
		return false, nil
	}
	stored, ok, err := o.autoSeal.StoredKeyID(ctx)
	if err != nil {
		return false, fmt.Errorf("seal re-wrap: %w", err)
	}
	if !ok {
		return false, fmt.Errorf("seal re-wrap: the stored root key is not a %s blob", o.autoSeal.Type())
	}
	current, err := o.autoSeal.KeyID(ctx)
	if err != nil {
		return false, fmt.Errorf("seal re-wrap: %w", err)
	}
	if onlyIfStale && stored == current {
		return false, nil
	}
	root, err := o.barrier.RootKey()
	if err != nil {
		return false, fmt.Errorf("seal re-wrap: %w", err)
	}
	defer clear(root)
	start := time.Now()
	if err := o.autoSeal.Rewrap(ctx, root); err != nil {
		return false, fmt.Errorf("seal re-wrap: %w", err)
	}
	o.logger.Info("seal re-wrap completed", "seal", o.autoSeal.Type(), "entries", 1,
		"from_key_id", stored, "to_key_id", current, "took", time.Since(start).String())
	return true, nil
}
