package core

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/barrier"
	"github.com/strongbox/strongbox/internal/cluster"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/seal"
)

// A node joins a raft cluster in two steps, so that only a node holding the
// unseal material can become a peer:
//
//  1. challenge: the joiner asks the active node, which answers with a
//     random challenge encrypted under the root key, the seal
//     configuration and the wrapped root key.
//  2. answer: once an operator unseals the joiner (its shares unwrap the
//     root key), it decrypts the challenge and sends it back; the active
//     node adds it to the raft configuration and hands it the raft TLS
//     keyring, encrypted under the root key too.
//
// The joiner then receives the data through raft and unseals from it.

// challengeTTL bounds how long a challenge may be answered.
const challengeTTL = 5 * time.Minute

type pendingChallenge struct {
	value   []byte
	expires time.Time
}

type challenges struct {
	mu sync.Mutex
	m  map[string]pendingChallenge
}

func challengeAAD(serverID string) []byte { return []byte("raft-challenge:" + serverID) }
func keyringAAD(serverID string) []byte   { return []byte("raft-tls-keyring:" + serverID) }

func (c *Core) raftJoinPaths() []*logical.Path {
	if c.raftStorage() == nil {
		return nil
	}
	return []*logical.Path{
		{
			Pattern: "storage/raft/bootstrap/challenge",
			Fields:  map[string]*logical.FieldSchema{"server_id": str("joining node id")},
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.UpdateOperation: c.raftChallenge,
			},
		},
		{
			Pattern: "storage/raft/bootstrap/answer",
			Fields: map[string]*logical.FieldSchema{
				"server_id": str("joining node id"), "answer": str("decrypted challenge, base64"),
				"cluster_addr": str("joining node's cluster address"), "non_voter": {Type: logical.TypeBool},
			},
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.UpdateOperation: c.raftAnswer,
			},
		},
	}
}

func (c *Core) raftChallenge(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	id := d.Get("server_id").(string)
	if id == "" {
		return nil, logical.BadRequest("server_id is required")
	}
	root, err := c.barrier.RootKey()
	if err != nil {
		return nil, err
	}
	value := make([]byte, 32)
	if _, err := rand.Read(value); err != nil {
		return nil, err
	}
	ct, err := barrier.Encrypt(root, challengeAAD(id), value)
	if err != nil {
		return nil, err
	}
	conf, err := seal.LoadConfig(ctx, c.physical)
	if err != nil {
		return nil, err
	}
	wrapped, err := seal.WrappedRootKey(ctx, c.physical)
	if err != nil {
		return nil, err
	}
	c.challenges.mu.Lock()
	if c.challenges.m == nil {
		c.challenges.m = map[string]pendingChallenge{}
	}
	now := time.Now()
	for k, v := range c.challenges.m {
		if now.After(v.expires) {
			delete(c.challenges.m, k)
		}
	}
	c.challenges.m[id] = pendingChallenge{value: value, expires: now.Add(challengeTTL)}
	c.challenges.mu.Unlock()
	return &logical.Response{Data: map[string]any{
		"challenge":        base64.StdEncoding.EncodeToString(ct),
		"seal_config":      conf,
		"wrapped_root_key": base64.StdEncoding.EncodeToString(wrapped),
	}}, nil
}

func (c *Core) raftAnswer(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	id := d.Get("server_id").(string)
	answer, err := base64.StdEncoding.DecodeString(d.Get("answer").(string))
	if err != nil || id == "" {
		return nil, logical.BadRequest("server_id and a base64 answer are required")
	}
	addr := urlHostPort(d.Get("cluster_addr").(string))
	if addr == "" {
		return nil, logical.BadRequest("cluster_addr is required")
	}
	c.challenges.mu.Lock()
	pc, ok := c.challenges.m[id]
	if ok {
		delete(c.challenges.m, id)
	}
	c.challenges.mu.Unlock()
	if !ok || time.Now().After(pc.expires) {
		return nil, logical.BadRequest("no pending challenge for server %q; ask for a new one", id)
	}
	if subtle.ConstantTimeCompare(pc.value, answer) != 1 {
		c.logger.Warn("raft join refused: wrong challenge answer", "server_id", id)
		return nil, logical.Errorf(403, "invalid challenge answer")
	}
	r := c.raftStorage()
	if err := c.addRaftPeer(ctx, r, id, addr, d.Get("non_voter").(bool)); err != nil {
		return nil, fmt.Errorf("add raft peer %s: %w", id, err)
	}
	c.logger.Info("raft peer joined", "server_id", id, "address", addr, "voter", !d.Get("non_voter").(bool))
	k := c.ctls.raftKeyring()
	if k == nil {
		return nil, errNoRaftTLS
	}
	raw, err := json.Marshal(k)
	if err != nil {
		return nil, err
	}
	root, err := c.barrier.RootKey()
	if err != nil {
		return nil, err
	}
	sealed, err := barrier.Encrypt(root, keyringAAD(id), raw)
	if err != nil {
		return nil, err
	}
	peers, err := r.Peers(ctx)
	if err != nil {
		return nil, err
	}
	list := make([]map[string]any, 0, len(peers))
	for _, p := range peers {
		list = append(list, map[string]any{"id": p.ID, "address": p.Address})
	}
	return &logical.Response{Data: map[string]any{"peers": list, "tls_keyring": base64.StdEncoding.EncodeToString(sealed)}}, nil
}

// pendingJoin is a joiner's state between the challenge and its unseal.
type pendingJoin struct {
	leader    *joinTarget
	config    seal.Config
	challenge []byte
	wrapped   []byte
	nonVoter  bool
}

// completeJoin answers the challenge with the root key the operator's
// shares unwrapped, installs the raft TLS keyring and waits until raft has
// brought this node the cluster's data.
func (c *Core) completeJoin(ctx context.Context, pj *pendingJoin, shares [][]byte) ([]byte, error) {
	root, err := seal.UnwrapRootKey(shares, pj.wrapped)
	if err != nil {
		return nil, err
	}
	return c.finishJoin(ctx, pj, root)
}

// finishJoin is completeJoin once the root key is known: from the
// operator's shares, or from this node's auto seal (joinWithSeal).
func (c *Core) finishJoin(ctx context.Context, pj *pendingJoin, root []byte) ([]byte, error) {
	id := c.ha.NodeID()
	value, err := barrier.Decrypt(root, challengeAAD(id), pj.challenge)
	if err != nil {
		return nil, fmt.Errorf("raft join: decrypt challenge: %w", err)
	}
	var out struct {
		TLSKeyring string `json:"tls_keyring"`
	}
	if err := pj.leader.call(ctx, "sys/storage/raft/bootstrap/answer", map[string]any{
		"server_id": id, "answer": base64.StdEncoding.EncodeToString(value),
		"cluster_addr": c.conf.ClusterAddr, "non_voter": pj.nonVoter,
	}, &out); err != nil {
		return nil, fmt.Errorf("raft join: answer: %w", err)
	}
	sealedKeyring, err := base64.StdEncoding.DecodeString(out.TLSKeyring)
	if err != nil {
		return nil, fmt.Errorf("raft join: keyring: %w", err)
	}
	raw, err := barrier.Decrypt(root, keyringAAD(id), sealedKeyring)
	if err != nil {
		return nil, fmt.Errorf("raft join: decrypt keyring: %w", err)
	}
	k, err := cluster.ParseKeyring(raw)
	if err != nil {
		return nil, err
	}
	if err := c.installRaftTLS(k); err != nil {
		return nil, err
	}
	// The data arrives through raft; unsealing needs the keyring from it.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		inited, err := c.barrier.Initialized(ctx)
		if err == nil && inited {
			if _, err := seal.LoadConfig(ctx, c.physical); err == nil {
				return root, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, errors.New("raft join: the cluster's data did not arrive within 2 minutes")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
