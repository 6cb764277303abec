package mount

import (
	"context"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

var mountFields = map[string]*logical.FieldSchema{
	"path":                    str("mount path"),
	"type":                    str("engine type"),
	"description":             str("human-friendly description"),
	"config":                  {Type: logical.TypeMap},
	"options":                 {Type: logical.TypeKVPairs},
	"local":                   {Type: logical.TypeBool},
	"seal_wrap":               {Type: logical.TypeBool},
	"external_entropy_access": {Type: logical.TypeBool},
	"plugin_name":             str("deprecated alias of type"),
	"plugin_version":          str("plugin version"),
}

var tuneFields = map[string]*logical.FieldSchema{
	"path":                         str("mount path"),
	"default_lease_ttl":            {Type: logical.TypeString},
	"max_lease_ttl":                {Type: logical.TypeString},
	"description":                  {Type: logical.TypeString},
	"options":                      {Type: logical.TypeKVPairs},
	"listing_visibility":           {Type: logical.TypeString},
	"force_no_cache":               {Type: logical.TypeBool},
	"audit_non_hmac_request_keys":  {Type: logical.TypeCommaStringSlice},
	"audit_non_hmac_response_keys": {Type: logical.TypeCommaStringSlice},
	"passthrough_request_headers":  {Type: logical.TypeCommaStringSlice},
	"allowed_response_headers":     {Type: logical.TypeCommaStringSlice},
}

func (m *Mounts) mountPaths() []*logical.Path {
	return []*logical.Path{
		{
			Pattern: "mounts",
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation: func(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
					return &logical.Response{Data: mountsData(m.mounts.List())}, nil
				},
			},
		},
		{
			Pattern: "mounts/(?P<path>.+?)/tune",
			Fields:  tuneFields,
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation:   m.tuneRead(false),
				logical.UpdateOperation: m.tuneWrite(false),
			},
		},
		{
			Pattern: "mounts/(?P<path>.+)",
			Fields:  mountFields,
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation:   m.mountRead(false),
				logical.UpdateOperation: m.mountEnable(false),
				logical.DeleteOperation: m.mountDisable(false),
			},
		},
		{
			Pattern: "remount",
			Fields:  map[string]*logical.FieldSchema{"from": str("source"), "to": str("destination")},
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.UpdateOperation: m.remount,
			},
		},
		{
			Pattern: "remount/status/(?P<migration_id>.+)",
			Fields:  map[string]*logical.FieldSchema{"migration_id": str("migration id")},
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation: m.remountStatus,
			},
		},
	}
}

func mountsData(entries []*Entry) map[string]any {
	out := make(map[string]any, len(entries))
	for _, e := range entries {
		out[e.Path] = mountInfo(e)
	}
	return out
}

func mountInfo(e *Entry) map[string]any {
	opts := e.Options
	if opts == nil && e.Type == "kv" {
		opts = map[string]string{}
	}
	cfg := map[string]any{
		"default_lease_ttl": int64(e.Config.DefaultLeaseTTL / time.Second),
		"max_lease_ttl":     int64(e.Config.MaxLeaseTTL / time.Second),
		"force_no_cache":    e.Config.ForceNoCache,
	}
	if e.Config.ListingVisibility != "" {
		cfg["listing_visibility"] = e.Config.ListingVisibility
	}
	if e.Config.TokenType != "" {
		cfg["token_type"] = e.Config.TokenType
	}
	if len(e.Config.AuditNonHMACRequestKeys) > 0 {
		cfg["audit_non_hmac_request_keys"] = e.Config.AuditNonHMACRequestKeys
	}
	if len(e.Config.AuditNonHMACResponseKeys) > 0 {
		cfg["audit_non_hmac_response_keys"] = e.Config.AuditNonHMACResponseKeys
	}
	if e.Config.UserLockout != nil {
		cfg["user_lockout_config"] = userLockoutInfo(e.Config.UserLockout)
	}
	var optsOut any = opts
	if opts == nil {
		optsOut = nil
	}
	return map[string]any{
		"type":                    e.Type,
		"description":             e.Description,
		"accessor":                e.Accessor,
		"uuid":                    e.UUID,
		"config":                  cfg,
		"options":                 optsOut,
		"local":                   e.Local,
		"seal_wrap":               e.SealWrap,
		"external_entropy_access": e.ExternalEntropyAccess,
		"plugin_version":          "",
		"running_plugin_version":  "v" + "1.0.0+builtin",
		"running_sha256":          "",
		"deprecation_status":      "supported",
	}
}

func (m *Mounts) mountRead(auth bool) logical.OperationFunc {
	return func(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		path, err := NormalizePath(d.Get("path").(string))
		if err != nil {
			return nil, err
		}
		e := m.table(auth).Find(path)
		if e == nil {
			return nil, logical.BadRequest("No secret engine mount at %s", path)
		}
		return &logical.Response{Data: m.storagePathsInfo(mountInfo(e), path, auth)}, nil
	}
}

// reservedPrefixes may not hold secret engines: they are the system's.
var reservedPrefixes = []string{"sys/", "auth/", "cubbyhole/", "identity/", "audit/"}

func (m *Mounts) mountEnable(auth bool) logical.OperationFunc {
	return func(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		path, err := NormalizePath(d.Get("path").(string))
		if err != nil {
			return nil, err
		}
		typ := d.Get("type").(string)
		if typ == "" {
			typ = d.Get("plugin_name").(string)
		}
		if typ == "" {
			return nil, logical.BadRequest("backend type must be specified as a string")
		}
		opts := d.Get("options").(map[string]string)
		if typ == "kv-v2" {
			typ = "kv"
			opts["version"] = "2"
		}
		if !auth {
			for _, p := range reservedPrefixes {
				if strings.HasPrefix(path, p) {
					return nil, logical.BadRequest("cannot mount %q: %q is reserved", path, p)
				}
			}
		} else if typ == "token" {
			return nil, logical.BadRequest("token credential backend cannot be instantiated")
		}
		cfg, err := parseConfig(d.Get("config").(map[string]any))
		if err != nil {
			return nil, err
		}
		if err := checkUserLockout(cfg.UserLockout, typ, auth); err != nil {
			return nil, err
		}
		switch {
		case !auth && cfg.TokenType != "":
			return nil, logical.BadRequest("'token_type' can only be set on auth mounts")
		case auth && cfg.TokenType == "":
			cfg.TokenType = TokenTypeDefaultService
		}
		if typ == "kv" {
			switch opts["version"] {
			case "", "1", "2":
			default:
				return nil, logical.BadRequest("invalid kv version %q: must be 1 or 2", opts["version"])
			}
		}
		if len(opts) == 0 {
			opts = nil
		}
		// Accepted flags must do something: seal wrapping needs a seal that
		// wraps engine entries (Strongbox's wraps only the root key) and
		// external entropy needs an entropy source; neither exists.
		if d.Get("seal_wrap").(bool) {
			return nil, logical.BadRequest("seal_wrap is not supported: the seal protects only the root key; mount entries are protected by the barrier")
		}
		if d.Get("external_entropy_access").(bool) {
			return nil, logical.BadRequest("external_entropy_access is not supported: no external entropy source is configured")
		}
		prefix := "mount"
		if auth {
			prefix = "auth"
		}
		me := &Entry{
			Path: path, Type: typ, Description: d.Get("description").(string),
			UUID: newUUID(), Accessor: randomAccessor(prefix + "_" + typ), Config: cfg, Options: opts,
			Local: d.Get("local").(bool), SealWrap: d.Get("seal_wrap").(bool),
			ExternalEntropyAccess: d.Get("external_entropy_access").(bool),
		}
		if !auth {
			me.Accessor = randomAccessor(typ)
		}
		return nil, m.enable(ctx, me, auth)
	}
}

// TokenTypeDefaultService is an auth mount's token_type unless set:
// service tokens, unless the login asks for batch ones.
const TokenTypeDefaultService = "default-service"

func parseConfig(raw map[string]any) (Config, error) {
	var cfg Config
	for k, v := range raw {
		if v == nil {
			continue // null means not given
		}
		switch k {
		case "default_lease_ttl", "max_lease_ttl":
			dur, err := logical.ParseDuration(v)
			if err != nil {
				return cfg, logical.BadRequest("config.%s: %v", k, err)
			}
			if k == "default_lease_ttl" {
				cfg.DefaultLeaseTTL = dur
			} else {
				cfg.MaxLeaseTTL = dur
			}
		case "force_no_cache":
			b, ok := v.(bool)
			if !ok {
				return cfg, logical.BadRequest("config.force_no_cache must be a boolean")
			}
			cfg.ForceNoCache = b
		case "listing_visibility":
			s, _ := v.(string)
			if s != "" && s != "unauth" && s != "hidden" {
				return cfg, logical.BadRequest("invalid listing_visibility %q", s)
			}
			cfg.ListingVisibility = s
		case "audit_non_hmac_request_keys", "audit_non_hmac_response_keys",
			"passthrough_request_headers", "allowed_response_headers":
			list, err := stringList(v)
			if err != nil {
				return cfg, logical.BadRequest("config.%s: %v", k, err)
			}
			switch k {
			case "audit_non_hmac_request_keys":
				cfg.AuditNonHMACRequestKeys = list
			case "audit_non_hmac_response_keys":
				cfg.AuditNonHMACResponseKeys = list
			case "passthrough_request_headers":
				cfg.PassthroughRequestHeaders = list
			default:
				cfg.AllowedResponseHeaders = list
			}
		case "token_type":
			s, _ := v.(string)
			switch s {
			case "":
			case "default", TokenTypeDefaultService:
				cfg.TokenType = TokenTypeDefaultService
			case "default-batch", "service", "batch":
				cfg.TokenType = s
			default:
				return cfg, logical.BadRequest("invalid token_type %q", s)
			}
		case "user_lockout_config":
			if m, ok := v.(map[string]any); ok && len(m) == 0 {
				continue
			}
			ul, err := parseUserLockout(v, nil)
			if err != nil {
				return cfg, err
			}
			cfg.UserLockout = ul
		case "plugin_name", "options", "description":
			// Read by the mount request itself, not from config.
		default:
			return cfg, logical.BadRequest("unknown mount config key %q", k)
		}
	}
	if cfg.MaxLeaseTTL != 0 && cfg.DefaultLeaseTTL > cfg.MaxLeaseTTL {
		return cfg, logical.BadRequest("config.default_lease_ttl cannot exceed max_lease_ttl")
	}
	return cfg, nil
}

func stringList(v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil, nil
		}
		return strings.Split(x, ","), nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, logical.BadRequest("expected a list of strings")
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, logical.BadRequest("expected a list of strings")
}

// enable mounts me and persists the table; on any error nothing changed.
func (m *Mounts) enable(ctx context.Context, me *Entry, auth bool) error {
	t := m.table(auth)
	if other := conflict(t, me.Path); other != nil {
		kind := "path is already in use at " + other.Path
		return logical.BadRequest("%s", kind)
	}
	rt, err := m.instantiate(ctx, me, auth)
	if err != nil {
		return err
	}
	if err := t.Save(ctx, me); err != nil {
		rt.Backend.Cleanup(ctx)
		return err
	}
	m.router.add(rt)
	m.opts.Logger.Info("enabled mount", "path", rt.Mount, "type", me.Type)
	return nil
}

func (m *Mounts) mountDisable(auth bool) logical.OperationFunc {
	return func(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		path, err := NormalizePath(d.Get("path").(string))
		if err != nil {
			return nil, err
		}
		t := m.table(auth)
		me := t.Find(path)
		if me == nil {
			return nil, nil // Vault answers 204 for a missing mount
		}
		switch {
		case !auth && (me.Type == "system" || me.Type == "cubbyhole" || me.Type == "identity"):
			return nil, logical.BadRequest("cannot unmount %q", path)
		case auth && me.Type == "token":
			return nil, logical.BadRequest("token credential backend cannot be disabled")
		}
		mount := path
		if auth {
			mount = "auth/" + path
		}
		if err := m.host.RevokeLeases(ctx, mount); err != nil {
			return nil, logical.BadRequest("failed to revoke the leases of %q: %v", mount, err)
		}
		if err := t.Remove(ctx, me.UUID); err != nil {
			return nil, err
		}
		if rt := m.router.remove(mount); rt != nil {
			rt.Backend.Cleanup(ctx)
			if rt.Storage != nil {
				if err := rt.Storage.Clear(ctx); err != nil {
					m.opts.Logger.Warn("clearing data of disabled mount failed", "path", mount, "error", err)
				}
			}
		}
		m.opts.Logger.Info("disabled mount", "path", mount)
		return nil, nil
	}
}

// str builds a string field schema tersely.
func str(desc string) *logical.FieldSchema {
	return &logical.FieldSchema{Type: logical.TypeString, Description: desc}
}
