package expiration

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// RootPaths are the sys/ paths that need sudo (Vault's list).
var RootPaths = []string{
	"leases/revoke-prefix/*", "leases/revoke-force/*", "leases/lookup/*",
	"revoke-prefix/*", "revoke-force/*",
}

// Paths are the sys/leases endpoints and their legacy names, relative to
// sys/.
func (m *Manager) Paths() []*logical.Path {
	leaseID := &logical.FieldSchema{Type: logical.TypeString, Description: "The lease identifier"}
	urlLeaseID := &logical.FieldSchema{Type: logical.TypeString, Description: "The lease identifier (in the URL)"}
	increment := &logical.FieldSchema{Type: logical.TypeDurationSecond, Description: "The requested extension of the lease, in seconds"}
	sync := &logical.FieldSchema{Type: logical.TypeBool, Default: true, Description: "Revoke before answering (false: in the background)"}
	prefix := &logical.FieldSchema{Type: logical.TypeString, Description: "The lease id prefix"}
	update := logical.UpdateOperation
	renewFields := map[string]*logical.FieldSchema{"lease_id": leaseID, "url_lease_id": urlLeaseID, "increment": increment}
	revokeFields := map[string]*logical.FieldSchema{"lease_id": leaseID, "url_lease_id": urlLeaseID, "sync": sync}
	prefixFields := map[string]*logical.FieldSchema{"prefix": prefix, "sync": sync}
	ops := func(f logical.OperationFunc) map[logical.Operation]logical.OperationFunc {
		return map[logical.Operation]logical.OperationFunc{update: f}
	}
	var paths []*logical.Path
	for _, base := range []string{"leases/", ""} {
		paths = append(paths,
			&logical.Path{Pattern: base + "renew" + optionalID, Fields: renewFields, Operations: ops(m.handleRenew), HelpSynopsis: "Renew a lease."},
			&logical.Path{Pattern: base + "revoke" + optionalID, Fields: revokeFields, Operations: ops(m.handleRevoke), HelpSynopsis: "Revoke a lease."},
			&logical.Path{Pattern: base + "revoke-prefix/(?P<prefix>.+)", Fields: prefixFields, Operations: ops(m.handleRevokePrefix(false)), HelpSynopsis: "Revoke every lease under a prefix (sudo)."},
			&logical.Path{Pattern: base + "revoke-force/(?P<prefix>.+)", Fields: prefixFields, Operations: ops(m.handleRevokePrefix(true)), HelpSynopsis: "Delete every lease under a prefix, even when its engine fails to revoke it (sudo)."},
		)
	}
	paths = append(paths,
		&logical.Path{
			Pattern:      "leases/lookup",
			Fields:       map[string]*logical.FieldSchema{"lease_id": leaseID},
			Operations:   ops(m.handleLookup),
			HelpSynopsis: "Look up a lease.",
		},
		&logical.Path{
			Pattern:      "leases/lookup/(?P<prefix>.*)",
			Fields:       map[string]*logical.FieldSchema{"prefix": prefix},
			Operations:   map[logical.Operation]logical.OperationFunc{logical.ListOperation: m.handleList},
			HelpSynopsis: "List lease ids under a prefix (sudo).",
		},
		&logical.Path{
			Pattern:      "leases/tidy",
			Operations:   ops(m.handleTidy),
			HelpSynopsis: "Drop the leases of tokens that no longer exist.",
		},
		&logical.Path{
			Pattern: "leases/count",
			Fields: map[string]*logical.FieldSchema{
				"type":                     {Type: logical.TypeString, Description: "Type of leases to count: irrevocable"},
				"include_child_namespaces": {Type: logical.TypeBool, Description: "Accepted; there are no child namespaces"},
			},
			Operations:   map[logical.Operation]logical.OperationFunc{logical.ReadOperation: m.handleCount},
			HelpSynopsis: "Count irrevocable leases.",
		},
		&logical.Path{
			Pattern: "leases/?",
			Fields: map[string]*logical.FieldSchema{
				"type":                     {Type: logical.TypeString, Description: "Type of leases to list: irrevocable"},
				"include_child_namespaces": {Type: logical.TypeBool, Description: "Accepted; there are no child namespaces"},
				"limit":                    {Type: logical.TypeString, Default: "10000", Description: "Most leases to show, or \"none\""},
			},
			Operations:   map[logical.Operation]logical.OperationFunc{logical.ReadOperation: m.handleListIrrevocable},
			HelpSynopsis: "List irrevocable leases.",
		},
	)
	return paths
}

const optionalID = "(?:/(?P<url_lease_id>.+))?"

// idOf takes the lease id from the URL, else from the body.
func idOf(d *logical.FieldData) (string, error) {
	id := d.Get("url_lease_id").(string)
	if id == "" {
		id = d.Get("lease_id").(string)
	}
	id = strings.TrimLeft(id, "/")
	if id == "" {
		return "", logical.BadRequest("lease_id must be specified")
	}
	return id, nil
}

func (m *Manager) handleLookup(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	id := strings.TrimLeft(d.Get("lease_id").(string), "/")
	if id == "" {
		return nil, logical.BadRequest("missing lease id")
	}
	l, err := m.Lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	now := m.now()
	var last any
	if !l.LastRenewal.IsZero() {
		last = l.LastRenewal.Format(time.RFC3339Nano)
	}
	return &logical.Response{Data: map[string]any{
		"id":           l.ID,
		"issue_time":   l.IssueTime.Format(time.RFC3339Nano),
		"expire_time":  l.ExpireTime.Format(time.RFC3339Nano),
		"last_renewal": last,
		"renewable":    l.Renewable(),
		"ttl":          int64(l.ExpireTime.Sub(now) / time.Second),
	}}, nil
}

func (m *Manager) handleList(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	prefix := strings.TrimLeft(d.Get("prefix").(string), "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	keys, err := m.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

func (m *Manager) handleRenew(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	id, err := idOf(d)
	if err != nil {
		return nil, err
	}
	return m.Renew(ctx, id, time.Duration(d.Get("increment").(int))*time.Second)
}

func (m *Manager) handleRevoke(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	id, err := idOf(d)
	if err != nil {
		return nil, err
	}
	if !d.Get("sync").(bool) {
		if err := m.RevokeLater(ctx, id); err != nil {
			return nil, err
		}
		return &logical.Response{RawStatus: http.StatusAccepted}, nil
	}
	if err := m.Revoke(ctx, id); err != nil {
		if st, _ := logical.StatusOf(err); st < http.StatusInternalServerError {
			return nil, err
		}
		return nil, logical.BadRequest("failed to revoke lease %q: %v", id, err)
	}
	return nil, nil
}

func (m *Manager) handleRevokePrefix(force bool) logical.OperationFunc {
	return func(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		n, err := m.RevokePrefix(ctx, d.Get("prefix").(string), force)
		if err != nil {
			return nil, err
		}
		m.conf.Logger.Info("revoked leases by prefix", "prefix", d.Get("prefix"), "force", force, "revoked", n)
		return nil, nil
	}
}

func (m *Manager) handleTidy(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
	if _, _, err := m.Tidy(ctx); err != nil {
		return nil, err
	}
	resp := &logical.Response{}
	resp.AddWarning("Tidy operation successfully completed.")
	return resp, nil
}

func irrevocableOnly(d *logical.FieldData) error {
	if t := strings.ToLower(d.Get("type").(string)); t != "irrevocable" {
		return logical.BadRequest("invalid or missing lease type %q: only \"irrevocable\" is supported", t)
	}
	return nil
}

func (m *Manager) handleCount(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	if err := irrevocableOnly(d); err != nil {
		return nil, err
	}
	ls, err := m.Irrevocable(ctx)
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, l := range ls {
		counts[l.MountAccessor]++
	}
	return &logical.Response{Data: map[string]any{"lease_count": len(ls), "counts": counts}}, nil
}

func (m *Manager) handleListIrrevocable(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	if err := irrevocableOnly(d); err != nil {
		return nil, err
	}
	limit := -1
	if s := d.Get("limit").(string); s != "none" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return nil, logical.BadRequest("invalid limit %q: a positive number or \"none\"", s)
		}
		limit = n
	}
	ls, err := m.Irrevocable(ctx)
	if err != nil {
		return nil, err
	}
	resp := &logical.Response{}
	if limit >= 0 && len(ls) > limit {
		resp.AddWarning("showing " + strconv.Itoa(limit) + " of " + strconv.Itoa(len(ls)) + " irrevocable leases; set limit=none to see them all")
		ls = ls[:limit]
	}
	leases := make([]map[string]any, 0, len(ls))
	for _, l := range ls {
		leases = append(leases, map[string]any{
			"lease_id":    l.ID,
			"mount_id":    l.MountAccessor,
			"error":       l.LastError,
			"expire_time": l.ExpireTime.Format(time.RFC3339Nano),
		})
	}
	resp.Data = map[string]any{"leases": leases, "lease_count": len(leases)}
	return resp, nil
}
