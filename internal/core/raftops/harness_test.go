package raftops

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/strongbox/strongbox/internal/barrier"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical/inmem"
	"github.com/strongbox/strongbox/internal/seal"
)

// fakeRaft is raft storage over inmem: a one-node cluster ("n1") that
// always leads, keeping the configuration it is asked to.
type fakeRaft struct {
	*inmem.Backend

	mu    sync.Mutex
	peers []RaftPeer
}

var _ RaftStorage = (*fakeRaft)(nil)

func (f *fakeRaft) NodeID() string                  { return "n1" }
func (f *fakeRaft) IsLeader() bool                  { return true }
func (f *fakeRaft) LeaderID() string                { return "n1" }
func (f *fakeRaft) HasState() bool                  { return true }
func (f *fakeRaft) Bootstrap(context.Context) error { return nil }

func (f *fakeRaft) AddPeer(_ context.Context, id, addr string, voter bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.peers = append(f.peers, RaftPeer{ID: id, Address: addr, Voter: voter})
	return nil
}

func (f *fakeRaft) RemovePeer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.peers = slices.DeleteFunc(f.peers, func(p RaftPeer) bool { return p.ID == id })
	return nil
}

func (f *fakeRaft) Peers(context.Context) ([]RaftPeer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.peers), nil
}

// activeHost is a Host whose core is unsealed and active, with nothing
// else going on: enough for the handlers that run on the active node.
type activeHost struct{}

func (activeHost) ReadState(fn func(State))                        { fn(State{ClusterID: "test-cluster"}) }
func (activeHost) StateLocked() State                              { return State{ClusterID: "test-cluster"} }
func (activeHost) Initialized(context.Context) (bool, error)       { return true, nil }
func (activeHost) SetPendingJoin(*PendingJoin)                     {}
func (activeHost) JoinPending() bool                               { return false }
func (activeHost) AutoSealType() (string, bool)                    { return "", false }
func (activeHost) UnsealWithRootKey(context.Context, []byte) error { return nil }
func (activeHost) Seal(context.Context) error                      { return nil }
func (activeHost) ForwardingAdvert() ([]byte, []byte)              { return nil, nil }
func (activeHost) AutopilotSelf() AutopilotFollower                { return AutopilotFollower{NodeID: "n1"} }
func (activeHost) AutopilotFollowers() map[string]AutopilotFollower {
	return nil
}
func (activeHost) AutoSealUnwrap(context.Context, []byte) ([]byte, error) {
	return nil, errors.New("no auto seal")
}
func (activeHost) InstallSnapshot(context.Context, func(context.Context) error) error {
	return errors.New("not in this test")
}
func (activeHost) ReloadStandby(context.Context) (bool, error) { return false, nil }
func (activeHost) WhenUnlocked(ctx context.Context, fn func(context.Context) (*logical.Response, error)) {
	_, _ = fn(ctx)
}

// activeNode is an Ops on an initialized, unsealed one-node cluster whose
// raft TLS keyring was created at init, with its sys/ endpoints.
type activeNode struct {
	o    *Ops
	sys  *logical.FrameworkBackend
	root []byte
}

func newActiveNode(t *testing.T) *activeNode {
	t.Helper()
	ctx := context.Background()
	st := &fakeRaft{Backend: inmem.New(), peers: []RaftPeer{{ID: "n1", Address: "127.0.0.1:8201", Leader: true, Voter: true}}}
	b := barrier.New(st)
	root, err := barrier.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Initialize(ctx, root); err != nil {
		t.Fatal(err)
	}
	if err := b.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	if _, err := seal.NewShamir(st).Initialize(ctx, &seal.Config{SecretShares: 1, SecretThreshold: 1}, root); err != nil {
		t.Fatal(err)
	}
	o := New(activeHost{}, Config{Physical: st, Barrier: b, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := o.CreateTLS(ctx); err != nil {
		t.Fatal(err)
	}
	return &activeNode{o: o, sys: &logical.FrameworkBackend{Paths: o.Paths()}, root: root}
}

// do sends an update to one of the node's sys/ endpoints (path relative to
// sys/), as the request pipeline hands it over.
func (n *activeNode) do(path string, data map[string]any) (*logical.Response, error) {
	return n.sys.HandleRequest(context.Background(), &logical.Request{Operation: logical.UpdateOperation, Path: path, Data: data})
}
