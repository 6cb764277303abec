package mount

import (
	"context"
	"strings"
	"sync"

	"github.com/strongbox/strongbox/internal/logical"
)

// migrations remembers remount results for sys/remount/status; moves are
// done synchronously (data is named by the mount's UUID, not its path).
type migrations struct {
	mu   sync.Mutex
	info map[string]map[string]any
}

func (m *Mounts) remount(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	from, err := NormalizePath(d.Get("from").(string))
	if err != nil {
		return nil, logical.BadRequest("from: %v", err)
	}
	to, err := NormalizePath(d.Get("to").(string))
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
	t := m.table(auth)
	me := t.Find(from)
	if me == nil {
		return nil, logical.BadRequest("no matching mount at %q", from)
	}
	if me.Type == "system" || me.Type == "cubbyhole" || me.Type == "token" || me.Type == "identity" {
		return nil, logical.BadRequest("cannot remount %q", from)
	}
	others := make([]*Entry, 0)
	for _, e := range t.List() {
		if e.Path != from {
			others = append(others, e)
		}
	}
	if other := conflict(&Table{entries: others}, to); other != nil {
		return nil, logical.BadRequest("path already in use at %q", other.Path)
	}
	oldMount, newMount := from, to
	if auth {
		oldMount, newMount = "auth/"+from, "auth/"+to
	}
	// Leases name the path they were issued at: once the mount moves,
	// nothing could revoke them, so they end first (as on unmount).
	if err := m.host.RevokeLeases(ctx, oldMount); err != nil {
		return nil, logical.BadRequest("failed to revoke the leases of %q: %v", oldMount, err)
	}
	moved := *me
	moved.Path = to
	if err := t.Save(ctx, &moved); err != nil {
		return nil, err
	}
	if rt := m.router.remove(oldMount); rt != nil {
		next := *rt
		next.Entry, next.Mount = &moved, newMount
		m.router.add(&next)
	}
	id := newUUID()
	m.migrations.mu.Lock()
	if m.migrations.info == nil {
		m.migrations.info = map[string]map[string]any{}
	}
	m.migrations.info[id] = map[string]any{"source_mount": oldMount, "target_mount": newMount, "status": "success"}
	m.migrations.mu.Unlock()
	m.opts.Logger.Info("moved mount", "from", oldMount, "to", newMount)
	return &logical.Response{Data: map[string]any{"migration_id": id}}, nil
}

func (m *Mounts) remountStatus(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	id := d.Get("migration_id").(string)
	m.migrations.mu.Lock()
	info, ok := m.migrations.info[id]
	m.migrations.mu.Unlock()
	if !ok {
		return nil, nil
	}
	return &logical.Response{Data: map[string]any{"migration_id": id, "migration_info": info}}, nil
}
