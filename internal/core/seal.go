package core

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/seal"
)

// InitRequest is sys/init's input.
type InitRequest struct {
	SecretShares    int
	SecretThreshold int
}

// InitResult is sys/init's answer: the shares and the initial root token.
type InitResult struct {
	Keys      [][]byte
	RootToken string
}

// SealStatus is sys/seal-status's answer.
type SealStatus struct {
	Type        string
	Initialized bool
	Sealed      bool
	T, N        int
	Progress    int
	Nonce       string
	ClusterName string
	ClusterID   string
}

// Init creates the keyring and the root key, splits the unseal key into
// shares and creates the root token. The core stays sealed afterwards.
func (c *Core) Init(ctx context.Context, req InitRequest) (*InitResult, error) {
	c.stateLock.Lock()
	defer c.stateLock.Unlock()
	if inited, err := c.initializedLocked(ctx); err != nil {
		return nil, err
	} else if inited {
		return nil, ErrAlreadyInitialized
	}
	conf := &seal.Config{SecretShares: req.SecretShares, SecretThreshold: req.SecretThreshold}
	if err := conf.Validate(); err != nil {
		return nil, logical.BadRequest("%s", trimSealErr(err))
	}
	rootKey, err := c.generateKey()
	if err != nil {
		return nil, err
	}
	if err := c.bootstrapRaft(ctx); err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	if err := c.barrier.Initialize(ctx, rootKey); err != nil {
		return nil, fmt.Errorf("init: barrier: %w", err)
	}
	if err := c.barrier.Unseal(ctx, rootKey); err != nil {
		return nil, fmt.Errorf("init: unseal barrier: %w", err)
	}
	// Everything else is set up through the barrier, then sealed again, as
	// Vault does: init leaves the node sealed.
	root, err := c.firstSetup(ctx)
	if err == nil {
		err = c.createRaftTLS(ctx)
	}
	c.barrier.Seal()
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	// The seal config is written last: it is what marks the node initialized.
	shares, err := c.seal.Initialize(ctx, conf, rootKey)
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	c.logger.Info("core initialized", "shares", conf.SecretShares, "threshold", conf.SecretThreshold)
	return &InitResult{Keys: shares, RootToken: root}, nil
}

func trimSealErr(err error) string {
	msg := err.Error()
	prefix := seal.ErrInvalidConfig.Error() + ": "
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		return msg[len(prefix):]
	}
	return msg
}

func (c *Core) generateKey() ([]byte, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return k, nil
}

func (c *Core) initializedLocked(ctx context.Context) (bool, error) {
	_, err := seal.LoadConfig(ctx, c.physical)
	switch {
	case errors.Is(err, seal.ErrNotInitialized):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// Initialized reports whether init has completed.
func (c *Core) Initialized(ctx context.Context) (bool, error) {
	return c.initializedLocked(ctx)
}

// SealStatus reports the seal state and unseal progress.
func (c *Core) SealStatus(ctx context.Context) (*SealStatus, error) {
	st := &SealStatus{Type: "shamir", ClusterName: c.conf.ClusterName}
	conf, err := seal.LoadConfig(ctx, c.physical)
	if err != nil && !errors.Is(err, seal.ErrNotInitialized) {
		return nil, err
	}
	c.stateLock.RLock()
	st.Sealed = c.sealed
	st.ClusterID = c.clusterID
	c.stateLock.RUnlock()
	if conf != nil {
		st.Initialized = true
		st.Type = conf.Type
		st.T, st.N = conf.SecretThreshold, conf.SecretShares
	}
	c.unsealMu.Lock()
	st.Progress, st.Nonce = len(c.unsealShares), c.unsealNonce
	c.unsealMu.Unlock()
	if !st.Sealed {
		st.Progress, st.Nonce = 0, ""
	}
	return st, nil
}

// ResetUnseal discards the shares entered so far.
func (c *Core) ResetUnseal() {
	c.unsealMu.Lock()
	defer c.unsealMu.Unlock()
	c.unsealShares, c.unsealNonce = nil, ""
}

// Unseal adds one key share; when the threshold is reached it unseals. A set
// of shares that does not unwrap the root key resets progress and fails.
func (c *Core) Unseal(ctx context.Context, key []byte) error {
	conf, err := seal.LoadConfig(ctx, c.physical)
	c.unsealMu.Lock()
	join := c.join
	c.unsealMu.Unlock()
	switch {
	case errors.Is(err, seal.ErrNotInitialized) && join != nil:
		conf = &join.config
	case errors.Is(err, seal.ErrNotInitialized):
		return logical.BadRequest("Vault is not initialized")
	case err != nil:
		return err
	}
	if !c.Sealed() {
		return nil
	}
	if len(key) < 16 || len(key) > 33 {
		return logical.BadRequest("'key' must be a valid hex or base64 string: wrong key length %d", len(key))
	}
	c.unsealMu.Lock()
	for _, s := range c.unsealShares {
		if bytes.Equal(s, key) {
			c.unsealMu.Unlock()
			return nil // a share entered twice counts once
		}
	}
	if c.unsealNonce == "" {
		c.unsealNonce = newUUID()
	}
	c.unsealShares = append(c.unsealShares, append([]byte(nil), key...))
	if len(c.unsealShares) < conf.SecretThreshold {
		c.unsealMu.Unlock()
		return nil
	}
	shares := c.unsealShares
	c.unsealShares, c.unsealNonce = nil, ""
	c.unsealMu.Unlock()

	var rootKey []byte
	if join != nil && !c.barrierInitialized(ctx) {
		rootKey, err = c.completeJoin(ctx, join, shares)
		if err == nil {
			c.unsealMu.Lock()
			c.join = nil
			c.unsealMu.Unlock()
		}
	} else {
		rootKey, err = c.seal.RootKey(ctx, shares)
	}
	if err != nil {
		if errors.Is(err, seal.ErrInvalidKey) {
			c.logger.Warn("unseal failed: key shares do not unwrap the root key")
			return logical.BadRequest("invalid key: the key shares do not unseal this Vault; progress was reset")
		}
		return fmt.Errorf("unseal: %w", err)
	}
	return c.unsealWithRootKey(ctx, rootKey)
}

func (c *Core) barrierInitialized(ctx context.Context) bool {
	ok, err := c.barrier.Initialized(ctx)
	return err == nil && ok
}

func (c *Core) unsealWithRootKey(ctx context.Context, rootKey []byte) error {
	c.stateLock.Lock()
	defer c.stateLock.Unlock()
	if !c.sealed {
		return nil
	}
	if err := c.barrier.Unseal(ctx, rootKey); err != nil {
		return fmt.Errorf("unseal: barrier: %w", err)
	}
	if err := c.loadClusterInfo(ctx); err != nil {
		c.barrier.Seal()
		return fmt.Errorf("unseal: %w", err)
	}
	if err := c.loadRaftTLS(ctx); err != nil {
		c.barrier.Seal()
		return fmt.Errorf("unseal: %w", err)
	}
	c.sealed = false
	if c.ha != nil {
		// The node serves as a standby until it leads.
		c.haMu.Lock()
		c.startHA()
		c.haMu.Unlock()
		c.logger.Info("vault is unsealed; following leadership", "cluster_id", c.clusterID)
		return nil
	}
	if err := c.postUnseal(ctx); err != nil {
		c.teardown(ctx)
		c.barrier.Seal()
		c.sealed = true
		return fmt.Errorf("unseal: %w", err)
	}
	c.logger.Info("vault is unsealed", "cluster_id", c.clusterID)
	return nil
}

// Seal tears down the unsealed state and wipes keys from memory. It waits
// for in-flight requests to finish first.
func (c *Core) Seal(ctx context.Context) error {
	// The leadership loop takes stateLock itself: stop it before taking it.
	c.haMu.Lock()
	wait := c.stopHA()
	c.haMu.Unlock()
	wait()
	c.stateLock.Lock()
	defer c.stateLock.Unlock()
	if c.sealed {
		return nil
	}
	if !c.standby {
		c.teardown(ctx)
	}
	c.barrier.Seal()
	c.sealed, c.standby = true, false
	c.haMu.Lock()
	c.ownAdvert = nil
	c.haMu.Unlock()
	c.logger.Info("vault is sealed")
	return nil
}

func newUUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux; a broken RNG must not go unnoticed
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
