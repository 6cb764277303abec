package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/barrier"
	"github.com/strongbox/strongbox/internal/core/mount"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
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

var autoNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// autoConfig is one automated snapshot configuration, as stored.
type autoConfig struct {
	Name          string `json:"name"`
	Interval      int64  `json:"interval"` // seconds
	Retain        int    `json:"retain"`
	PathPrefix    string `json:"path_prefix"`
	FilePrefix    string `json:"file_prefix"`
	StorageType   string `json:"storage_type"`
	LocalMaxSpace int64  `json:"local_max_space,omitempty"`

	AWSS3Bucket               string `json:"aws_s3_bucket,omitempty"`
	AWSS3Region               string `json:"aws_s3_region,omitempty"`
	AWSS3Endpoint             string `json:"aws_s3_endpoint,omitempty"`
	AWSAccessKeyID            string `json:"aws_access_key_id,omitempty"`
	AWSSecretAccessKey        string `json:"aws_secret_access_key,omitempty"`
	AWSSessionToken           string `json:"aws_session_token,omitempty"`
	AWSS3DisableTLS           bool   `json:"aws_s3_disable_tls,omitempty"`
	AWSS3ForcePathStyle       bool   `json:"aws_s3_force_path_style,omitempty"`
	AWSS3ServerSideEncryption bool   `json:"aws_s3_server_side_encryption,omitempty"`
	AWSS3EnableKMS            bool   `json:"aws_s3_enable_kms,omitempty"`
	AWSS3KMSKey               string `json:"aws_s3_kms_key,omitempty"`
}

// autoStatus is how the schedule of one configuration went, as stored.
type autoStatus struct {
	LastStart         time.Time `json:"last_snapshot_start"`
	LastEnd           time.Time `json:"last_snapshot_end"`
	LastError         string    `json:"last_snapshot_error"`
	LastURL           string    `json:"last_snapshot_url"`
	LastSize          int64     `json:"last_snapshot_size"`
	SuccessStart      time.Time `json:"snapshot_start"`
	SuccessURL        string    `json:"snapshot_url"`
	SuccessSize       int64     `json:"snapshot_size"`
	ConsecutiveErrors int       `json:"consecutive_errors"`
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func (s *autoStatus) data() map[string]any {
	return map[string]any{
		"last_snapshot_start": rfc3339(s.LastStart), "last_snapshot_end": rfc3339(s.LastEnd),
		"last_snapshot_error": s.LastError, "last_snapshot_url": s.LastURL, "last_snapshot_size": s.LastSize,
		"snapshot_start": rfc3339(s.SuccessStart), "snapshot_url": s.SuccessURL, "snapshot_size": s.SuccessSize,
		"consecutive_errors": s.ConsecutiveErrors,
	}
}

// autoConfigFields are the parameters of a configuration write.
var autoConfigFields = map[string]*logical.FieldSchema{
	"name":                          str("configuration name"),
	"interval":                      {Type: logical.TypeDurationSecond, Description: "time between snapshots"},
	"retain":                        {Type: logical.TypeInt, Description: "snapshots kept"},
	"path_prefix":                   str("directory (local) or key prefix (aws-s3)"),
	"file_prefix":                   str("snapshot file name prefix"),
	"storage_type":                  str("local or aws-s3"),
	"local_max_space":               {Type: logical.TypeInt64, Description: "bytes all local snapshots may use"},
	"aws_s3_bucket":                 str("bucket"),
	"aws_s3_region":                 str("region"),
	"aws_s3_endpoint":               str("endpoint of a non-AWS S3 server"),
	"aws_access_key_id":             str("access key ID"),
	"aws_secret_access_key":         str("secret access key"),
	"aws_session_token":             str("session token"),
	"aws_s3_disable_tls":            {Type: logical.TypeBool},
	"aws_s3_force_path_style":       {Type: logical.TypeBool},
	"aws_s3_server_side_encryption": {Type: logical.TypeBool},
	"aws_s3_enable_kms":             {Type: logical.TypeBool},
	"aws_s3_kms_key":                str("KMS key for aws_s3_enable_kms"),
}

// apply sets the fields the request sent, leaving the others as they were.
func (cfg *autoConfig) apply(d *logical.FieldData) {
	setStr := func(k string, dst *string) {
		if v, ok := d.GetOk(k); ok {
			*dst = strings.TrimSpace(v.(string))
		}
	}
	setBool := func(k string, dst *bool) {
		if v, ok := d.GetOk(k); ok {
			*dst = v.(bool)
		}
	}
	if v, ok := d.GetOk("interval"); ok {
		cfg.Interval = int64(v.(int))
	}
	if v, ok := d.GetOk("retain"); ok {
		cfg.Retain = v.(int)
	}
	if v, ok := d.GetOk("local_max_space"); ok {
		cfg.LocalMaxSpace = v.(int64)
	}
	setStr("path_prefix", &cfg.PathPrefix)
	setStr("file_prefix", &cfg.FilePrefix)
	setStr("storage_type", &cfg.StorageType)
	setStr("aws_s3_bucket", &cfg.AWSS3Bucket)
	setStr("aws_s3_region", &cfg.AWSS3Region)
	setStr("aws_s3_endpoint", &cfg.AWSS3Endpoint)
	setStr("aws_access_key_id", &cfg.AWSAccessKeyID)
	setStr("aws_secret_access_key", &cfg.AWSSecretAccessKey)
	setStr("aws_session_token", &cfg.AWSSessionToken)
	setStr("aws_s3_kms_key", &cfg.AWSS3KMSKey)
	setBool("aws_s3_disable_tls", &cfg.AWSS3DisableTLS)
	setBool("aws_s3_force_path_style", &cfg.AWSS3ForcePathStyle)
	setBool("aws_s3_server_side_encryption", &cfg.AWSS3ServerSideEncryption)
	setBool("aws_s3_enable_kms", &cfg.AWSS3EnableKMS)
}

func (cfg *autoConfig) validate() error {
	switch {
	case cfg.Interval < 1:
		return logical.BadRequest("interval must be at least 1s")
	case cfg.Retain < 1:
		return logical.BadRequest("retain must be at least 1")
	case cfg.PathPrefix == "":
		return logical.BadRequest("path_prefix is required")
	case cfg.FilePrefix == "" || strings.ContainsAny(cfg.FilePrefix, `/\`) || strings.HasPrefix(cfg.FilePrefix, "."):
		return logical.BadRequest("invalid file_prefix %q", cfg.FilePrefix)
	case cfg.LocalMaxSpace < 0:
		return logical.BadRequest("local_max_space must not be negative")
	}
	switch cfg.StorageType {
	case "local":
		if !filepath.IsAbs(cfg.PathPrefix) {
			return logical.BadRequest("path_prefix must be an absolute directory for storage_type local")
		}
	case "aws-s3":
		if cfg.AWSS3Bucket == "" || cfg.AWSS3Region == "" {
			return logical.BadRequest("aws_s3_bucket and aws_s3_region are required for storage_type aws-s3")
		}
		if cfg.AWSS3ServerSideEncryption && cfg.AWSS3EnableKMS {
			return logical.BadRequest("aws_s3_server_side_encryption and aws_s3_enable_kms cannot both be set")
		}
		if (cfg.AWSAccessKeyID == "") != (cfg.AWSSecretAccessKey == "") {
			return logical.BadRequest("aws_access_key_id and aws_secret_access_key go together")
		}
	case "":
		return logical.BadRequest("storage_type is required")
	default:
		return logical.BadRequest("unsupported storage_type %q: local and aws-s3 are supported", cfg.StorageType)
	}
	return nil
}

// data is the read response; secrets are not returned.
func (cfg *autoConfig) data() map[string]any {
	out := map[string]any{
		"interval": cfg.Interval, "retain": cfg.Retain, "path_prefix": cfg.PathPrefix,
		"file_prefix": cfg.FilePrefix, "storage_type": cfg.StorageType,
	}
	switch cfg.StorageType {
	case "local":
		out["local_max_space"] = cfg.LocalMaxSpace
	case "aws-s3":
		out["aws_s3_bucket"], out["aws_s3_region"], out["aws_s3_endpoint"] = cfg.AWSS3Bucket, cfg.AWSS3Region, cfg.AWSS3Endpoint
		out["aws_access_key_id"], out["aws_s3_disable_tls"] = cfg.AWSAccessKeyID, cfg.AWSS3DisableTLS
		out["aws_s3_force_path_style"], out["aws_s3_server_side_encryption"] = cfg.AWSS3ForcePathStyle, cfg.AWSS3ServerSideEncryption
		out["aws_s3_enable_kms"], out["aws_s3_kms_key"] = cfg.AWSS3EnableKMS, cfg.AWSS3KMSKey
	}
	return out
}

// target builds the configuration's destination.
func (cfg *autoConfig) target(ctx context.Context, spoolDir string) (snapshot.Target, error) {
	if cfg.StorageType == "aws-s3" {
		return snapshot.NewS3Target(ctx, snapshot.S3Config{
			Bucket: cfg.AWSS3Bucket, Region: cfg.AWSS3Region, Prefix: cfg.PathPrefix,
			Endpoint: cfg.AWSS3Endpoint, DisableTLS: cfg.AWSS3DisableTLS, ForcePathStyle: cfg.AWSS3ForcePathStyle,
			AccessKeyID: cfg.AWSAccessKeyID, SecretAccessKey: cfg.AWSSecretAccessKey, SessionToken: cfg.AWSSessionToken,
			ServerSideEncryption: cfg.AWSS3ServerSideEncryption, EnableKMS: cfg.AWSS3EnableKMS, KMSKey: cfg.AWSS3KMSKey,
			TempDir: spoolDir,
		})
	}
	return &snapshot.LocalTarget{Dir: cfg.PathPrefix, FilePrefix: cfg.FilePrefix, MaxSpace: cfg.LocalMaxSpace}, nil
}

func getJSON[T any](ctx context.Context, s physical.Backend, key string) (*T, error) {
	e, err := s.Get(ctx, key)
	if err != nil || e == nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(e.Value, v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", key, err)
	}
	return v, nil
}

func putJSON(ctx context.Context, s physical.Backend, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.Put(ctx, &physical.Entry{Key: key, Value: raw})
}

// snapshotPaths serve sys/storage/raft/snapshot-auto/... Building them
// marks a new activation (the sys backend is built in postUnseal), so it
// also starts that activation's scheduler.
func (c *Core) snapshotPaths() []*logical.Path {
	if c.snapshotStorage() == nil {
		return nil
	}
	c.startAutoSnapshots(c.mounts.Router())
	name := map[string]*logical.FieldSchema{"name": str("configuration name")}
	return []*logical.Path{
		{
			Pattern: "storage/raft/snapshot-auto/config/?",
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ListOperation: func(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
					keys, err := c.barrier.List(ctx, autoConfigPrefix)
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
				logical.ReadOperation:   c.autoConfigRead,
				logical.UpdateOperation: c.autoConfigWrite,
				logical.DeleteOperation: c.autoConfigDelete,
			},
		},
		{
			Pattern: "storage/raft/snapshot-auto/status/(?P<name>[^/]+)",
			Fields:  name,
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation: c.autoStatusRead,
			},
		},
	}
}

func (c *Core) autoConfigRead(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	cfg, err := getJSON[autoConfig](ctx, c.barrier, autoConfigPrefix+d.Get("name").(string))
	if err != nil || cfg == nil {
		return nil, err
	}
	return &logical.Response{Data: cfg.data()}, nil
}

func (c *Core) autoConfigWrite(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	if !autoNameRE.MatchString(name) {
		return nil, logical.BadRequest("invalid configuration name %q", name)
	}
	cfg, err := getJSON[autoConfig](ctx, c.barrier, autoConfigPrefix+name)
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
	if _, err := cfg.target(ctx, c.snapshotSpoolDir()); err != nil {
		return nil, logical.BadRequest("%s", err)
	}
	if err := putJSON(ctx, c.barrier, autoConfigPrefix+name, cfg); err != nil {
		return nil, err
	}
	c.snaps.auto.wake()
	return nil, nil
}

func (c *Core) autoConfigDelete(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	if err := c.barrier.Delete(ctx, autoConfigPrefix+name); err != nil {
		return nil, err
	}
	// A snapshot of this configuration in flight is stopped (and its
	// pruning finished) before the answer, so nothing of it is written
	// afterwards.
	c.snaps.auto.cancelRun(name)
	if err := c.barrier.Delete(ctx, autoStatusPrefix+name); err != nil {
		return nil, err
	}
	c.snaps.auto.wake()
	return nil, nil
}

func (c *Core) autoStatusRead(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	cfg, err := getJSON[autoConfig](ctx, c.barrier, autoConfigPrefix+name)
	if err != nil || cfg == nil {
		return nil, err
	}
	st, err := getJSON[autoStatus](ctx, c.barrier, autoStatusPrefix+name)
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

// startAutoSnapshots starts the scheduler of the activation whose router
// is rt, replacing any earlier one. Called under stateLock (in postUnseal),
// so it does not wait for the old scheduler, which takes that lock.
func (c *Core) startAutoSnapshots(rt *mount.Router) {
	ctx, cancel := context.WithCancel(context.Background())
	a := &c.snaps.auto
	a.mu.Lock()
	if a.cancel != nil {
		a.cancel()
	}
	a.gen++
	a.cancel, a.wakeCh, a.runs = cancel, make(chan struct{}, 1), map[string]*autoRun{}
	gen, wake := a.gen, a.wakeCh
	a.mu.Unlock()
	go c.runAutoSnapshots(ctx, gen, rt, wake)
}

// stopAutoSnapshots cancels the scheduler of generation gen (0: whichever
// runs) and its snapshots in flight, without waiting.
func (c *Core) stopAutoSnapshots(gen uint64) {
	a := &c.snaps.auto
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel != nil && (gen == 0 || gen == a.gen) {
		a.cancel()
		a.cancel, a.wakeCh = nil, nil
	}
}

// stillActive reports whether the activation whose router is rt goes on.
func (c *Core) stillActive(rt *mount.Router) bool {
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	return !c.sealed && !c.standby && c.mounts.Router() == rt
}

// activeSource returns what a snapshot needs while the activation whose
// router is rt goes on (nil when it ended or failed).
func (c *Core) activeSource(ctx context.Context, rt *mount.Router) *snapshotSource {
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	if c.sealed || c.standby || c.mounts.Router() != rt {
		return nil
	}
	src, err := c.snapshotSourceLocked(ctx)
	if err != nil {
		c.logger.Warn("automated snapshots: preparing a snapshot", "error", err)
		return nil
	}
	return src
}

// runAutoSnapshots is the scheduler loop of one activation: it reads the
// configurations and their stored status, starts a snapshot when one is
// due (last start + interval; at once for a configuration never run), and
// returns once the activation ends. Only the loop takes the state lock;
// the snapshots it starts run without it.
func (c *Core) runAutoSnapshots(ctx context.Context, gen uint64, rt *mount.Router, wake <-chan struct{}) {
	defer c.stopAutoSnapshots(gen)
	var configs []*autoConfig
	statuses := map[string]*autoStatus{}
	loaded := false
	for {
		if !c.stillActive(rt) || ctx.Err() != nil {
			return
		}
		if !loaded {
			configs, loaded = c.loadAutoConfigs(ctx), true
			clear(statuses)
			for _, cfg := range configs {
				st, err := getJSON[autoStatus](ctx, c.barrier, autoStatusPrefix+cfg.Name)
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
					src = c.activeSource(ctx, rt)
				}
				if src != nil && c.startAutoRun(ctx, src, cfg, st) {
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

func (c *Core) loadAutoConfigs(ctx context.Context) []*autoConfig {
	names, err := c.barrier.List(ctx, autoConfigPrefix)
	if err != nil {
		c.logger.Warn("automated snapshots: listing configurations", "error", err)
		return nil
	}
	sort.Strings(names)
	var out []*autoConfig
	for _, n := range names {
		cfg, err := getJSON[autoConfig](ctx, c.barrier, autoConfigPrefix+n)
		if err != nil {
			c.logger.Warn("automated snapshots: reading a configuration", "config", n, "error", err)
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
func (c *Core) startAutoRun(ctx context.Context, src *snapshotSource, cfg *autoConfig, st *autoStatus) bool {
	a := &c.snaps.auto
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
		c.autoSnapshot(rctx, src, cfg, &stCopy)
	}()
	return true
}

// autoSnapshot takes, stores and prunes one snapshot of cfg, and records
// how it went. It never takes the state lock (a configuration delete waits
// for it while holding that lock for reading).
func (c *Core) autoSnapshot(ctx context.Context, src *snapshotSource, cfg *autoConfig, st *autoStatus) {
	// Registered as running first, then checked: a delete either finds
	// this run and waits for it, or removed the configuration before.
	if cur, err := getJSON[autoConfig](ctx, c.barrier, autoConfigPrefix+cfg.Name); err != nil || cur == nil {
		return
	}
	// Runs of one configuration never overlap: the stored status is the
	// latest, and this run carries its counters on.
	if prev, err := getJSON[autoStatus](ctx, c.barrier, autoStatusPrefix+cfg.Name); err == nil && prev != nil {
		start := st.LastStart
		*st = *prev
		st.LastStart = start
	}
	// The start is recorded first, so a new active node schedules the
	// next snapshot from it even if this node dies midway.
	if err := putJSON(ctx, c.barrier, autoStatusPrefix+cfg.Name, st); err != nil {
		c.logger.Warn("automated snapshot: recording its start", "config", cfg.Name, "error", err)
	}
	err := func() error {
		tgt, err := cfg.target(ctx, c.snapshotSpoolDir())
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
		c.logger.Warn("automated snapshot failed", "config", cfg.Name, "error", err)
	} else {
		st.ConsecutiveErrors = 0
		c.logger.Info("automated snapshot taken", "config", cfg.Name, "url", st.LastURL, "bytes", st.LastSize)
	}
	if perr := putJSON(context.WithoutCancel(ctx), c.barrier, autoStatusPrefix+cfg.Name, st); perr != nil && !errors.Is(perr, barrier.ErrSealed) {
		c.logger.Warn("automated snapshot: recording status", "config", cfg.Name, "error", perr)
	}
}
