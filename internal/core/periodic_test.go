package core

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/core/ha"

	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// leaderGroup is shared-storage HA for the periodic tests: every node sees
// the same inmem storage and the test (or a step-down) decides who leads.
type leaderGroup struct {
	mu     sync.Mutex
	leader string
	nodes  []string
	subs   map[string][]chan bool
}

func (g *leaderGroup) setLeader(id string) {
	g.mu.Lock()
	g.leader = id
	subs := g.subs
	g.mu.Unlock()
	for node, chans := range subs {
		for _, ch := range chans {
			select {
			case ch <- node == id:
			default:
			}
		}
	}
}

type groupNode struct {
	*inmem.Backend
	id string
	g  *leaderGroup
}

var _ ha.Storage = (*groupNode)(nil)

func (n *groupNode) NodeID() string { return n.id }
func (n *groupNode) IsLeader() bool {
	n.g.mu.Lock()
	defer n.g.mu.Unlock()
	return n.g.leader == n.id
}
func (n *groupNode) LeaderID() string {
	n.g.mu.Lock()
	defer n.g.mu.Unlock()
	return n.g.leader
}
func (n *groupNode) WatchLeadership() (<-chan bool, func()) {
	ch := make(chan bool, 16)
	n.g.mu.Lock()
	n.g.subs[n.id] = append(n.g.subs[n.id], ch)
	n.g.mu.Unlock()
	return ch, func() {}
}
func (n *groupNode) TransferLeadership(context.Context) error {
	for _, id := range n.g.nodes {
		if id != n.id {
			n.g.setLeader(id)
			return nil
		}
	}
	return nil
}
func (n *groupNode) ConsistentRead(context.Context) error { return nil }
func (n *groupNode) VerifyLeader(context.Context) error   { return nil }

// periodicProbe counts the periodic calls one node's engine receives.
type periodicProbe struct {
	runs     atomic.Int64
	rollback atomic.Int64
	// inflight and overlap catch two runs of one mount at once.
	inflight atomic.Int64
	overlap  atomic.Bool
	// panicFirst makes the first run panic.
	panicFirst atomic.Bool
	// hold, when set, blocks every run until it is closed, ignoring ctx.
	hold chan struct{}
	// ctxEnded counts runs that returned because their context ended.
	ctxEnded atomic.Int64
	// waitCtx makes runs block until their context ends.
	waitCtx bool
	// accessor is the MountAccessor of the last run's request.
	accessor atomic.Value
}

func (p *periodicProbe) factory() logical.Factory {
	return func(context.Context, *logical.BackendConfig) (logical.Backend, error) {
		return &logical.FrameworkBackend{
			PeriodicFunc: func(ctx context.Context, req *logical.Request) error {
				if p.inflight.Add(1) > 1 {
					p.overlap.Store(true)
				}
				defer p.inflight.Add(-1)
				n := p.runs.Add(1)
				p.accessor.Store(req.MountAccessor)
				if req.Storage == nil {
					panic("periodic func without storage")
				}
				if n == 1 && p.panicFirst.Load() {
					panic("engine bug")
				}
				if p.hold != nil {
					<-p.hold
				}
				if p.waitCtx {
					<-ctx.Done()
					p.ctxEnded.Add(1)
				}
				return nil
			},
			Rollback: func(context.Context, *logical.Request) error {
				p.rollback.Add(1)
				return nil
			},
		}, nil
	}
}

func probeConfig(phys physical.Backend, p *periodicProbe) Config {
	engines := builtin.SecretEngines()
	engines["probe"] = p.factory()
	return Config{
		Physical: phys, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "1.0.0",
		SecretEngines: engines, AuthMethods: builtin.AuthMethods(),
		PeriodicInterval: 5 * time.Millisecond,
	}
}

// waitFor polls cond until it holds or the deadline passes.
func rootDo(t *testing.T, c *Core, root string, op logical.Operation, path string, data map[string]any) *logical.Response {
	t.Helper()
	res, err := c.HandleRequest(context.Background(), &logical.Request{Operation: op, Path: path, Data: data, ClientToken: root})
	if err != nil {
		t.Fatalf("%s %s: %v", op, path, err)
	}
	return res.Response
}

// TestPeriodicRunsOnActiveOnly: two nodes on one storage; the probe engine
// runs on whichever node is active and never on the standby, stops when
// the active steps down and when it seals. The other node's progress is
// the clock: while it runs the probe several times, the stopped node
// does not run it once.
func TestPeriodicRunsOnActiveOnly(t *testing.T) {
	g := &leaderGroup{leader: "a", nodes: []string{"a", "b"}, subs: map[string][]chan bool{}}
	storage := inmem.New()
	pa, pb := &periodicProbe{}, &periodicProbe{}
	a, err := New(probeConfig(&groupNode{Backend: storage, id: "a", g: g}, pa))
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(probeConfig(&groupNode{Backend: storage, id: "b", g: g}, pb))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := a.Init(ctx, InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Core{a, b} {
		if err := c.Unseal(ctx, res.Keys[0]); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Seal(context.Background()) })
	}
	waitFor(t, 20*time.Second, "a active", func() bool { return !a.Standby() && !a.Sealed() })
	if !b.Standby() {
		t.Fatal("b is not a standby")
	}
	rootDo(t, a, res.RootToken, logical.UpdateOperation, "sys/mounts/probe", map[string]any{"type": "probe"})
	accessor := rootDo(t, a, res.RootToken, logical.ReadOperation, "sys/mounts/probe", nil).Data["accessor"]

	waitFor(t, 20*time.Second, "periodic runs on the active node", func() bool { return pa.runs.Load() >= 3 && pa.rollback.Load() >= 3 })
	if got := pb.runs.Load(); got != 0 {
		t.Fatalf("the standby ran the periodic func %d times", got)
	}
	if got := pa.accessor.Load(); got != accessor {
		t.Fatalf("periodic request's mount accessor %v, want %v", got, accessor)
	}

	// Step-down: a becomes a standby, b takes over.
	if err := a.StepDown(ctx); err != nil {
		t.Fatal(err)
	}
	stoppedA := pa.runs.Load()
	waitFor(t, 20*time.Second, "b active", func() bool { return !b.Standby() })
	waitFor(t, 20*time.Second, "periodic runs on the new active node", func() bool { return pb.runs.Load() >= 3 })
	if got := pa.runs.Load(); got != stoppedA {
		t.Fatalf("the stepped-down node ran the periodic func %d more times", got-stoppedA)
	}

	// Seal: b stops; a, made leader again, resumes.
	if err := b.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	stoppedB := pb.runs.Load()
	a.haNode.EndStepDownHold()
	g.setLeader("a")
	waitFor(t, 20*time.Second, "a active again", func() bool { return !a.Standby() })
	waitFor(t, 20*time.Second, "periodic runs resume on a", func() bool { return pa.runs.Load() >= stoppedA+3 })
	if got := pb.runs.Load(); got != stoppedB {
		t.Fatalf("the sealed node ran the periodic func %d more times", got-stoppedB)
	}
	if pa.overlap.Load() || pb.overlap.Load() {
		t.Fatal("two runs of one mount overlapped")
	}
}

func newProbeCore(t *testing.T, p *periodicProbe) (*Core, string) {
	t.Helper()
	c, err := New(probeConfig(inmem.New(), p))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := c.Init(ctx, InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Unseal(ctx, res.Keys[0]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Seal(context.Background()) })
	rootDo(t, c, res.RootToken, logical.UpdateOperation, "sys/mounts/probe", map[string]any{"type": "probe"})
	return c, res.RootToken
}

// TestPeriodicPanicDoesNotStopCore: a periodic func that panics is logged;
// the core keeps serving and the next runs come.
func TestPeriodicPanicDoesNotStopCore(t *testing.T) {
	p := &periodicProbe{}
	p.panicFirst.Store(true)
	c, root := newProbeCore(t, p)
	waitFor(t, 20*time.Second, "runs after the panic", func() bool { return p.runs.Load() >= 3 })
	if c.Sealed() {
		t.Fatal("the core sealed")
	}
	rootDo(t, c, root, logical.ReadOperation, "sys/mounts", nil)
}

// TestPeriodicStopsAtSeal: sealing cancels a run's context, and a run that
// ignores its context neither blocks the seal nor gets a second run
// beside it.
func TestPeriodicStopsAtSeal(t *testing.T) {
	t.Run("context ends at seal", func(t *testing.T) {
		p := &periodicProbe{waitCtx: true}
		c, _ := newProbeCore(t, p)
		waitFor(t, 20*time.Second, "a run", func() bool { return p.runs.Load() >= 1 })
		if err := c.Seal(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := p.ctxEnded.Load(); got != 1 {
			t.Fatalf("%d runs saw their context end at seal, want 1", got)
		}
	})
	t.Run("a stuck run does not block the seal", func(t *testing.T) {
		p := &periodicProbe{hold: make(chan struct{})}
		defer close(p.hold)
		c, _ := newProbeCore(t, p)
		waitFor(t, 20*time.Second, "a run", func() bool { return p.runs.Load() >= 1 })
		if err := c.Seal(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !c.Sealed() {
			t.Fatal("not sealed")
		}
		if got := p.runs.Load(); got != 1 || p.overlap.Load() {
			t.Fatalf("%d runs (overlap %v) while the first was stuck, want 1", got, p.overlap.Load())
		}
	})
}
