package raftops

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/strongbox/strongbox/internal/cluster"
	"github.com/strongbox/strongbox/internal/physical"
)

// raftNodeCertPrefix holds each node's raft certificate and key, by node id,
// inside the barrier. The active node writes them (bootstrap, join, after a
// CA rotation); each node reads its own. Keeping them here, not on the
// node's disk, lets a restarted node unseal with the certificate the active
// issued it, and lets a rotation reach followers through raft.
const raftNodeCertPrefix = "core/raft/tls-node/"

// readRaftKeyring returns the full keyring (with the CA keys), nil if none.
func (o *Ops) readRaftKeyring(ctx context.Context) (*cluster.Keyring, error) {
	e, err := o.barrier.Get(ctx, raftTLSKey)
	if err != nil {
		return nil, fmt.Errorf("read raft TLS keyring: %w", err)
	}
	if e == nil {
		return nil, nil
	}
	return cluster.ParseKeyring(e.Value)
}

func (o *Ops) storeRaftKeyring(ctx context.Context, k *cluster.Keyring) error {
	raw, err := json.Marshal(k)
	if err != nil {
		return err
	}
	if err := o.barrier.Put(ctx, &physical.Entry{Key: raftTLSKey, Value: raw}); err != nil {
		return fmt.Errorf("store raft TLS keyring: %w", err)
	}
	return nil
}

// readNodeCert returns node id's stored certificate, nil if none or unusable.
func (o *Ops) readNodeCert(ctx context.Context, id string) (*cluster.NodeCert, error) {
	e, err := o.barrier.Get(ctx, raftNodeCertPrefix+id)
	if err != nil {
		return nil, fmt.Errorf("read raft node certificate of %q: %w", id, err)
	}
	if e == nil {
		return nil, nil
	}
	nc, err := cluster.ParseNodeCert(e.Value)
	if err != nil {
		o.logger.Warn("stored raft node certificate is invalid; a new one will be issued", "node_id", id, "error", err)
		return nil, nil
	}
	return nc, nil
}

// issueNodeCert issues node id a certificate from k's current CA and stores
// it. Active node only (k must hold the CA key).
func (o *Ops) issueNodeCert(ctx context.Context, k *cluster.Keyring, id string) (*cluster.NodeCert, error) {
	nc, err := k.IssueNode(id, nil)
	if err != nil {
		return nil, fmt.Errorf("issue raft node certificate for %q: %w", id, err)
	}
	if err := o.storeNodeCert(ctx, nc); err != nil {
		return nil, err
	}
	return nc, nil
}

// deleteNodeCert forgets a removed node's certificate.
func (o *Ops) deleteNodeCert(ctx context.Context, id string) error {
	if err := o.barrier.Delete(ctx, raftNodeCertPrefix+id); err != nil {
		return fmt.Errorf("delete raft node certificate of %q: %w", id, err)
	}
	return nil
}

// ensureNodeCerts gives every server of the raft configuration a certificate
// from k's current CA (active node only): after a rotation, the followers
// find their new certificates here and pick them up on their next poll.
func (o *Ops) ensureNodeCerts(ctx context.Context, k *cluster.Keyring) error {
	peers, err := o.raftStorage().Peers(ctx)
	if err != nil {
		return err
	}
	for _, p := range peers {
		nc, err := o.readNodeCert(ctx, p.ID)
		if err != nil {
			return err
		}
		if nc != nil && nc.CAID == k.Current.ID {
			continue
		}
		if _, err := o.issueNodeCert(ctx, k, p.ID); err != nil {
			return err
		}
		o.logger.Info("issued raft node certificate", "node_id", p.ID, "ca", k.Current.ID)
	}
	return nil
}

// installRaftTLS installs keyring k (its public part) and this node's stored
// certificate. A node with no usable certificate yet (a node upgraded from a
// version that shared the CA, a restored snapshot) issues itself one for
// now, without storing it unless it is the active node; the active's next
// poll stores one for every member.
func (o *Ops) installRaftTLS(ctx context.Context, k *cluster.Keyring) error {
	r := o.raftStorage()
	id := r.NodeID()
	nc, err := o.readNodeCert(ctx, id)
	if err != nil {
		return err
	}
	if nc == nil || !k.Trusts(nc.CAID) {
		if !k.HasCAKey() {
			return fmt.Errorf("raft TLS: no certificate for node %q and no CA key to issue one", id)
		}
		if nc, err = k.IssueNode(id, nil); err != nil {
			return err
		}
		if r.IsLeader() {
			if err := o.storeNodeCert(ctx, nc); err != nil {
				o.logger.Warn("storing this node's raft certificate", "error", err)
			}
		}
	}
	return o.ctls.install(k, nc)
}

// storeNodeCert writes a node's certificate (active node only).
func (o *Ops) storeNodeCert(ctx context.Context, nc *cluster.NodeCert) error {
	raw, err := json.Marshal(nc)
	if err != nil {
		return err
	}
	if err := o.barrier.Put(ctx, &physical.Entry{Key: raftNodeCertPrefix + nc.NodeID, Value: raw}); err != nil {
		return fmt.Errorf("store raft node certificate of %q: %w", nc.NodeID, err)
	}
	return nil
}
