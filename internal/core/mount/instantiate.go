package mount

import (
	"context"
	"fmt"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// instantiate builds the backend of a mount entry.
func (m *Mounts) instantiate(ctx context.Context, me *Entry, isAuth bool) (*Route, error) {
	rt := &Route{Entry: me, IsAuth: isAuth}
	if isAuth {
		rt.Mount = "auth/" + me.Path
	} else {
		rt.Mount = me.Path
	}
	switch {
	case !isAuth && me.Type == "system":
		rt.Backend = m.host.SystemBackend()
		return rt, nil
	case isAuth && me.Type == "token":
		rt.Backend = m.host.TokenBackend()
		return rt, nil
	case !isAuth && me.Type == "identity":
		rt.Backend = m.host.IdentityBackend()
		return rt, nil
	}
	factories, prefix := m.opts.SecretEngines, secretDataPrefix
	if isAuth {
		factories, prefix = m.opts.AuthMethods, authDataPrefix
	}
	factory, ok := factories[me.Type]
	if !ok {
		return nil, logical.BadRequest("plugin not found in the catalog: %s", me.Type)
	}
	rt.Storage = NewView(m.opts.Storage, prefix+me.UUID+"/")
	rt.IsCubby = me.Type == "cubbyhole"
	logger := m.opts.Logger.With("mount", rt.Mount, "type", me.Type)
	be, err := factory(ctx, &logical.BackendConfig{
		StorageView: rt.Storage,
		Logger:      logger,
		System:      m.newSystemView(me, isAuth),
		Config:      me.Options,
	})
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", rt.Mount, err)
	}
	rt.Backend = be
	if sp := be.SpecialPaths(); sp != nil && len(sp.SealWrapStorage) > 0 {
		// Say so rather than let the flag look honoured: the seal wraps
		// only the root key (core/keyops/sealwrap.go), not engine entries.
		logger.Warn("the engine asks for seal-wrapped storage; these entries are protected by the barrier only", "prefixes", sp.SealWrapStorage)
	}
	return rt, nil
}

// systemView is a mount's logical.SystemView. It reads the mount's row
// from the table on every call, so tuning and remounts show at once.
type systemView struct {
	table              *Table
	entry              *Entry // the row at mount time, if the table loses it
	sysDefault, sysMax time.Duration
	host               Host
}

func (m *Mounts) newSystemView(me *Entry, isAuth bool) systemView {
	return systemView{table: m.table(isAuth), entry: me, sysDefault: m.opts.DefaultLeaseTTL, sysMax: m.opts.MaxLeaseTTL, host: m.host}
}

func (s systemView) current() *Entry {
	if s.table != nil {
		s.table.mu.RLock()
		defer s.table.mu.RUnlock()
		for _, e := range s.table.entries {
			if e.UUID == s.entry.UUID {
				return e
			}
		}
	}
	return s.entry
}

// DefaultLeaseTTL implements logical.SystemView.
func (s systemView) DefaultLeaseTTL() time.Duration {
	return s.current().LogicalConfig(s.sysDefault, s.sysMax).DefaultLeaseTTL
}

// MaxLeaseTTL implements logical.SystemView.
func (s systemView) MaxLeaseTTL() time.Duration {
	return s.current().LogicalConfig(s.sysDefault, s.sysMax).MaxLeaseTTL
}

// MountUUID implements logical.SystemView.
func (s systemView) MountUUID() string { return s.entry.UUID }

// MountAccessor implements logical.SystemView.
func (s systemView) MountAccessor() string { return s.current().Accessor }

// LocalMount implements logical.SystemView.
func (s systemView) LocalMount() bool { return s.current().Local }

// ReplicationState implements logical.SystemView: Strongbox has no
// replication yet.
func (s systemView) ReplicationState() logical.ReplicationState {
	return logical.ReplicationUnknown
}

// ResponseWrapData implements logical.SystemView through the Host.
func (s systemView) ResponseWrapData(ctx context.Context, data map[string]any, ttl time.Duration, jwt bool) (*logical.ResponseWrapInfo, error) {
	if s.host == nil {
		return nil, logical.ErrWrappingUnavailable
	}
	return s.host.ResponseWrapData(ctx, data, ttl, jwt)
}

// EntityInfo implements logical.SystemView through the Host.
func (s systemView) EntityInfo(ctx context.Context, entityID string) (*logical.Entity, error) {
	if s.host == nil {
		return nil, nil
	}
	return s.host.EntityInfo(ctx, entityID)
}

// GroupsForEntity implements logical.SystemView through the Host.
func (s systemView) GroupsForEntity(ctx context.Context, entityID string) ([]*logical.Group, error) {
	if s.host == nil {
		return nil, nil
	}
	return s.host.GroupsForEntity(ctx, entityID)
}

// GeneratePasswordFromPolicy implements logical.PasswordGenerator when the
// Host keeps password policies.
func (s systemView) GeneratePasswordFromPolicy(ctx context.Context, name string) (string, error) {
	g, ok := s.host.(logical.PasswordGenerator)
	if !ok {
		return "", logical.ErrPasswordPolicyNotFound
	}
	return g.GeneratePasswordFromPolicy(ctx, name)
}

// storagePathsInfo adds to a sys/mounts/<path> answer the storage prefixes
// the mount's engine flagged (logical.Paths.LocalStorage and
// SealWrapStorage), so what the engine asked for is visible; nothing is
// added for an engine that flags none.
func (m *Mounts) storagePathsInfo(info map[string]any, path string, auth bool) map[string]any {
	mount := path
	if auth {
		mount = "auth/" + path
	}
	rt := m.router.get(mount)
	if rt == nil || rt.Special == nil {
		return info
	}
	if len(rt.Special.LocalStorage) > 0 {
		info["local_storage_paths"] = rt.Special.LocalStorage
	}
	if len(rt.Special.SealWrapStorage) > 0 {
		info["seal_wrap_storage_paths"] = rt.Special.SealWrapStorage
	}
	return info
}
