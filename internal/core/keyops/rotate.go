package keyops

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
)

// Automatic barrier key rotation, as Vault's sys/rotate/config: the active
// node adds a keyring term once the encryptions under the active term
// exceed max_operations (default just under 2^32, NIST SP 800-38D's bound
// for random-nonce AES-GCM) or, with an interval set, once the term is that
// old. The configuration and the count (per term) are stored through the
// barrier, so both survive restarts and leader changes; the count is
// written every rotationPersistEvery, so a crash forgets at most that much.

// Storage keys, inside the barrier.
const (
	rotationConfigKey = "core/rotation/config"
	rotationCountKey  = "core/rotation/encryptions"
)

// Vault's bounds: max_operations in [1,000,000, 3,865,470,566], an
// interval of 0 (off) or at least 24 hours.
const (
	rotationMaxOperations   int64 = 3865470566
	rotationMinOperations   int64 = 1000000
	rotationMinimumInterval       = 24 * time.Hour
)

// rotationPersistEvery paces writes of the encryption count.
const rotationPersistEvery = 30 * time.Second

// RotationConfig is sys/rotate/config, as stored.
type RotationConfig struct {
	// MaxOperations is how many encryptions the active term may make
	// before the key is rotated.
	MaxOperations int64 `json:"max_operations"`
	// Interval is the active term's age at which it is rotated (0: never).
	Interval time.Duration `json:"interval"`
	// Disabled turns automatic rotation off.
	Disabled bool `json:"disabled"`
}

// rotationCount is the stored encryption count of a term.
type rotationCount struct {
	Term        uint32 `json:"term"`
	Encryptions int64  `json:"encryptions"`
}

// rotationTracker follows the encryptions under the active term on the
// active node: base (stored by earlier active terms) plus what this
// process's barrier counted since mark. Its fields belong to the seal
// upkeep round (sealWork.tickMu) except config, under mu, which requests
// update.
type rotationTracker struct {
	mu     sync.Mutex
	config RotationConfig
	// minOperations is the smallest max_operations sys/rotate/config
	// accepts: Vault's, lowered only by tests.
	minOperations int64
	// persistEvery paces count writes: rotationPersistEvery, or less in
	// tests.
	persistEvery time.Duration

	term        uint32
	base, mark  int64
	persisted   int64
	persistedAt time.Time
}

func (r *rotationTracker) init() {
	r.config = defaultRotationConfig()
	r.minOperations = rotationMinOperations
	r.persistEvery = rotationPersistEvery
}

func defaultRotationConfig() RotationConfig {
	return RotationConfig{MaxOperations: rotationMaxOperations}
}

func (r *rotationTracker) current() RotationConfig {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.config
}

func (r *rotationTracker) set(conf RotationConfig) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.config = conf
}

func (o *Ops) rotationPaths() []*logical.Path {
	return []*logical.Path{{
		Pattern: "rotate/config",
		Fields: map[string]*logical.FieldSchema{
			"max_operations": {Type: logical.TypeInt64, Description: "encryptions after which the key is rotated"},
			"interval":       {Type: logical.TypeDurationSecond, Description: "age of the active key at which it is rotated (0: never)"},
			"enabled":        {Type: logical.TypeBool, Description: "whether automatic rotation runs"},
		},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation:   o.readRotationConfig,
			logical.UpdateOperation: o.writeRotationConfig,
		},
	}}
}

func (o *Ops) readRotationConfig(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	conf, err := o.loadRotationConfig(ctx)
	if err != nil {
		return nil, err
	}
	data := map[string]any{"max_operations": conf.MaxOperations, "enabled": !conf.Disabled, "interval": 0}
	if conf.Interval > 0 {
		data["interval"] = conf.Interval.String()
	}
	return &logical.Response{Data: data}, nil
}

// writeRotationConfig updates the fields given, in Vault's order and with
// its messages; out of range values change nothing.
func (o *Ops) writeRotationConfig(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	conf, err := o.loadRotationConfig(ctx)
	if err != nil {
		return nil, err
	}
	if v, ok := d.GetOk("max_operations"); ok {
		conf.MaxOperations = v.(int64)
	}
	if v, ok := d.GetOk("interval"); ok {
		conf.Interval = time.Duration(v.(int)) * time.Second
	}
	if v, ok := d.GetOk("enabled"); ok {
		conf.Disabled = !v.(bool)
	}
	minOps := o.work.rotation.minimum()
	switch {
	case conf.Interval != 0 && conf.Interval < rotationMinimumInterval:
		return nil, logical.BadRequest("interval must be greater or equal to %s", rotationMinimumInterval)
	case conf.MaxOperations < minOps || conf.MaxOperations > rotationMaxOperations:
		return nil, logical.BadRequest("max_operations must be in the range [%d,%d]", minOps, rotationMaxOperations)
	}
	if err := o.StoreRotationConfig(ctx, conf); err != nil {
		return nil, err
	}
	o.logger.Info("key rotation configuration updated", "max_operations", conf.MaxOperations,
		"interval", conf.Interval.String(), "enabled", !conf.Disabled)
	return nil, nil
}

func (r *rotationTracker) minimum() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.minOperations
}

// loadRotationConfig reads the stored configuration (Vault's defaults when
// none was written).
func (o *Ops) loadRotationConfig(ctx context.Context) (RotationConfig, error) {
	e, err := o.barrier.Get(ctx, rotationConfigKey)
	if err != nil {
		return RotationConfig{}, fmt.Errorf("read key rotation config: %w", err)
	}
	conf := defaultRotationConfig()
	if e == nil {
		return conf, nil
	}
	if err := json.Unmarshal(e.Value, &conf); err != nil {
		return RotationConfig{}, fmt.Errorf("decode key rotation config: %w", err)
	}
	return conf, nil
}

// StoreRotationConfig writes conf through the barrier and makes it the
// one the active node checks against. Unlike sys/rotate/config it applies
// no bounds (tests use values below Vault's minimum).
func (o *Ops) StoreRotationConfig(ctx context.Context, conf RotationConfig) error {
	raw, err := json.Marshal(&conf)
	if err != nil {
		return err
	}
	if err := o.barrier.Put(ctx, &physical.Entry{Key: rotationConfigKey, Value: raw}); err != nil {
		return fmt.Errorf("store key rotation config: %w", err)
	}
	o.work.rotation.set(conf)
	return nil
}

// rotationActivate loads the configuration and the stored count when the
// node becomes active. Caller: RunWork (state lock read, active).
func (o *Ops) rotationActivate(ctx context.Context) error {
	conf, err := o.loadRotationConfig(ctx)
	if err != nil {
		return err
	}
	ks, err := o.barrier.KeyStatus()
	if err != nil {
		return err
	}
	var stored rotationCount
	e, err := o.barrier.Get(ctx, rotationCountKey)
	if err != nil {
		return fmt.Errorf("read key rotation count: %w", err)
	}
	if e != nil {
		if err := json.Unmarshal(e.Value, &stored); err != nil {
			return fmt.Errorf("decode key rotation count: %w", err)
		}
	}
	r := &o.work.rotation
	r.set(conf)
	r.term, r.base, r.mark = ks.Term, 0, ks.Encryptions
	if stored.Term == ks.Term {
		r.base = stored.Encryptions
	}
	r.persisted, r.persistedAt = r.base, time.Now()
	return nil
}

// rotationCheck rotates the barrier key when it is due and now and then
// stores the count. Caller: RunWork (state lock read, active).
func (o *Ops) rotationCheck(ctx context.Context) {
	r := &o.work.rotation
	ks, err := o.barrier.KeyStatus()
	if err != nil {
		return
	}
	if ks.Term != r.term {
		// Rotated by sys/rotate: the barrier counts the new term from zero.
		r.term, r.base, r.mark, r.persisted = ks.Term, 0, 0, -1
	}
	if ks.Encryptions < r.mark {
		r.mark = ks.Encryptions
	}
	count := r.base + ks.Encryptions - r.mark
	conf := r.current()
	var reason string
	switch {
	case conf.Disabled:
	case count > conf.MaxOperations:
		reason = "max_operations"
	case conf.Interval > 0 && time.Since(ks.InstallTime) >= conf.Interval:
		reason = "interval"
	}
	if reason != "" {
		term, err := o.barrier.Rotate(ctx)
		if err != nil {
			o.logger.Error("automatic key rotation failed", "error", err)
			return
		}
		o.logger.Info("rotated the barrier key automatically", "reason", reason, "term", term,
			"encryptions", count, "max_operations", conf.MaxOperations, "interval", conf.Interval.String())
		r.term, r.base, r.mark = term, 0, 0
		o.persistRotationCount(ctx, 0)
		return
	}
	if count != r.persisted && time.Since(r.persistedAt) >= r.persistEvery {
		o.persistRotationCount(ctx, count)
	}
}

func (o *Ops) persistRotationCount(ctx context.Context, count int64) {
	r := &o.work.rotation
	raw, err := json.Marshal(&rotationCount{Term: r.term, Encryptions: count})
	if err != nil {
		return
	}
	if err := o.barrier.Put(ctx, &physical.Entry{Key: rotationCountKey, Value: raw}); err != nil {
		o.logger.Warn("storing the key rotation count failed", "error", err)
		return
	}
	r.persisted, r.persistedAt = count, time.Now()
}
