package raftops

import (
	"context"

	"github.com/strongbox/strongbox/internal/logical"
)

// State is the core's seal and HA state at one moment, read under its state
// lock.
type State struct {
	// Sealed is true while the barrier is sealed.
	Sealed bool
	// Standby is true on an unsealed node that is not active (false once
	// sealed).
	Standby bool
	// ClusterID is the cluster's identity ("" until loaded).
	ClusterID string
	// Activation identifies the current active term: it changes every time
	// the node becomes active and is nil when it is not. Compare with ==.
	Activation any
}

// Host is what the room needs from the core. The core implements it; its
// methods are safe for concurrent use.
type Host interface {
	// ReadState runs fn holding the core's state lock for reading, with the
	// state at that moment: the state cannot change while fn runs. fn must
	// not take the state lock itself.
	ReadState(fn func(State))
	// StateLocked returns the state; the caller already holds the state
	// lock (a request handler, or code called while the core sets up).
	StateLocked() State
	// Initialized reports whether init has completed (the seal
	// configuration is stored); it works sealed.
	Initialized(ctx context.Context) (bool, error)

	// SetPendingJoin records a join that the operator's unseal completes
	// (the core then calls Ops.CompleteJoin with the shares) and discards
	// the unseal progress made so far, both at once.
	SetPendingJoin(pj *PendingJoin)
	// JoinPending reports whether a join awaits the operator's unseal.
	JoinPending() bool
	// AutoSealType is the type of the core's auto seal; ok is false under
	// the Shamir seal.
	AutoSealType() (sealType string, ok bool)
	// AutoSealUnwrap decrypts a wrapped root key with the auto seal's key
	// service (only under an auto seal). The caller wipes the result.
	AutoSealUnwrap(ctx context.Context, wrapped []byte) ([]byte, error)
	// UnsealWithRootKey unseals the core with a root key; nil when it is
	// unsealed already.
	UnsealWithRootKey(ctx context.Context, rootKey []byte) error

	// InstallSnapshot replaces the active node's data: holding the state
	// lock for writing it tears the active state down, runs install, and
	// loads the active state again from the new data, or seals when the
	// restored keyring does not open with the node's root key. It returns
	// ErrSealed or ErrStandby (logical's) when the node is not active, and
	// install's error unchanged when install fails (the node then serves the
	// old data again, or seals if it cannot).
	InstallSnapshot(ctx context.Context, install func(context.Context) error) error
	// ReloadStandby reloads the barrier's keyring and the cluster identity
	// from data raft replaced under a standby, under the state lock. It
	// reports false (and does nothing) when the node is sealed or active.
	ReloadStandby(ctx context.Context) (reloaded bool, err error)
	// Seal seals the core (waiting for requests in flight).
	Seal(ctx context.Context) error
	// WhenUnlocked asks the request pipeline to finish the request in ctx
	// with fn once the request's hold on the state lock is released (long
	// streams, or work that takes the state lock itself).
	WhenUnlocked(ctx context.Context, fn func(context.Context) (*logical.Response, error))

	// ForwardingAdvert returns the certificate and key this node advertised
	// for request forwarding, nil unless it is the active node.
	ForwardingAdvert() (certPEM, keyPEM []byte)
	// AutopilotSelf describes this node as its heartbeats do.
	AutopilotSelf() AutopilotFollower
	// AutopilotFollowers returns the standbys' latest heartbeats (active
	// node; empty elsewhere).
	AutopilotFollowers() map[string]AutopilotFollower
}
