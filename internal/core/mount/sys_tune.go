package mount

import (
	"cmp"
	"context"
	"maps"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func (m *Mounts) routeFor(path string, auth bool) (*Route, *Entry, error) {
	p, err := NormalizePath(path)
	if err != nil {
		return nil, nil, err
	}
	if auth {
		p = strings.TrimPrefix(p, "auth/")
	}

	me := m.table(auth).Find(p)
	if me == nil {
		return nil, nil, logical.BadRequest("cannot fetch sysview for path %q: no mount found", path)
	}
	mount := p
	if auth {
		mount = "auth/" + p
	}
	rt, _ := m.router.Match(mount)
	return rt, me, nil
}

// tuneTarget is the mount a tune names: as in Vault,
// sys/mounts/auth/<path>/tune tunes the auth mount at <path> (what the
// official client's TuneMount("auth/<path>") sends).
func tuneTarget(d *logical.FieldData, auth bool) (string, bool) {
	path := d.Get("path").(string)
	if !auth && strings.HasPrefix(strings.TrimLeft(path, "/"), "auth/") {
		return path, true
	}
	return path, auth
}

func (m *Mounts) tuneRead(isAuth bool) logical.OperationFunc {
	return func(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		path, auth := tuneTarget(d, isAuth)
		_, me, err := m.routeFor(path, auth)
		if err != nil {
			return nil, err
		}
		cfg := me.LogicalConfig(m.opts.DefaultLeaseTTL, m.opts.MaxLeaseTTL)
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
		if auth {
			data["token_type"] = cmp.Or(me.Config.TokenType, TokenTypeDefaultService)
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
		if me.Config.UserLockout != nil {
			maps.Copy(data, userLockoutInfo(me.Config.UserLockout))
		}
		return &logical.Response{Data: data}, nil
	}
}

func (m *Mounts) tuneWrite(isAuth bool) logical.OperationFunc {
	return func(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		path, auth := tuneTarget(d, isAuth)
		rt, me, err := m.routeFor(path, auth)
		if err != nil {
			return nil, err
		}
		next := *me
		next.Config = me.Config
		raw := map[string]any{}
		for _, k := range []string{"default_lease_ttl", "max_lease_ttl", "listing_visibility", "force_no_cache",
			"audit_non_hmac_request_keys", "audit_non_hmac_response_keys",
			"passthrough_request_headers", "allowed_response_headers", "token_type", "user_lockout_config"} {
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
		lockoutRaw, tuneLockout := raw["user_lockout_config"]
		delete(raw, "user_lockout_config")
		delta, err := parseConfig(raw)
		if err != nil {
			return nil, err
		}
		if tuneLockout {
			ul, err := parseUserLockout(lockoutRaw, me.Config.UserLockout)
			if err != nil {
				return nil, err
			}
			if err := checkUserLockout(ul, me.Type, auth); err != nil {
				return nil, err
			}
			if *ul == (UserLockoutConfig{}) {
				ul = nil
			}
			next.Config.UserLockout = ul
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
		if _, ok := raw["token_type"]; ok {
			switch {
			case !auth:
				return nil, logical.BadRequest("'token_type' can only be modified on auth mounts")
			case me.Type == "token":
				return nil, logical.BadRequest("'token_type' cannot be set for 'token' or 'ns_token' auth mounts")
			}
			next.Config.TokenType = delta.TokenType
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
		eff := next.LogicalConfig(m.opts.DefaultLeaseTTL, m.opts.MaxLeaseTTL)
		if eff.DefaultLeaseTTL > eff.MaxLeaseTTL {
			return nil, logical.BadRequest("default_lease_ttl cannot exceed max_lease_ttl")
		}
		if eff.MaxLeaseTTL > m.opts.MaxLeaseTTL {
			return nil, logical.BadRequest("max_lease_ttl cannot exceed the system maximum of %s", m.opts.MaxLeaseTTL)
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
		if err := m.table(auth).Save(ctx, &next); err != nil {
			return nil, err
		}
		updated := *rt
		updated.Entry = &next
		m.router.add(&updated)
		return nil, nil
	}
}
