package testcluster

import (
	"context"
	"errors"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// Errors scenario code can branch on.
var (
	// ErrNoActive: no running node reports itself active.
	ErrNoActive = errors.New("no active node")
	// ErrManyActive: more than one node reports itself active at once (a
	// deposed leader that has not noticed yet, or split brain).
	ErrManyActive = errors.New("more than one active node")
	// ErrNotRunning: the operation needs a running node.
	ErrNotRunning = errors.New("node is not running")
	// ErrRunning: the node is already running.
	ErrRunning = errors.New("node is already running")
	// ErrNoFaults: the cluster was built without fault injection
	// (Options.Proxies), or this platform cannot tell who opened a link.
	ErrNoFaults = errors.New("fault injection is not available")
)

// State is a node's process state as the runner knows it.
type State int

// Node states.
const (
	Stopped State = iota // not started, stopped, killed or crashed
	Running
	Paused // SIGSTOP'd (or frozen, in-process)
)

// String names the state.
func (s State) String() string {
	switch s {
	case Running:
		return "running"
	case Paused:
		return "paused"
	}
	return "stopped"
}

// Node is one Strongbox server under test. Lifecycle methods return errors
// instead of taking a *testing.T so a scenario can call them from other
// goroutines (t.Fatal must only run on the test goroutine). All methods are
// safe for concurrent use.
type Node interface {
	// ID is the node's name, also its raft node_id ("node0", "node1", …).
	ID() string
	// Start launches the node and returns once its API answers HTTP (sealed
	// or not). It returns ErrRunning if the node is running or paused. With
	// no deadline on ctx a default one applies.
	Start(ctx context.Context) error
	// Stop shuts the node down gracefully (SIGTERM) and waits for it to exit;
	// it returns an error if the node did not exit cleanly before ctx ended
	// (it is then killed). Stopping a stopped node is a no-op.
	Stop(ctx context.Context) error
	// Kill stops the node abruptly (SIGKILL): nothing is flushed, in-flight
	// requests get their connections reset. Killing a stopped node is a no-op.
	Kill() error
	// Pause freezes the node (SIGSTOP): its sockets stay open but nothing is
	// answered. Resume undoes it.
	Pause() error
	// Resume continues a paused node (SIGCONT).
	Resume() error
	// Restart is Stop (when running) then Start, on the same data and ports.
	Restart(ctx context.Context) error
	// State reports whether the node is running, paused or stopped.
	State() State
	// APIAddr is the node's api_addr, "http://127.0.0.1:port".
	APIAddr() string
	// ClusterAddr is the node's advertised cluster_addr,
	// "https://127.0.0.1:port": its fault proxy's address when it has one.
	ClusterAddr() string
	// Client returns a fresh official API client for this node with the
	// given token ("" for none), no retries and a bounded timeout; VAULT_*
	// environment variables of the test process do not leak into it.
	Client(token string) *vault.Client
	// DataDir is the node's storage directory; it survives restarts.
	DataDir() string
	// Link is the node's inbound cluster link, for cutting or slowing it; nil
	// when the cluster has no fault injection.
	Link() Link
}

// Link is a fault-injectable network path into one node's cluster port.
// Proxy implements it.
type Link interface {
	// Cut stops all traffic in both directions, on open and new connections.
	Cut()
	// CutDirection stops traffic in one direction only.
	CutDirection(d Direction)
	// Delay holds every chunk of data for d in both directions (0 removes it).
	Delay(d time.Duration)
	// DelayDirection delays one direction only.
	DelayDirection(dir Direction, d time.Duration)
	// Heal removes every cut, block and delay; held data flows again.
	Heal()
}

// Cluster is a set of nodes under test, written against by scenarios. The
// helpers taking a testing.TB fail the test on error and must be called from
// the test goroutine; every wait is bounded.
type Cluster interface {
	// Nodes returns every node, in ID order.
	Nodes() []Node
	// Init initializes the cluster through its first node and remembers the
	// unseal keys and root token for UnsealAll and RootToken.
	Init(t testing.TB) (keys []string, root string)
	// UnsealAll unseals every running node that is sealed, retrying while a
	// node is still joining, until all are unsealed or the deadline passes.
	UnsealAll(t testing.TB)
	// Unseal unseals one node with the remembered keys, retrying until it is
	// unsealed or ctx ends.
	Unseal(ctx context.Context, n Node) error
	// WaitForActive polls /v1/sys/health until exactly one running node
	// answers 200 (active) and returns it.
	WaitForActive(t testing.TB, timeout time.Duration) Node
	// WaitForStandbys polls until every running node but the active answers
	// 429 or 473 (standby, performance standby) and returns them.
	WaitForStandbys(t testing.TB, timeout time.Duration) []Node
	// Leader asks every running node once and returns the one that is active:
	// ErrNoActive or ErrManyActive otherwise.
	Leader(ctx context.Context) (Node, error)
	// Partition splits the cluster links into groups: a node reaches only the
	// nodes of its own group. Every node must be in exactly one group.
	// ErrNoFaults without fault injection.
	Partition(groups ...[]Node) error
	// Heal removes every partition, cut and delay.
	Heal()
	// RootToken is the root token from Init ("" before).
	RootToken() string
	// UnsealKeys are the unseal keys from Init (nil before).
	UnsealKeys() []string
}

// Options shape a cluster. Zero values take the defaults noted.
type Options struct {
	// Nodes is the number of nodes: default 1 for file storage, 3 for raft.
	Nodes int
	// Storage is "raft" or "file" (default "file"). File storage has no HA
	// and allows one node only.
	Storage string
	// Proxies puts a fault Proxy in front of each node's cluster listener and
	// advertises it as the node's cluster_addr (see Node.Link, Partition).
	Proxies bool
	// KeyShares and KeyThreshold for Init (default 3 and 2).
	KeyShares, KeyThreshold int
	// Binary is the strongbox binary to run (default: Build).
	Binary string
	// LogLevel of the servers (default "debug").
	LogLevel string
	// ExtraConfig is HCL appended to every node's configuration.
	ExtraConfig string
	// NodeConfig, when set, returns HCL appended to one node's
	// configuration (e.g. a second listener on a port of its own).
	NodeConfig func(nodeID string) string
	// StorageConfig is HCL placed inside every node's storage stanza
	// (e.g. `performance_multiplier = 1`).
	StorageConfig string
	// StartTimeout bounds starting each node (default 30s).
	StartTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Storage == "" {
		o.Storage = "file"
	}
	if o.Nodes == 0 {
		o.Nodes = 1
		if o.Storage == "raft" {
			o.Nodes = 3
		}
	}
	if o.KeyShares == 0 {
		o.KeyShares = 3
	}
	if o.KeyThreshold == 0 {
		o.KeyThreshold = 2
	}
	if o.LogLevel == "" {
		o.LogLevel = "debug"
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 30 * time.Second
	}
	return o
}
