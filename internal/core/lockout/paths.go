package lockout

import (
	"cmp"
	"context"
	"slices"

	"github.com/strongbox/strongbox/internal/logical"
)

// Paths are the room's sys/ endpoints.
func (m *Manager) Paths() []*logical.Path {
	return []*logical.Path{
		{
			Pattern: "locked-users",
			Fields: map[string]*logical.FieldSchema{
				"mount_accessor": {Type: logical.TypeString, Description: "Only the locked users of this auth mount."},
			},
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation: m.handleList,
				logical.ListOperation: m.handleList,
			},
			HelpSynopsis: "The users locked out after failed logins.",
		},
		{
			Pattern: `locked-users/(?P<mount_accessor>[^/]+)/unlock/(?P<alias_identifier>.+)`,
			Fields: map[string]*logical.FieldSchema{
				"mount_accessor":   {Type: logical.TypeString, Description: "The auth mount's accessor."},
				"alias_identifier": {Type: logical.TypeString, Description: "The alias: a username, an AppRole role ID."},
			},
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.UpdateOperation: m.handleUnlock,
			},
			HelpSynopsis: "Unlock a locked-out user.",
		},
	}
}

type mountLocked struct {
	accessor string
	aliases  []string
}

func (m *Manager) handleList(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	only := d.Get("mount_accessor").(string)
	if only != "" {
		if _, _, ok := m.host.AuthMount(only); !ok {
			return nil, logical.BadRequest("mount accessor %q not found", only)
		}
	}
	m.mu.Lock()
	if err := m.load(ctx); err != nil {
		m.mu.Unlock()
		return nil, err
	}
	now := m.conf.Now()
	byMount := map[string]*mountLocked{}
	for k, at := range m.locked {
		if only != "" && k.accessor != only {
			continue
		}
		typ, tuned, ok := m.host.AuthMount(k.accessor)
		if !ok {
			continue // the mount is gone
		}
		if s := m.SettingsFor(typ, tuned); !now.Before(at.Add(s.Duration)) {
			continue // expired: lifted at the next login
		}
		ml := byMount[k.accessor]
		if ml == nil {
			ml = &mountLocked{accessor: k.accessor}
			byMount[k.accessor] = ml
		}
		ml.aliases = append(ml.aliases, k.alias)
	}
	m.mu.Unlock()

	mounts := make([]*mountLocked, 0, len(byMount))
	total := 0
	for _, ml := range byMount {
		slices.Sort(ml.aliases)
		mounts = append(mounts, ml)
		total += len(ml.aliases)
	}
	// Most locked users first, as Vault orders them.
	slices.SortFunc(mounts, func(a, b *mountLocked) int {
		return cmp.Or(cmp.Compare(len(b.aliases), len(a.aliases)), cmp.Compare(a.accessor, b.accessor))
	})
	list := make([]map[string]any, 0, len(mounts))
	for _, ml := range mounts {
		list = append(list, map[string]any{
			"mount_accessor":    ml.accessor,
			"counts":            len(ml.aliases),
			"alias_identifiers": ml.aliases,
		})
	}
	byNS := []map[string]any{}
	if total > 0 {
		byNS = append(byNS, map[string]any{
			"namespace_id": "root", "namespace_path": "", "counts": total, "mount_accessors": list,
		})
	}
	return &logical.Response{Data: map[string]any{"by_namespace": byNS, "total": total}}, nil
}

func (m *Manager) handleUnlock(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	acc := d.Get("mount_accessor").(string)
	alias := d.Get("alias_identifier").(string)
	if acc == "" || alias == "" {
		return nil, logical.BadRequest("mount_accessor and alias_identifier are required")
	}
	if _, _, ok := m.host.AuthMount(acc); !ok {
		return nil, logical.BadRequest("mount accessor %q not found", acc)
	}
	return nil, m.Unlock(ctx, acc, alias)
}
