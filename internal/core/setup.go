package core

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/strongbox/strongbox/internal/audit"
	"github.com/strongbox/strongbox/internal/core/policy"
	"github.com/strongbox/strongbox/internal/core/token"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
)

type clusterInfo struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

// loadClusterInfo reads the cluster's identity (written at init).
func (c *Core) loadClusterInfo(ctx context.Context) error {
	e, err := c.barrier.Get(ctx, clusterKey)
	if err != nil {
		return fmt.Errorf("read cluster info: %w", err)
	}
	if e == nil {
		return nil
	}
	var info clusterInfo
	if err := json.Unmarshal(e.Value, &info); err != nil {
		return fmt.Errorf("decode cluster info: %w", err)
	}
	c.clusterID = info.ID
	return nil
}

// firstSetup writes what a new barrier starts with: cluster identity, the
// default tables and policies, and the root token (returned).
func (c *Core) firstSetup(ctx context.Context) (string, error) {
	info, _ := json.Marshal(clusterInfo{Name: c.conf.ClusterName, ID: newUUID()})
	if err := c.barrier.Put(ctx, &physical.Entry{Key: clusterKey, Value: info}); err != nil {
		return "", fmt.Errorf("store cluster info: %w", err)
	}
	mounts := []*MountEntry{
		{Path: "cubbyhole/", Type: "cubbyhole", Description: "per-token private secret storage", UUID: newUUID(), Accessor: randomAccessor("cubbyhole"), Local: true},
		{Path: "sys/", Type: "system", Description: "system endpoints used for control, policy and debugging", UUID: newUUID(), Accessor: randomAccessor("system")},
	}
	auths := []*MountEntry{
		{Path: "token/", Type: "token", Description: "token based credentials", UUID: newUUID(), Accessor: randomAccessor("auth_token")},
	}
	for prefix, tbl := range map[string][]*MountEntry{mountTableKey: mounts, authTableKey: auths} {
		for _, me := range tbl {
			if err := c.storeEntry(ctx, prefix, me); err != nil {
				return "", err
			}
		}
	}
	if err := policy.NewStore(newView(c.barrier, systemPrefix+"policy/")).Setup(ctx); err != nil {
		return "", fmt.Errorf("default policy: %w", err)
	}
	ts, err := c.newTokenStore(ctx)
	if err != nil {
		return "", err
	}
	root, _, err := ts.CreateRoot(ctx)
	if err != nil {
		return "", fmt.Errorf("root token: %w", err)
	}
	return root, nil
}

func (c *Core) newTokenStore(ctx context.Context) (*token.Store, error) {
	ts, err := token.New(ctx, newView(c.barrier, systemPrefix+"token/"), token.Options{
		Logger:       c.logger.With("component", "token"),
		DefaultTTL:   c.conf.DefaultLeaseTTL,
		MaxTTL:       c.conf.MaxLeaseTTL,
		OnRevoke:     c.destroyCubbyhole,
		CacheEntries: true,
	})
	if err != nil {
		return nil, fmt.Errorf("token store: %w", err)
	}
	return ts, nil
}

// postUnseal loads the tables and mounts every backend. It runs under the
// state lock; on error the caller tears down and reseals.
func (c *Core) postUnseal(ctx context.Context) error {
	var err error
	c.policies = policy.NewStore(newView(c.barrier, systemPrefix+"policy/"))
	if err := c.policies.Setup(ctx); err != nil {
		return fmt.Errorf("policies: %w", err)
	}
	if c.tokens, err = c.newTokenStore(ctx); err != nil {
		return err
	}
	c.router = newRouter()
	c.audit = audit.NewBroker(c.logger.With("component", "audit"))
	if c.mounts, err = c.loadTable(ctx, mountTableKey); err != nil {
		return err
	}
	if c.auths, err = c.loadTable(ctx, authTableKey); err != nil {
		return err
	}
	if c.auditTable, err = c.loadTable(ctx, auditTableKey); err != nil {
		return err
	}
	for _, me := range c.mounts.list() {
		rt, err := c.instantiate(ctx, me, false)
		if err != nil {
			return err
		}
		c.router.add(rt)
	}
	for _, me := range c.auths.list() {
		rt, err := c.instantiate(ctx, me, true)
		if err != nil {
			return err
		}
		c.router.add(rt)
	}
	for _, me := range c.auditTable.list() {
		dev, conf, err := c.newAuditDevice(ctx, me)
		if err != nil {
			return fmt.Errorf("audit device %s: %w", me.Path, err)
		}
		if err := c.audit.Register(me.Path, dev, conf); err != nil {
			return fmt.Errorf("audit device %s: %w", me.Path, err)
		}
	}
	bg, cancel := context.WithCancel(context.Background())
	c.stopBg = cancel
	done := make(chan struct{})
	c.bgDone = done
	// postUnseal runs only on the node that becomes active, and teardown
	// (seal, step-down, demotion) stops what starts here: the periodic
	// runner never runs on a standby.
	tokens, rtr := c.tokens, c.router
	go func() {
		defer close(done)
		periodicDone := make(chan struct{})
		go func() {
			defer close(periodicDone)
			c.runPeriodic(bg, rtr)
		}()
		tokens.Run(bg)
		<-periodicDone
	}()
	c.activeTime = time.Now().UTC()
	return nil
}

// teardown undoes postUnseal; it is safe on a partial setup.
func (c *Core) teardown(ctx context.Context) {
	if c.stopBg != nil {
		c.stopBg()
		<-c.bgDone
		c.stopBg = nil
	}
	if c.router != nil {
		c.router.cleanup(ctx)
	}
	if c.audit != nil {
		c.audit.Close()
	}
	c.router, c.tokens, c.policies, c.audit = nil, nil, nil, nil
	c.clearACLs()
	c.mounts, c.auths, c.auditTable = nil, nil, nil
	c.activeTime = time.Time{}
}

// instantiate builds the backend of a mount entry.
func (c *Core) instantiate(ctx context.Context, me *MountEntry, isAuth bool) (*route, error) {
	rt := &route{entry: me, isAuth: isAuth}
	if isAuth {
		rt.mount = "auth/" + me.Path
	} else {
		rt.mount = me.Path
	}
	switch {
	case !isAuth && me.Type == "system":
		rt.backend = c.systemBackend()
		return rt, nil
	case isAuth && me.Type == "token":
		rt.backend = c.tokens.Backend()
		return rt, nil
	}
	factories, prefix := c.conf.SecretEngines, secretDataPrefix
	if isAuth {
		factories, prefix = c.conf.AuthMethods, authDataPrefix
	}
	factory, ok := factories[me.Type]
	if !ok {
		return nil, logical.BadRequest("plugin not found in the catalog: %s", me.Type)
	}
	rt.storage = newView(c.barrier, prefix+me.UUID+"/")
	rt.isCubby = me.Type == "cubbyhole"
	logger := c.logger.With("mount", rt.mount, "type", me.Type)
	be, err := factory(ctx, &logical.BackendConfig{
		StorageView: rt.storage,
		Logger:      logger,
		System:      c.newSystemView(me, isAuth),
		Config:      me.Options,
	})
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", rt.mount, err)
	}
	rt.backend = be
	if sp := be.SpecialPaths(); sp != nil && len(sp.SealWrapStorage) > 0 {
		// Say so rather than let the flag look honoured: the seal wraps
		// only the root key (keyops/sealwrap.go), not engine entries.
		logger.Warn("the engine asks for seal-wrapped storage; these entries are protected by the barrier only", "prefixes", sp.SealWrapStorage)
	}
	return rt, nil
}

// systemView is a mount's logical.SystemView. It reads the mount's row
// from the table on every call, so tuning and remounts show at once.
type systemView struct {
	table              *mountTable
	entry              *MountEntry // the row at mount time, if the table loses it
	sysDefault, sysMax time.Duration
}

func (c *Core) newSystemView(me *MountEntry, isAuth bool) systemView {
	return systemView{table: c.table(isAuth), entry: me, sysDefault: c.conf.DefaultLeaseTTL, sysMax: c.conf.MaxLeaseTTL}
}

func (s systemView) current() *MountEntry {
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
	return s.current().logicalConfig(s.sysDefault, s.sysMax).DefaultLeaseTTL
}

// MaxLeaseTTL implements logical.SystemView.
func (s systemView) MaxLeaseTTL() time.Duration {
	return s.current().logicalConfig(s.sysDefault, s.sysMax).MaxLeaseTTL
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

// storagePathsInfo adds to a sys/mounts/<path> answer the storage prefixes
// the mount's engine flagged (logical.Paths.LocalStorage and
// SealWrapStorage), so what the engine asked for is visible; nothing is
// added for an engine that flags none.
func (c *Core) storagePathsInfo(info map[string]any, path string, auth bool) map[string]any {
	mount := path
	if auth {
		mount = "auth/" + path
	}
	c.router.mu.RLock()
	rt := c.router.routes[mount]
	c.router.mu.RUnlock()
	if rt == nil || rt.special == nil {
		return info
	}
	if len(rt.special.LocalStorage) > 0 {
		info["local_storage_paths"] = rt.special.LocalStorage
	}
	if len(rt.special.SealWrapStorage) > 0 {
		info["seal_wrap_storage_paths"] = rt.special.SealWrapStorage
	}
	return info
}

// destroyCubbyhole deletes a revoked token's cubbyhole.
func (c *Core) destroyCubbyhole(ctx context.Context, e *token.Entry) error {
	rt := c.cubbyholeRoute()
	if rt == nil {
		return nil
	}
	return rt.storage.sub(e.ID + "/").clear(ctx)
}

func (c *Core) cubbyholeRoute() *route {
	if c.router == nil {
		return nil
	}
	for _, rt := range c.router.all() {
		if rt.isCubby {
			return rt
		}
	}
	return nil
}

func (c *Core) newAuditDevice(ctx context.Context, me *MountEntry) (audit.Device, *audit.DeviceConfig, error) {
	f, ok := c.conf.AuditDevices[me.Type]
	if !ok {
		return nil, nil, logical.BadRequest("unknown audit backend type: %s", me.Type)
	}
	conf := &audit.DeviceConfig{
		Path:        me.Path,
		Options:     me.Options,
		SaltStorage: newView(c.barrier, systemPrefix+"audit/"+me.UUID+"/"),
		Logger:      c.logger.With("audit", me.Path),
	}
	dev, err := f(ctx, conf)
	return dev, conf, err
}
