package raftops

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
//     random challenge encrypted under the root key, a nonce naming it,
//     the seal configuration and the wrapped root key.
//  2. answer: once an operator unseals the joiner (its shares unwrap the
//     root key), it asks for a fresh challenge, decrypts it and sends it
//     back with its nonce; the active node issues the joiner its raft
//     certificate, adds it to the raft configuration and hands it the
//     certificate and the CA certificates, encrypted under the root key.
//
// The joiner then receives the data through raft and unseals from it.
//
// Both endpoints answer anyone (the joiner has no token), so what they keep
// is bounded: challenges live challengeTTL, at most maxPendingChallenges at
// once (the oldest goes first), and each is known by its own nonce, so a
// caller asking for a challenge in another node's name cannot replace the
// one that node is about to answer.

// challengeTTL bounds how long a challenge may be answered. The joiner asks
// for a fresh one right before it answers, so this need not cover the time
// an operator takes to unseal it.
const challengeTTL = time.Minute

// maxPendingChallenges bounds the challenges kept at once.
const maxPendingChallenges = 256

type pendingChallenge struct {
	serverID string
	value    []byte
	expires  time.Time
}

// challenges are the pending join challenges, by nonce.
type challenges struct {
	mu sync.Mutex
	m  map[string]pendingChallenge
}

// add keeps a new challenge and returns its nonce, first dropping expired
// ones and, when full, the one closest to expiry (the oldest).
func (cs *challenges) add(serverID string, value []byte, now time.Time) string {
	nonce := rand.Text()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.m == nil {
		cs.m = map[string]pendingChallenge{}
	}
	for k, v := range cs.m {
		if now.After(v.expires) {
			delete(cs.m, k)
		}
	}
	for len(cs.m) >= maxPendingChallenges {
		oldest := ""
		for k, v := range cs.m {
			if oldest == "" || v.expires.Before(cs.m[oldest].expires) {
				oldest = k
			}
		}
		delete(cs.m, oldest)
	}
	cs.m[nonce] = pendingChallenge{serverID: serverID, value: value, expires: now.Add(challengeTTL)}
	return nonce
}

// take removes and returns the challenge of nonce if it was issued to
// serverID and has not expired.
func (cs *challenges) take(nonce, serverID string, now time.Time) (pendingChallenge, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	pc, ok := cs.m[nonce]
	if !ok || pc.serverID != serverID {
		return pendingChallenge{}, false
	}
	delete(cs.m, nonce)
	return pc, !now.After(pc.expires)
}

func (cs *challenges) len() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.m)
}

func challengeAAD(serverID string) []byte { return []byte("raft-challenge:" + serverID) }
func keyringAAD(serverID string) []byte   { return []byte("raft-tls-node:" + serverID) }

// joinTLS is what the active node hands a joiner for the cluster port: the CA
// certificates (no CA key) and the joiner's own certificate and key.
type joinTLS struct {
	Keyring *cluster.Keyring  `json:"keyring"`
	Node    *cluster.NodeCert `json:"node"`
}

func (o *Ops) raftJoinPaths() []*logical.Path {
	if o.raftStorage() == nil {
		return nil
	}
	return []*logical.Path{
		{
			Pattern: "storage/raft/bootstrap/challenge",
			Fields:  map[string]*logical.FieldSchema{"server_id": str("joining node id")},
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.UpdateOperation: o.raftChallenge,
			},
		},
		{
			Pattern: "storage/raft/bootstrap/answer",
			Fields: map[string]*logical.FieldSchema{
				"server_id": str("joining node id"), "answer": str("decrypted challenge, base64"),
				"nonce":        str("the nonce that came with the challenge"),
				"cluster_addr": str("joining node's cluster address"), "non_voter": {Type: logical.TypeBool},
			},
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.UpdateOperation: o.raftAnswer,
			},
		},
	}
}

func (o *Ops) raftChallenge(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	id := d.Get("server_id").(string)
	if id == "" {
		return nil, logical.BadRequest("server_id is required")
	}
	root, err := o.barrier.RootKey()
	if err != nil {
		return nil, err
	}
	defer clear(root)
	value := make([]byte, 32)
	if _, err := rand.Read(value); err != nil {
		return nil, err
	}
	ct, err := barrier.Encrypt(root, challengeAAD(id), value)
	if err != nil {
		return nil, err
	}
	conf, err := seal.LoadConfig(ctx, o.physical)
	if err != nil {
		return nil, err
	}
	wrapped, err := seal.WrappedRootKey(ctx, o.physical)
	if err != nil {
		return nil, err
	}
	nonce := o.challenges.add(id, value, time.Now())
	return &logical.Response{Data: map[string]any{
		"nonce":            nonce,
		"challenge":        base64.StdEncoding.EncodeToString(ct),
		"seal_config":      conf,
		"wrapped_root_key": base64.StdEncoding.EncodeToString(wrapped),
	}}, nil
}

func (o *Ops) raftAnswer(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	id := d.Get("server_id").(string)
	answer, err := base64.StdEncoding.DecodeString(d.Get("answer").(string))
	if err != nil || id == "" {
		return nil, logical.BadRequest("server_id and a base64 answer are required")
	}
	addr := urlHostPort(d.Get("cluster_addr").(string))
	if addr == "" {
		return nil, logical.BadRequest("cluster_addr is required")
	}
	nonce := d.Get("nonce").(string)
	if nonce == "" {
		return nil, logical.BadRequest("nonce is required: answer with the nonce that came with the challenge")
	}
	pc, ok := o.challenges.take(nonce, id, time.Now())
	if !ok {
		return nil, logical.BadRequest("no pending challenge %q for server %q; ask for a new one", nonce, id)
	}
	if subtle.ConstantTimeCompare(pc.value, answer) != 1 {
		o.logger.Warn("raft join refused: wrong challenge answer", "server_id", id)
		return nil, logical.Errorf(403, "invalid challenge answer")
	}
	r := o.raftStorage()
	k, err := o.readRaftKeyring(ctx)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, ErrNoRaftTLS
	}
	// The certificate is stored before the node enters the configuration,
	// so every node that learns of the new member can find it.
	nc, err := o.issueNodeCert(ctx, k, id)
	if err != nil {
		return nil, err
	}
	if err := o.AddPeer(ctx, id, addr, d.Get("non_voter").(bool)); err != nil {
		return nil, fmt.Errorf("add raft peer %s: %w", id, err)
	}
	o.logger.Info("raft peer joined", "server_id", id, "address", addr, "voter", !d.Get("non_voter").(bool))
	raw, err := json.Marshal(joinTLS{Keyring: k.Public(), Node: nc})
	if err != nil {
		return nil, err
	}
	// raw holds the joiner's private key in the clear.
	defer clear(raw)
	root, err := o.barrier.RootKey()
	if err != nil {
		return nil, err
	}
	defer clear(root)
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
	return &logical.Response{Data: map[string]any{"peers": list, "node_tls": base64.StdEncoding.EncodeToString(sealed)}}, nil
}

// PendingJoin is a joiner's state between the challenge and its unseal.
// The core keeps it with its unseal progress (Host.SetPendingJoin).
type PendingJoin struct {
	leader    *joinTarget
	config    seal.Config
	challenge []byte
	wrapped   []byte
	nonVoter  bool
}

// SealConfig is the cluster's seal configuration, as the challenge gave
// it: its threshold is how many shares complete the join.
func (pj *PendingJoin) SealConfig() *seal.Config { return &pj.config }

// CompleteJoin answers the challenge with the root key the operator's
// shares unwrapped, installs the raft TLS keyring and waits until raft has
// brought this node the cluster's data. It returns the root key, which the
// core unseals with (and wipes). The core calls it from its unseal, without
// the state lock.
func (o *Ops) CompleteJoin(ctx context.Context, pj *PendingJoin, shares [][]byte) ([]byte, error) {
	root, err := seal.UnwrapRootKey(shares, pj.wrapped)
	if err != nil {
		return nil, err
	}
	return o.finishJoin(ctx, pj, root)
}

// finishJoin is CompleteJoin once the root key is known: from the
// operator's shares, or from this node's auto seal (joinWithSeal). It asks
// for a fresh challenge and answers it at once, so the time the operator took
// to unseal does not count against the challenge's short life.
func (o *Ops) finishJoin(ctx context.Context, pj *PendingJoin, root []byte) ([]byte, error) {
	id := o.raftStorage().NodeID()
	var ch struct {
		Nonce     string `json:"nonce"`
		Challenge string `json:"challenge"`
	}
	if err := pj.leader.call(ctx, "sys/storage/raft/bootstrap/challenge", map[string]any{"server_id": id}, &ch); err != nil {
		return nil, fmt.Errorf("raft join: challenge: %w", err)
	}
	sealedChallenge, err := base64.StdEncoding.DecodeString(ch.Challenge)
	if err != nil {
		return nil, fmt.Errorf("raft join: challenge: %w", err)
	}
	value, err := barrier.Decrypt(root, challengeAAD(id), sealedChallenge)
	if err != nil {
		return nil, fmt.Errorf("raft join: decrypt challenge: %w", err)
	}
	var out struct {
		NodeTLS string `json:"node_tls"`
		Peers   []struct {
			ID string `json:"id"`
		} `json:"peers"`
	}
	if err := pj.leader.call(ctx, "sys/storage/raft/bootstrap/answer", map[string]any{
		"server_id": id, "answer": base64.StdEncoding.EncodeToString(value), "nonce": ch.Nonce,
		"cluster_addr": o.conf.ClusterAddr, "non_voter": pj.nonVoter,
	}, &out); err != nil {
		return nil, fmt.Errorf("raft join: answer: %w", err)
	}
	sealedTLS, err := base64.StdEncoding.DecodeString(out.NodeTLS)
	if err != nil {
		return nil, fmt.Errorf("raft join: node TLS: %w", err)
	}
	raw, err := barrier.Decrypt(root, keyringAAD(id), sealedTLS)
	if err != nil {
		return nil, fmt.Errorf("raft join: decrypt node TLS: %w", err)
	}
	var jt joinTLS
	if err := json.Unmarshal(raw, &jt); err != nil || jt.Keyring == nil || jt.Node == nil {
		return nil, fmt.Errorf("raft join: node TLS: malformed (%v)", err)
	}
	if err := jt.Keyring.Validate(); err != nil {
		return nil, fmt.Errorf("raft join: %w", err)
	}
	ids := make([]string, 0, len(out.Peers))
	for _, p := range out.Peers {
		ids = append(ids, p.ID)
	}
	// Until raft brings the configuration, the members the answer named
	// are the peers this node accepts on its cluster port.
	o.ctls.setJoinPeers(ids)
	if err := o.ctls.install(jt.Keyring, jt.Node); err != nil {
		return nil, fmt.Errorf("raft join: %w", err)
	}
	// The data arrives through raft; unsealing needs the keyring from it.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		inited, err := o.barrier.Initialized(ctx)
		if err == nil && inited {
			if _, err := seal.LoadConfig(ctx, o.physical); err == nil {
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
