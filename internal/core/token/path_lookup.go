package token

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func (s *Store) handleLookup(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	tok := d.Get("token").(string)
	if tok == "" {
		tok = req.ClientToken
	}
	return s.lookupResponse(ctx, tok)
}

func (s *Store) handleLookupSelf(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	return s.lookupResponse(ctx, req.ClientToken)
}

func (s *Store) lookupResponse(ctx context.Context, tok string) (*logical.Response, error) {
	if tok == "" {
		return nil, logical.BadRequest("missing token ID")
	}
	e, err := s.Lookup(ctx, tok)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, logical.Errorf(http.StatusForbidden, "bad token")
	}
	return &logical.Response{Data: s.withIdentity(lookupData(e, tok, s.now()), e)}, nil
}

func (s *Store) handleLookupAccessor(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	acc := d.Get("accessor").(string)
	if acc == "" {
		return nil, logical.BadRequest("missing accessor")
	}
	e, err := s.LookupAccessor(ctx, acc)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, logical.BadRequest("invalid accessor")
	}
	return &logical.Response{Data: s.withIdentity(lookupData(e, "", s.now()), e)}, nil
}

// withIdentity adds the token's identity_policies to a lookup, when its
// entity gives it any (Vault omits the field otherwise).
func (s *Store) withIdentity(data map[string]any, e *Entry) map[string]any {
	if s.identityPolicies == nil || e.EntityID == "" {
		return data
	}
	if p := s.identityPolicies(e.EntityID); len(p) > 0 {
		data["identity_policies"] = p
	}
	return data
}

// lookupData is the data block of Vault's lookup responses. id is the raw
// token when the caller supplied it, "" for lookups by accessor.
func lookupData(e *Entry, id string, now time.Time) map[string]any {
	var meta any // Vault sends null, not {}, for a token without metadata
	if len(e.Meta) > 0 {
		meta = e.Meta
	}
	var expire any
	if !e.ExpireTime.IsZero() {
		expire = e.ExpireTime.Format(time.RFC3339Nano)
	}
	data := map[string]any{
		"accessor":         e.Accessor,
		"creation_time":    e.CreationTime.Unix(),
		"creation_ttl":     int64(e.TTL / time.Second),
		"display_name":     e.DisplayName,
		"entity_id":        e.EntityID,
		"expire_time":      expire,
		"explicit_max_ttl": int64(e.ExplicitMaxTTL / time.Second),
		"id":               id,
		"issue_time":       e.CreationTime.Format(time.RFC3339Nano),
		"meta":             meta,
		"num_uses":         e.NumUses,
		"orphan":           e.Parent == "",
		"path":             e.Path,
		"policies":         slices.Clone(e.Policies),
		"renewable":        e.Renewable && !e.ExpireTime.IsZero(),
		"ttl":              int64(e.RemainingTTL(now) / time.Second),
		"type":             e.Type,
	}
	if e.Period > 0 {
		data["period"] = int64(e.Period / time.Second)
	}
	if len(e.BoundCIDRs) > 0 {
		data["bound_cidrs"] = slices.Clone(e.BoundCIDRs)
	}
	if !e.LastRenewalTime.IsZero() {
		data["last_renewal_time"] = e.LastRenewalTime.Unix()
		data["last_renewal"] = e.LastRenewalTime.Format(time.RFC3339Nano)
	}
	return data
}

// handleListAccessors lists the accessors of valid tokens. The core lists
// "accessors*" as a root path; the check here keeps the backend safe alone.
func (s *Store) handleListAccessors(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	sudo, err := s.callerHasSudo(ctx, req)
	if err != nil {
		return nil, err
	}
	if !sudo {
		return nil, logical.ErrPermissionDenied
	}
	hashes, err := s.storage.List(ctx, accessorPrefix)
	if err != nil {
		return nil, err
	}
	now := s.now()
	resp := &logical.Response{}
	keys := make([]string, 0, len(hashes))
	for _, h := range hashes {
		se, err := s.storage.Get(ctx, accessorPrefix+h)
		if err != nil {
			return nil, err
		}
		if se == nil {
			continue
		}
		e, err := s.load(ctx, string(se.Value))
		if err != nil {
			// One bad entry must not hide the others (Vault warns too).
			resp.AddWarning("Found an accessor entry that could not be successfully decoded")
			continue
		}
		if e == nil || e.NumUses < 0 || e.Expired(now) {
			continue
		}
		keys = append(keys, e.Accessor)
	}
	slices.Sort(keys)
	resp.Data = map[string]any{"keys": keys}
	return resp, nil
}

// callerHasSudo reports req.Sudo, or whether the caller holds a root token
// (which Vault treats as sudo everywhere).
func (s *Store) callerHasSudo(ctx context.Context, req *logical.Request) (bool, error) {
	if req.Sudo {
		return true, nil
	}
	e, err := s.Lookup(ctx, req.ClientToken)
	return e != nil && e.IsRoot(), err
}
