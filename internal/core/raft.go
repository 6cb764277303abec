package core

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/strongbox/strongbox/internal/cluster"
)

// RaftPeer is one server of the raft configuration.
type RaftPeer struct {
	ID      string
	Address string
	Leader  bool
	Voter   bool
}

// RaftStorage is integrated raft storage as the core drives it: the HA
// contract plus membership.
type RaftStorage interface {
	HAStorage
	// HasState reports whether this node was bootstrapped or joined.
	HasState() bool
	// Bootstrap makes this node a one-node cluster.
	Bootstrap(ctx context.Context) error
	// AddPeer adds a server (as a voter or not) through the leader.
	AddPeer(ctx context.Context, id, addr string, voter bool) error
	// RemovePeer removes a server through the leader.
	RemovePeer(ctx context.Context, id string) error
	// Peers returns the current configuration.
	Peers(ctx context.Context) ([]RaftPeer, error)
}

// raftTLSKey holds the raft TLS keyring, inside the barrier.
const raftTLSKey = "core/raft/tls"

func (c *Core) raftStorage() RaftStorage {
	r, _ := c.physical.(RaftStorage)
	return r
}

// bootstrapRaft makes a fresh node a one-node cluster and waits until it
// leads, so init's writes can commit.
func (c *Core) bootstrapRaft(ctx context.Context) error {
	r := c.raftStorage()
	if r == nil {
		return nil
	}
	if !r.HasState() {
		if err := r.Bootstrap(ctx); err != nil {
			return fmt.Errorf("bootstrap raft: %w", err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for !r.IsLeader() {
		if time.Now().After(deadline) {
			return errors.New("bootstrap raft: this node did not become leader within 30s")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// createRaftTLS creates and stores the raft TLS keyring at init, and
// issues this (first) node its certificate.
func (c *Core) createRaftTLS(ctx context.Context) error {
	if c.raftStorage() == nil {
		return nil
	}
	k, err := cluster.NewKeyring()
	if err != nil {
		return err
	}
	if err := c.storeRaftKeyring(ctx, k); err != nil {
		return err
	}
	nc, err := c.issueNodeCert(ctx, k, c.ha.NodeID())
	if err != nil {
		return err
	}
	return c.ctls.install(k, nc)
}

// loadRaftTLS reads the raft TLS keyring and this node's certificate from
// the barrier (at unseal).
func (c *Core) loadRaftTLS(ctx context.Context) error {
	if c.raftStorage() == nil {
		return nil
	}
	k, err := c.readRaftKeyring(ctx)
	if err != nil {
		return err
	}
	if k == nil {
		return errors.New("raft TLS keyring missing from storage")
	}
	return c.installRaftTLS(ctx, k)
}

func urlHost(addr string) string {
	u, err := url.Parse(addr)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// urlHostPort returns host:port of an address URL ("https://h:8201").
func urlHostPort(addr string) string {
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" {
		return addr
	}
	return u.Host
}
