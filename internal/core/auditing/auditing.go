package auditing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"

	"github.com/strongbox/strongbox/internal/audit"
	"github.com/strongbox/strongbox/internal/core/mount"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
)

// Storage layout in the barrier.
const (
	tableKey   = "core/audit/"
	saltPrefix = "sys/audit/"
)

// Config is what the room is built with.
type Config struct {
	// Storage is the barrier.
	Storage physical.Backend
	// Factories are the audit device types.
	Factories map[string]audit.Factory
	Logger    *slog.Logger
	Policy    Policy
}

// Policy is what the server configuration says about audit devices.
type Policy struct {
	// Declared are the devices of the configuration's audit stanzas: Load
	// adds each one missing from the audit table, and brings one whose
	// type, description, options or local flag changed in line.
	Declared []Declared
	// DisableAPICreation refuses POST sys/audit/:path (400), so devices
	// that write to files and sockets of the server's choosing come only
	// from its configuration. Disabling through the API still works.
	DisableAPICreation bool
}

// Declared is one configured device: the parameters of POST
// sys/audit/:path.
type Declared struct {
	Type, Path, Description string
	Local                   bool
	Options                 map[string]string
}

// Room is the audit room. Load and Close run under the kernel's state
// lock held for writing; the paths and Broker during requests.
type Room struct {
	conf   Config
	table  *mount.Table
	broker *audit.Broker
}

// New returns the room; Load opens its devices.
func New(conf Config) *Room {
	if conf.Logger == nil {
		conf.Logger = slog.New(slog.DiscardHandler)
	}
	return &Room{conf: conf}
}

// Load reads the audit table and opens every device in it.
func (r *Room) Load(ctx context.Context) error {
	table, err := mount.LoadTable(ctx, r.conf.Storage, tableKey)
	if err != nil {
		return err
	}
	if err := r.declare(ctx, table); err != nil {
		return err
	}
	broker := audit.NewBroker(r.conf.Logger)
	for _, me := range table.List() {
		dev, conf, err := r.open(ctx, me)
		if err == nil {
			err = broker.Register(me.Path, dev, conf)
		}
		if err != nil {
			broker.Close()
			return fmt.Errorf("audit device %s: %w", me.Path, err)
		}
	}
	r.table, r.broker = table, broker
	return nil
}

// declare brings the table in line with the configured devices.
func (r *Room) declare(ctx context.Context, table *mount.Table) error {
	for _, d := range r.conf.Policy.Declared {
		path, err := mount.NormalizePath(d.Path)
		if err != nil {
			return fmt.Errorf("audit stanza %q: %w", d.Path, err)
		}
		if _, ok := r.conf.Factories[d.Type]; !ok {
			return fmt.Errorf("audit stanza %q: unknown audit device type %q", d.Path, d.Type)
		}
		opts := maps.Clone(d.Options)
		if opts == nil {
			opts = map[string]string{}
		}
		me := table.Find(path)
		if me != nil && me.Type == d.Type && me.Description == d.Description && me.Local == d.Local && maps.Equal(me.Options, opts) {
			continue
		}
		next := &mount.Entry{Path: path, Type: d.Type, Description: d.Description, Options: opts, Local: d.Local, UUID: newUUID()}
		if me != nil {
			// Same device, new settings: keep its UUID and so its salt.
			cp := *me
			cp.Type, cp.Description, cp.Options, cp.Local = d.Type, d.Description, opts, d.Local
			next = &cp
		}
		if err := table.Save(ctx, next); err != nil {
			return fmt.Errorf("audit stanza %q: %w", d.Path, err)
		}
		r.conf.Logger.Info("audit device from the configuration", "path", path, "type", d.Type)
	}
	return nil
}

// Close closes the devices; it is safe on a room never loaded.
func (r *Room) Close() {
	if r.broker != nil {
		r.broker.Close()
	}
	r.table, r.broker = nil, nil
}

// Broker is the loaded devices' broker, nil when not loaded.
func (r *Room) Broker() *audit.Broker { return r.broker }

func (r *Room) open(ctx context.Context, me *mount.Entry) (audit.Device, *audit.DeviceConfig, error) {
	f, ok := r.conf.Factories[me.Type]
	if !ok {
		return nil, nil, logical.BadRequest("unknown audit backend type: %s", me.Type)
	}
	conf := &audit.DeviceConfig{
		Path:        me.Path,
		Options:     me.Options,
		SaltStorage: mount.NewView(r.conf.Storage, saltPrefix+me.UUID+"/"),
		Logger:      r.conf.Logger.With("audit", me.Path),
	}
	dev, err := f(ctx, conf)
	return dev, conf, err
}

// Paths serve sys/audit, sys/audit/<path> and sys/audit-hash/<path>.
func (r *Room) Paths() []*logical.Path {
	str := func(desc string) *logical.FieldSchema {
		return &logical.FieldSchema{Type: logical.TypeString, Description: desc}
	}
	return []*logical.Path{
		{
			Pattern:    "audit",
			Operations: map[logical.Operation]logical.OperationFunc{logical.ReadOperation: r.list},
		},
		{
			Pattern: "audit/(?P<path>.+)",
			Fields: map[string]*logical.FieldSchema{
				"path": str("device path"), "type": str("device type"), "description": str("description"),
				"options": {Type: logical.TypeKVPairs}, "local": {Type: logical.TypeBool},
			},
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.UpdateOperation: r.enable,
				logical.DeleteOperation: r.disable,
			},
		},
		{
			Pattern: "audit-hash/(?P<path>.+)",
			Fields:  map[string]*logical.FieldSchema{"path": str("device path"), "input": str("value to hash")},
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.UpdateOperation: r.hash,
			},
		},
	}
}

func (r *Room) list(context.Context, *logical.Request, *logical.FieldData) (*logical.Response, error) {
	data := map[string]any{}
	for _, e := range r.table.List() {
		data[e.Path] = map[string]any{
			"type": e.Type, "description": e.Description, "options": e.Options,
			"path": e.Path, "local": e.Local,
		}
	}
	return &logical.Response{Data: data}, nil
}

func (r *Room) hash(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	path, err := mount.NormalizePath(d.Get("path").(string))
	if err != nil {
		return nil, err
	}
	if r.table.Find(path) == nil {
		return nil, logical.BadRequest("unknown audit backend %s", path)
	}
	h, err := r.broker.Hash(ctx, path, d.Get("input").(string))
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"hash": h}}, nil
}

func (r *Room) enable(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	if r.conf.Policy.DisableAPICreation {
		return nil, logical.BadRequest("enabling audit devices through the API is disabled by the server configuration (disable_api_audit_creation): declare the device in an audit stanza")
	}
	path, err := mount.NormalizePath(d.Get("path").(string))
	if err != nil {
		return nil, err
	}
	typ := d.Get("type").(string)
	if typ == "" {
		return nil, logical.BadRequest("type is required")
	}
	if r.table.Find(path) != nil {
		return nil, logical.BadRequest("path already in use")
	}
	me := &mount.Entry{
		Path: path, Type: typ, Description: d.Get("description").(string), UUID: newUUID(),
		Options: d.Get("options").(map[string]string), Local: d.Get("local").(bool),
	}
	dev, conf, err := r.open(ctx, me)
	if err != nil {
		if errors.Is(err, audit.ErrInvalidConfig) {
			return nil, logical.BadRequest("%v", err)
		}
		var ce *logical.CodedError
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, logical.BadRequest("audit device %q: %v", path, err)
	}
	if err := testWrite(ctx, dev, me.Options); err != nil {
		_ = dev.Close()
		return nil, logical.BadRequest("audit device %q failed its test write (set skip_test=true to enable it anyway): %v", path, err)
	}
	if err := r.broker.Register(path, dev, conf); err != nil {
		_ = dev.Close()
		return nil, err
	}
	if err := r.table.Save(ctx, me); err != nil {
		_ = r.broker.Deregister(path)
		return nil, err
	}
	r.conf.Logger.Info("enabled audit device", "path", path, "type", typ)
	return nil, nil
}

func (r *Room) disable(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	path, err := mount.NormalizePath(d.Get("path").(string))
	if err != nil {
		return nil, err
	}
	me := r.table.Find(path)
	if me == nil {
		return nil, nil
	}
	if err := r.table.Remove(ctx, me.UUID); err != nil {
		return nil, err
	}
	if err := r.broker.Deregister(path); err != nil {
		r.conf.Logger.Warn("closing audit device failed", "path", path, "error", err)
	}
	if err := mount.NewView(r.conf.Storage, saltPrefix+me.UUID+"/").Clear(ctx); err != nil {
		r.conf.Logger.Warn("clearing audit salt failed", "path", path, "error", err)
	}
	r.conf.Logger.Info("disabled audit device", "path", path)
	return nil, nil
}

// testWrite writes the request entry of a "sys/audit/test" request, as
// Vault does when a device is enabled, unless options set skip_test: a
// device whose sink fails is then refused up front, and skip_test lets an
// operator enable it anyway beside a healthy one.
func testWrite(ctx context.Context, dev audit.Device, opts map[string]string) error {
	if v, ok := opts["skip_test"]; ok {
		skip, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("unable to parse \"skip_test\" %q: not a boolean", v)
		}
		if skip {
			return nil
		}
	}
	return dev.LogRequest(ctx, &audit.LogInput{Request: &logical.Request{
		Operation: logical.UpdateOperation, Path: "sys/audit/test",
	}})
}

func newUUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux; a broken RNG must not go unnoticed
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
