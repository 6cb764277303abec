package core

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func (c *Core) routeFor(path string, auth bool) (*route, *MountEntry, error) {
	p, err := normalizeMountPath(path)
	if err != nil {
		return nil, nil, err
	}
	if auth {
		p = strings.TrimPrefix(p, "auth/")
	}
	me := c.table(auth).find(p)
	if me == nil {
		return nil, nil, logical.BadRequest("cannot fetch sysview for path %q: no mount found", path)
	}
	mount := p
	if auth {
		mount = "auth/" + p
	}
	rt, _ := c.router.match(mount)
	return rt, me, nil
}

func (c *Core) tuneRead(auth bool) logical.OperationFunc {
	return func(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		_, me, err := c.routeFor(d.Get("path").(string), auth)
		if err != nil {
			return nil, err
		}
		cfg := me.logicalConfig(c.conf.DefaultLeaseTTL, c.conf.MaxLeaseTTL)
		data := map[string]any{
			"default_lease_ttl": int64(cfg.DefaultLeaseTTL / time.Second),
			"max_lease_ttl":     int64(cfg.MaxLeaseTTL / time.Second),
			"force_no_cache":    me.Config.ForceNoCache,
			"description":       me.Description,
		}
		if me.Options != nil {
			data["options"] = me.Options
		}
		if me.Config.ListingVisibility != "" {
			data["listing_visibility"] = me.Config.ListingVisibility
		}
		for k, v := range map[string][]string{
			"audit_non_hmac_request_keys":  me.Config.AuditNonHMACRequestKeys,
			"audit_non_hmac_response_keys": me.Config.AuditNonHMACResponseKeys,
			"passthrough_request_headers":  me.Config.PassthroughRequestHeaders,
			"allowed_response_headers":     me.Config.AllowedResponseHeaders,
		} {
			if len(v) > 0 {
				data[k] = v
			}
		}
		return &logical.Response{Data: data}, nil
	}
}

func (c *Core) tuneWrite(auth bool) logical.OperationFunc {
	return func(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		rt, me, err := c.routeFor(d.Get("path").(string), auth)
		if err != nil {
			return nil, err
		}
		next := *me
		next.Config = me.Config
		raw := map[string]any{}
		for _, k := range []string{"default_lease_ttl", "max_lease_ttl", "listing_visibility", "force_no_cache",
			"audit_non_hmac_request_keys", "audit_non_hmac_response_keys",
			"passthrough_request_headers", "allowed_response_headers"} {
			v, ok := req.Data[k]
			if !ok || v == nil {
				continue
			}
			// As in Vault, "" leaves a setting alone and "system" resets
			// a TTL to the system default.
			if str, isStr := v.(string); isStr {
				if str == "" {
					continue
				}
				if str == "system" && (k == "default_lease_ttl" || k == "max_lease_ttl") {
					v = "0"
				}
			}
			raw[k] = v
		}
		delta, err := parseMountConfig(raw)
		if err != nil {
			return nil, err
		}
		if _, ok := raw["default_lease_ttl"]; ok {
			next.Config.DefaultLeaseTTL = delta.DefaultLeaseTTL
		}
		if _, ok := raw["max_lease_ttl"]; ok {
			next.Config.MaxLeaseTTL = delta.MaxLeaseTTL
		}
		if _, ok := raw["listing_visibility"]; ok {
			next.Config.ListingVisibility = delta.ListingVisibility
		}
		if _, ok := raw["force_no_cache"]; ok {
			next.Config.ForceNoCache = delta.ForceNoCache
		}
		for k, dst := range map[string]*[]string{
			"audit_non_hmac_request_keys":  &next.Config.AuditNonHMACRequestKeys,
			"audit_non_hmac_response_keys": &next.Config.AuditNonHMACResponseKeys,
			"passthrough_request_headers":  &next.Config.PassthroughRequestHeaders,
			"allowed_response_headers":     &next.Config.AllowedResponseHeaders,
		} {
			if v, ok := d.GetOk(k); ok {
				*dst = v.([]string)
			}
		}
		eff := next.logicalConfig(c.conf.DefaultLeaseTTL, c.conf.MaxLeaseTTL)
		if eff.DefaultLeaseTTL > eff.MaxLeaseTTL {
			return nil, logical.BadRequest("default_lease_ttl cannot exceed max_lease_ttl")
		}
		if eff.MaxLeaseTTL > c.conf.MaxLeaseTTL {
			return nil, logical.BadRequest("max_lease_ttl cannot exceed the system maximum of %s", c.conf.MaxLeaseTTL)
		}
		if v, ok := d.GetOk("description"); ok {
			next.Description = v.(string)
		}
		if v, ok := d.GetOk("options"); ok {
			opts := map[string]string{}
			for k, val := range me.Options {
				opts[k] = val
			}
			for k, val := range v.(map[string]string) {
				if k == "version" && val != me.Options["version"] && !(val == "1" && me.Options["version"] == "") {
					return nil, logical.BadRequest("changing the kv version of a mount is not supported; mount a new kv-v2 engine and copy the data")
				}
				opts[k] = val
			}
			next.Options = opts
		}
		if err := c.saveEntry(ctx, c.table(auth), &next); err != nil {
			return nil, err
		}
		updated := *rt
		updated.entry = &next
		c.router.add(&updated)
		return nil, nil
	}
}

// migrations remembers remount results for sys/remount/status; moves are
// done synchronously (data is named by the mount's UUID, not its path).
type migrations struct {
	mu   sync.Mutex
	info map[string]map[string]any
}

func (c *Core) remount(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	from, err := normalizeMountPath(d.Get("from").(string))
	if err != nil {
		return nil, logical.BadRequest("from: %v", err)
	}
	to, err := normalizeMountPath(d.Get("to").(string))
	if err != nil {
		return nil, logical.BadRequest("to: %v", err)
	}
	auth := strings.HasPrefix(from, "auth/")
	if auth != strings.HasPrefix(to, "auth/") {
		return nil, logical.BadRequest("cannot move a mount between secrets and auth")
	}
	if auth {
		from, to = strings.TrimPrefix(from, "auth/"), strings.TrimPrefix(to, "auth/")
	} else {
		for _, p := range reservedPrefixes {
			if strings.HasPrefix(to, p) {
				return nil, logical.BadRequest("cannot remount to %q: %q is reserved", to, p)
			}
		}
	}
	t := c.table(auth)
	me := t.find(from)
	if me == nil {
		return nil, logical.BadRequest("no matching mount at %q", from)
	}
	if me.Type == "system" || me.Type == "cubbyhole" || me.Type == "token" || me.Type == "identity" {
		return nil, logical.BadRequest("cannot remount %q", from)
	}
	others := make([]*MountEntry, 0)
	for _, e := range t.list() {
		if e.Path != from {
			others = append(others, e)
		}
	}
	if other := conflict(&mountTable{entries: others}, to); other != nil {
		return nil, logical.BadRequest("path already in use at %q", other.Path)
	}
	moved := *me
	moved.Path = to
	if err := c.saveEntry(ctx, t, &moved); err != nil {
		return nil, err
	}
	oldMount, newMount := from, to
	if auth {
		oldMount, newMount = "auth/"+from, "auth/"+to
	}
	if rt := c.router.remove(oldMount); rt != nil {
		next := *rt
		next.entry, next.mount = &moved, newMount
		c.router.add(&next)
	}
	id := newUUID()
	c.migrations.mu.Lock()
	if c.migrations.info == nil {
		c.migrations.info = map[string]map[string]any{}
	}
	c.migrations.info[id] = map[string]any{"source_mount": oldMount, "target_mount": newMount, "status": "success"}
	c.migrations.mu.Unlock()
	c.logger.Info("moved mount", "from", oldMount, "to", newMount)
	return &logical.Response{Data: map[string]any{"migration_id": id}}, nil
}

func (c *Core) remountStatus(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	id := d.Get("migration_id").(string)
	c.migrations.mu.Lock()
	info, ok := c.migrations.info[id]
	c.migrations.mu.Unlock()
	if !ok {
		return nil, nil
	}
	return &logical.Response{Data: map[string]any{"migration_id": id, "migration_info": info}}, nil
}
