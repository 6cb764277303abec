package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/core/diag"
	"github.com/strongbox/strongbox/internal/core/keyops"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/pgp"
	"github.com/strongbox/strongbox/internal/seal"
)

// InitRequest is sys/init's input. The secret fields apply to the Shamir
// seal, the recovery fields to an auto seal.
type InitRequest struct {
	SecretShares    int
	SecretThreshold int
	// RecoveryShares and RecoveryThreshold split the recovery key;
	// RecoveryPGPKeys, one per share, encrypt each share (Vault's
	// recovery_pgp_keys).
	RecoveryShares    int
	RecoveryThreshold int
	RecoveryPGPKeys   []string
	// PGPKeys, one per unseal key share, encrypt each share (Vault's
	// pgp_keys); RootTokenPGPKey encrypts the root token
	// (root_token_pgp_key), returned as the base64 of the message.
	PGPKeys         []string
	RootTokenPGPKey string
}

// InitResult is sys/init's answer: the unseal key shares (none under an
// auto seal), the recovery key shares (auto seal only; OpenPGP messages
// holding each share hex-encoded when PGP keys were given) and the
// initial root token.
type InitResult struct {
	Keys         [][]byte
	RecoveryKeys [][]byte
	RootToken    string
}

// SealStatus is sys/seal-status's answer. Under an auto seal T and N are
// the recovery key's threshold and shares, and Progress counts recovery
// key shares given to sys/unseal.
type SealStatus struct {
	Type             string
	Initialized      bool
	Sealed           bool
	T, N             int
	Progress         int
	Nonce            string
	ClusterName      string
	ClusterID        string
	RecoverySeal     bool
	RecoverySealType string
	// Migration reports a pending seal migration: T, N and RecoverySeal
	// then describe the old seal's keys, the ones sys/unseal wants.
	Migration bool
}

// Init creates the keyring and the root key and the root token. Under the
// Shamir seal it splits the unseal key into shares and the core stays
// sealed afterwards; under an auto seal (initAuto) the key service wraps
// the root key and the core unseals itself.
func (c *Core) Init(ctx context.Context, req InitRequest) (*InitResult, error) {
	if c.autoSeal != nil {
		return c.initAuto(ctx, req)
	}
	c.stateLock.Lock()
	defer c.stateLock.Unlock()
	if inited, err := c.initializedLocked(ctx); err != nil {
		return nil, err
	} else if inited {
		return nil, ErrAlreadyInitialized
	}
	conf := &seal.Config{SecretShares: req.SecretShares, SecretThreshold: req.SecretThreshold}
	if err := conf.Validate(); err != nil {
		return nil, logical.BadRequest("%s", seal.ConfigMessage(err))
	}
	if len(req.PGPKeys) > 0 && len(req.PGPKeys) != conf.SecretShares {
		return nil, logical.BadRequest("incorrect number of PGP keys")
	}
	// Every key is checked before anything is stored: shares nobody can
	// read are worse than no init at all.
	pgpKeys, err := pgp.ParsePublicKeys(req.PGPKeys)
	if err != nil {
		return nil, logical.BadRequest("error parsing PGP key: %s", err)
	}
	rootPGP, err := parseRootTokenPGPKey(req.RootTokenPGPKey)
	if err != nil {
		return nil, err
	}
	rootKey, err := c.generateKey()
	if err != nil {
		return nil, err
	}
	defer clear(rootKey)
	root, err := c.initBarrier(ctx, rootKey, nil)
	if err != nil {
		return nil, err
	}
	// The seal config is written last: it is what marks the node initialized.
	shares, err := c.seal.Initialize(ctx, conf, rootKey)
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	if len(pgpKeys) > 0 {
		if shares, err = keyops.EncryptShares(pgpKeys, shares); err != nil {
			return nil, err
		}
	}
	if root, err = encryptRootToken(rootPGP, root); err != nil {
		return nil, err
	}
	c.logger.Info("core initialized", "shares", conf.SecretShares, "threshold", conf.SecretThreshold,
		"pgp_keys", len(pgpKeys) > 0, "root_token_pgp", rootPGP != nil)
	return &InitResult{Keys: shares, RootToken: root}, nil
}

// parseRootTokenPGPKey parses sys/init's root_token_pgp_key ("" is none).
func parseRootTokenPGPKey(s string) (*pgp.PublicKey, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	k, err := pgp.ParsePublicKey(s)
	if err != nil {
		return nil, logical.BadRequest("error parsing root token PGP key: %s", err)
	}
	return k, nil
}

// encryptRootToken returns the root token as Vault does under
// root_token_pgp_key: the base64 of a PGP message holding it. A nil key
// leaves the token as it is.
func encryptRootToken(k *pgp.PublicKey, root string) (string, error) {
	if k == nil {
		return root, nil
	}
	enc, err := k.EncryptBase64([]byte(root))
	if err != nil {
		return "", logical.Errorf(http.StatusInternalServerError, "failed to encrypt the root token: %v", err)
	}
	return enc, nil
}

// initBarrier creates the keyring under rootKey and what a new barrier
// starts with, returning the root token; inBarrier, when set, writes more
// through the barrier while it is open. The barrier is sealed again
// afterwards, as Vault's init leaves the node sealed. The caller holds
// stateLock.
func (c *Core) initBarrier(ctx context.Context, rootKey []byte, inBarrier func(context.Context) error) (string, error) {
	if err := c.raftops.Bootstrap(ctx); err != nil {
		return "", fmt.Errorf("init: %w", err)
	}
	if err := c.barrier.Initialize(ctx, rootKey); err != nil {
		return "", fmt.Errorf("init: barrier: %w", err)
	}
	if err := c.barrier.Unseal(ctx, rootKey); err != nil {
		return "", fmt.Errorf("init: unseal barrier: %w", err)
	}
	root, err := c.firstSetup(ctx)
	if err == nil {
		err = c.raftops.CreateTLS(ctx)
	}
	if err == nil && inBarrier != nil {
		err = inBarrier(ctx)
	}
	c.barrier.Seal()
	if err != nil {
		return "", fmt.Errorf("init: %w", err)
	}
	return root, nil
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
	st := &SealStatus{Type: c.SealType(), ClusterName: c.conf.ClusterName}
	st.RecoverySeal = c.autoSeal != nil
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
		if c.autoSeal != nil {
			// As Vault: the recovery seal type once initialized.
			st.RecoverySealType = seal.RecoveryType
			rconf, err := seal.LoadRecoveryConfig(ctx, c.physical)
			switch {
			case err == nil:
				st.T, st.N = rconf.SecretThreshold, rconf.SecretShares
			case !errors.Is(err, seal.ErrNotInitialized):
				return nil, err
			}
		}
		if err := c.migrationStatus(ctx, conf, st); err != nil {
			return nil, err
		}
	}
	c.unsealMu.Lock()
	st.Progress, st.Nonce = len(c.unsealShares), c.unsealNonce
	c.unsealMu.Unlock()
	if !st.Sealed {
		st.Progress, st.Nonce = 0, ""
	}
	return st, nil
}

// SealType is the configured seal's type: "shamir" or the key service's.
func (c *Core) SealType() string {
	if c.autoSeal != nil {
		return c.autoSeal.Type()
	}
	return c.seal.Type()
}

// RecoverySeal reports whether the seal uses recovery keys (an auto seal).
func (c *Core) RecoverySeal() bool { return c.autoSeal != nil }

// ResetUnseal discards the shares entered so far.
func (c *Core) ResetUnseal() {
	c.unsealMu.Lock()
	defer c.unsealMu.Unlock()
	seal.WipeShares(c.unsealShares)
	c.unsealShares, c.unsealNonce = nil, ""
}

// Unseal adds one key share; when the threshold is reached it unseals. A set
// of shares that does not unwrap the root key resets progress and fails.
// Under an auto seal the shares are recovery key shares (unsealRecovery).
// In seal migration mode it refuses (UnsealWithOptions takes the keys).
func (c *Core) Unseal(ctx context.Context, key []byte) error {
	return c.UnsealWithOptions(ctx, key, UnsealOptions{})
}

// unsealKey is Unseal out of migration mode.
func (c *Core) unsealKey(ctx context.Context, key []byte) error {
	if c.autoSeal != nil {
		return c.unsealRecovery(ctx, key)
	}
	conf, err := seal.LoadConfig(ctx, c.physical)
	c.unsealMu.Lock()
	join := c.join
	c.unsealMu.Unlock()
	switch {
	case errors.Is(err, seal.ErrNotInitialized) && join != nil:
		conf = join.SealConfig()
	case errors.Is(err, seal.ErrNotInitialized):
		return logical.BadRequest("Vault is not initialized")
	case err != nil:
		return err
	}
	if !c.Sealed() {
		return nil
	}
	if err := checkUnsealKeyLen(key); err != nil {
		return err
	}
	shares, ok := c.addUnsealShare(key, conf.SecretThreshold)
	if !ok {
		return nil
	}
	defer seal.WipeShares(shares)

	var rootKey []byte
	if join != nil && !c.barrierInitialized(ctx) {
		rootKey, err = c.raftops.CompleteJoin(ctx, join, shares)
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
	defer clear(rootKey)
	return c.unsealWithRootKey(ctx, rootKey)
}

func checkUnsealKeyLen(key []byte) error {
	if len(key) < minShareLen || len(key) > maxShareLen {
		return logical.BadRequest("'key' must be a valid hex or base64 string: wrong key length %d", len(key))
	}
	return nil
}

// addUnsealShare records one share for sys/unseal. When the threshold is
// reached it returns the shares (and forgets them: progress restarts
// whatever comes of them) and true.
func (c *Core) addUnsealShare(key []byte, threshold int) ([][]byte, bool) {
	c.unsealMu.Lock()
	defer c.unsealMu.Unlock()
	if seal.ContainsShare(c.unsealShares, key) {
		return nil, false // a share entered twice counts once
	}
	if c.unsealNonce == "" {
		c.unsealNonce = newUUID()
	}
	c.unsealShares = append(c.unsealShares, append([]byte(nil), key...))
	if len(c.unsealShares) < threshold {
		return nil, false
	}
	shares := c.unsealShares
	c.unsealShares, c.unsealNonce = nil, ""
	return shares, true
}

func (c *Core) barrierInitialized(ctx context.Context) bool {
	ok, err := c.barrier.Initialized(ctx)
	return err == nil && ok
}

func (c *Core) unsealWithRootKey(ctx context.Context, rootKey []byte) error {
	return c.unsealVerified(ctx, rootKey, nil)
}

// unsealVerified opens the barrier with rootKey and brings the node up.
// check, when set, runs once the barrier is open and before anything else:
// its error seals the barrier again and is returned, so a node is never
// left half unsealed.
func (c *Core) unsealVerified(ctx context.Context, rootKey []byte, check func(context.Context) error) error {
	defer diag.Measure(diag.MetricUnseal, time.Now())
	c.stateLock.Lock()
	defer c.stateLock.Unlock()
	if !c.sealed {
		return nil
	}
	if err := c.barrier.Unseal(ctx, rootKey); err != nil {
		return fmt.Errorf("unseal: barrier: %w", err)
	}
	if check != nil {
		if err := check(ctx); err != nil {
			c.barrier.Seal()
			return err
		}
	}
	if err := c.loadClusterInfo(ctx); err != nil {
		c.barrier.Seal()
		return fmt.Errorf("unseal: %w", err)
	}
	if err := c.raftops.LoadTLS(ctx); err != nil {
		c.barrier.Seal()
		return fmt.Errorf("unseal: %w", err)
	}
	c.sealed = false
	// Shares given to sys/unseal before another way unsealed the node
	// (auto-unseal, or a raft join) must not count after a later seal.
	c.ResetUnseal()
	if c.ha != nil {
		// The node serves as a standby until it leads.
		c.standby = true
		c.haNode.Start()
		c.keyops.StartWork()
		c.logger.Info("vault is unsealed; following leadership", "cluster_id", c.clusterID)
		return nil
	}
	if err := c.postUnseal(ctx); err != nil {
		c.teardown(ctx)
		c.barrier.Seal()
		c.sealed = true
		return fmt.Errorf("unseal: %w", err)
	}
	c.keyops.StartWork()
	c.logger.Info("vault is unsealed", "cluster_id", c.clusterID)
	return nil
}

// Seal tears down the unsealed state and wipes keys from memory. It waits
// for in-flight requests to finish first.
func (c *Core) Seal(ctx context.Context) error {
	// The leadership and seal upkeep loops take stateLock themselves: stop
	// them before taking it.
	c.haNode.Stop()()
	c.keyops.StopWork()
	c.stateLock.Lock()
	defer c.stateLock.Unlock()
	// A migrate unseal proved the old keys for this unsealed term only.
	c.keyops.ClearMigration()
	if c.sealed {
		return nil
	}
	if !c.standby {
		c.teardown(ctx)
	}
	c.barrier.Seal()
	c.sealed, c.standby = true, false
	// A sealed node must not stay the raft leader (the cluster would have
	// no active node) nor win a later election: hand leadership over, then
	// drop the raft TLS keyring so the node takes no part in raft until it
	// is unsealed again.
	c.haNode.AfterSeal(ctx)
	if c.ha != nil {
		c.raftops.ClearTLS()
	}
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

// Share lengths accepted by unseal: a share is the 32-byte unseal key plus
// one byte of x coordinate; 16 leaves room for shorter keys, as Vault does.
const (
	minShareLen = 16
	maxShareLen = 33
)
