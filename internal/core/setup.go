package core

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/strongbox/strongbox/internal/core/mount"
	"github.com/strongbox/strongbox/internal/core/policy"
	"github.com/strongbox/strongbox/internal/core/token"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
)

// Storage locations (inside the barrier) the kernel owns; the mount room
// keeps its own (core/mounts/, core/auth/, logical/, auth/).
const (
	clusterKey   = "core/cluster-info"
	systemPrefix = "sys/"
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
	if err := c.mounts.SetupDefaults(ctx); err != nil {
		return "", err
	}
	if err := policy.NewStore(mount.NewView(c.barrier, systemPrefix+"policy/")).Setup(ctx); err != nil {
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
	view := mount.NewView(c.barrier, systemPrefix+"token/")
	ts, err := token.New(ctx, view, token.Options{
		Logger:     c.logger.With("component", "token"),
		DefaultTTL: c.conf.DefaultLeaseTTL,
		MaxTTL:     c.conf.MaxLeaseTTL,
		OnRevoke:   c.tokenRevoked,
		OnExpiry:   c.tokenExpiry,
		PersistNew: func(ctx context.Context, e *token.Entry, ops []*logical.TxnOp) error {
			return c.persistToken(ctx, view, e, ops)
		},
		CacheEntries:     true,
		OnRenew:          c.renewLogin,
		IdentityPolicies: c.identityPolicies,
		EntityForAlias:   c.entityForAlias,
		SealBatch:        c.sealBatchToken,
		OpenBatch:        c.openBatchToken,
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
	c.policies = policy.NewStore(mount.NewView(c.barrier, systemPrefix+"policy/"))
	if err := c.policies.Setup(ctx); err != nil {
		return fmt.Errorf("policies: %w", err)
	}
	if c.tokens, err = c.newTokenStore(ctx); err != nil {
		return err
	}
	if c.identity, err = c.newIdentityStore(ctx); err != nil {
		return err
	}
	if err := c.mounts.Load(ctx); err != nil {
		return err
	}
	if err := c.wrapping.EnsureKey(ctx); err != nil {
		return err
	}
	if err := c.auditing.Load(ctx); err != nil {
		return err
	}
	c.audit = c.auditing.Broker()
	if err := c.startExpiration(ctx); err != nil {
		return fmt.Errorf("expiration: %w", err)
	}
	bg, cancel := context.WithCancel(context.Background())
	c.stopBg = cancel
	done := make(chan struct{})
	c.bgDone = done
	// postUnseal runs only on the node that becomes active, and teardown
	// (seal, step-down, demotion) stops what starts here: the periodic
	// runner and the expiration manager never run on a standby. Expired
	// tokens are revoked by their leases, not by a sweep of the store.
	rtr := c.mounts.Router()
	go func() {
		defer close(done)
		mount.RunPeriodic(bg, rtr, mount.PeriodicOptions{
			Interval: c.conf.PeriodicInterval, DefaultLeaseTTL: c.conf.DefaultLeaseTTL, MaxLeaseTTL: c.conf.MaxLeaseTTL,
			Logger: c.logger,
		})
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
	c.expiration.Stop()
	c.lockout.Reset()
	c.mounts.Teardown(ctx)
	c.auditing.Close()
	c.tokens, c.policies, c.audit, c.identity = nil, nil, nil, nil
	c.clearACLs()
	c.activeTime = time.Time{}
}

// destroyCubbyhole deletes a revoked token's cubbyhole.
func (c *Core) destroyCubbyhole(ctx context.Context, e *token.Entry) error {
	return c.mounts.DestroyCubbyhole(ctx, e.ID)
}
