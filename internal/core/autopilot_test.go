package core

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/core/ha"

	"github.com/strongbox/strongbox/internal/core/raftops"

	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// pilotStorage is raft storage as the core sees it, over inmem: a one-node
// cluster that always leads, recording what the core asks of autopilot.
type pilotStorage struct {
	*inmem.Backend

	mu      sync.Mutex
	app     raftops.AutopilotApp
	enables int
	conf    *raftops.AutopilotConfig
	state   map[string]any
	joins   map[string]bool // id → joined as a non-voter
	added   map[string]bool // id → AddPeer voter flag
	boot    bool
}

var (
	_ raftops.RaftStorage      = (*pilotStorage)(nil)
	_ raftops.AutopilotStorage = (*pilotStorage)(nil)
)

func (p *pilotStorage) NodeID() string   { return "node0" }
func (p *pilotStorage) IsLeader() bool   { return true }
func (p *pilotStorage) LeaderID() string { return "node0" }
func (p *pilotStorage) WatchLeadership() (<-chan bool, func()) {
	ch := make(chan bool, 1)
	ch <- true
	return ch, func() {}
}
func (p *pilotStorage) TransferLeadership(context.Context) error {
	return errors.New("no other voter")
}
func (p *pilotStorage) ConsistentRead(context.Context) error { return nil }
func (p *pilotStorage) VerifyLeader(context.Context) error   { return nil }
func (p *pilotStorage) HasState() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.boot
}
func (p *pilotStorage) Bootstrap(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.boot = true
	return nil
}
func (p *pilotStorage) AddPeer(_ context.Context, id, _ string, voter bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.added[id] = voter
	return nil
}
func (p *pilotStorage) RemovePeer(context.Context, string) error { return nil }
func (p *pilotStorage) Peers(context.Context) ([]raftops.RaftPeer, error) {
	return []raftops.RaftPeer{{ID: "node0", Address: "127.0.0.1:8201", Leader: true, Voter: true}}, nil
}

func (p *pilotStorage) EnableAutopilot(app raftops.AutopilotApp) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.app = app
	p.enables++
}

func (p *pilotStorage) SetAutopilotConfig(c raftops.AutopilotConfig) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conf = &c
}

func (p *pilotStorage) AutopilotState() map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

func (p *pilotStorage) AutopilotLocal() raftops.AutopilotLocal {
	return raftops.AutopilotLocal{AppliedIndex: 42, Term: 3, RedundancyZone: "zone-a"}
}

func (p *pilotStorage) JoinPeer(_ context.Context, id, _ string, nonVoter bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.joins[id] = nonVoter
	return nil
}

func (p *pilotStorage) appConf() (raftops.AutopilotApp, *raftops.AutopilotConfig) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.app, p.conf
}

type pilotCore struct {
	c    *Core
	st   *pilotStorage
	root string
	keys [][]byte
}

// newPilotCore is an initialized, unsealed, active core on pilotStorage.
func newPilotCore(t testing.TB) *pilotCore {
	t.Helper()
	st := &pilotStorage{Backend: inmem.New(), joins: map[string]bool{}, added: map[string]bool{}}
	c, err := New(Config{
		Physical: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "1.0.0",
		SecretEngines: builtin.SecretEngines(), AuthMethods: builtin.AuthMethods(),
	})
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
	deadline := time.Now().Add(10 * time.Second)
	for c.Standby() || c.Sealed() {
		if time.Now().After(deadline) {
			t.Fatal("the core never became active")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return &pilotCore{c: c, st: st, root: res.RootToken, keys: res.Keys}
}

func (p *pilotCore) do(t testing.TB, op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	t.Helper()
	res, err := p.c.HandleRequest(context.Background(), &logical.Request{
		Operation: op, Path: path, Data: data, ClientToken: p.root,
	})
	if err != nil {
		return nil, err
	}
	return res.Response, nil
}

const autopilotConfigPath = "sys/storage/raft/autopilot/configuration"

func TestAutopilotConfigurationEndpoint(t *testing.T) {
	p := newPilotCore(t)
	read := func() map[string]any {
		t.Helper()
		resp, err := p.do(t, logical.ReadOperation, autopilotConfigPath, nil)
		if err != nil || resp == nil {
			t.Fatalf("read configuration: %v %v", resp, err)
		}
		return resp.Data
	}
	want := map[string]any{
		"cleanup_dead_servers": false, "last_contact_threshold": "10s", "dead_server_last_contact_threshold": "24h0m0s",
		"max_trailing_logs": uint64(1000), "min_quorum": uint(0), "server_stabilization_time": "10s",
		"disable_upgrade_migration": false,
	}
	check := func(what string) {
		t.Helper()
		got := read()
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s = %#v, want %#v", what, k, got[k], v)
			}
		}
	}
	check("defaults")

	bad := []struct {
		name string
		data map[string]any
		msg  string
	}{
		{"cleanup without min_quorum", map[string]any{"cleanup_dead_servers": true},
			"min_quorum must be set when cleanup_dead_servers is set and it should at least be 3; cleanup_dead_servers: true, min_quorum: 0x0"},
		{"min_quorum too small", map[string]any{"cleanup_dead_servers": true, "min_quorum": 2}, "min_quorum must be set"},
		{"negative trailing logs", map[string]any{"max_trailing_logs": -1}, "max_trailing_logs must not be negative"},
		{"negative duration", map[string]any{"server_stabilization_time": -5}, "server_stabilization_time must not be negative"},
		{"not a duration", map[string]any{"last_contact_threshold": "soon"}, "last_contact_threshold"},
		{"not a boolean", map[string]any{"cleanup_dead_servers": "maybe"}, "cleanup_dead_servers"},
	}
	for _, b := range bad {
		_, err := p.do(t, logical.UpdateOperation, autopilotConfigPath, b.data)
		if code, msg := logical.StatusOf(err); code != http.StatusBadRequest || !strings.Contains(msg, b.msg) {
			t.Errorf("%s: %d %q, want 400 containing %q", b.name, code, msg, b.msg)
		}
	}
	check("after refused updates")
	if _, conf := p.st.appConf(); conf != nil {
		t.Fatalf("a refused update reached autopilot: %+v", conf)
	}

	resp, err := p.do(t, logical.UpdateOperation, autopilotConfigPath, map[string]any{
		"cleanup_dead_servers": true, "min_quorum": "3", "dead_server_last_contact_threshold": "5s",
		"server_stabilization_time": 2, "last_contact_threshold": "4s", "max_trailing_logs": 50,
		"disable_upgrade_migration": true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp == nil || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "under 1m") {
		t.Errorf("want a warning about the short dead server threshold, got %+v", resp)
	}
	want = map[string]any{
		"cleanup_dead_servers": true, "last_contact_threshold": "4s", "dead_server_last_contact_threshold": "5s",
		"max_trailing_logs": uint64(50), "min_quorum": uint(3), "server_stabilization_time": "2s",
		"disable_upgrade_migration": true,
	}
	check("after update")
	effective := raftops.AutopilotConfig{
		CleanupDeadServers: true, LastContactThreshold: 4 * time.Second, DeadServerLastContactThreshold: 5 * time.Second,
		MaxTrailingLogs: 50, MinQuorum: 3, ServerStabilizationTime: 2 * time.Second, DisableUpgradeMigration: true,
	}
	app, conf := p.st.appConf()
	if conf == nil || *conf != effective {
		t.Fatalf("autopilot got %+v, want %+v", conf, effective)
	}

	// A partial update keeps the other fields; Vault's merge rule: zero
	// leaves a field as it was.
	if _, err := p.do(t, logical.UpdateOperation, autopilotConfigPath, map[string]any{"min_quorum": 5, "max_trailing_logs": 0}); err != nil {
		t.Fatal(err)
	}
	want["min_quorum"] = uint(5)
	check("after a partial update")

	// The next active node loads the same configuration from storage.
	effective.MinQuorum = 5
	loaded, records, err := app.LoadAutopilot(context.Background())
	if err != nil || loaded != effective || records != nil {
		t.Fatalf("LoadAutopilot = %+v %q %v, want %+v", loaded, records, err, effective)
	}
	if err := app.SaveAutopilotServers(context.Background(), []byte(`{"node1":{}}`)); err != nil {
		t.Fatal(err)
	}
	if _, records, err := app.LoadAutopilot(context.Background()); err != nil || string(records) != `{"node1":{}}` {
		t.Fatalf("server records %q %v", records, err)
	}
}

func TestAutopilotStateAndLifecycle(t *testing.T) {
	p := newPilotCore(t)
	app, _ := p.st.appConf()
	if app == nil || !app.AutopilotActive() {
		t.Fatal("becoming active did not hand autopilot an active core")
	}
	// Autopilot not running (yet): nothing to show.
	resp, err := p.do(t, logical.ReadOperation, "sys/storage/raft/autopilot/state", nil)
	if err != nil || resp != nil {
		t.Fatalf("state before autopilot runs: %+v %v", resp, err)
	}
	p.st.mu.Lock()
	p.st.state = map[string]any{"healthy": true, "failure_tolerance": 1, "leader": "node0"}
	p.st.mu.Unlock()
	resp, err = p.do(t, logical.ReadOperation, "sys/storage/raft/autopilot/state", nil)
	if err != nil || resp == nil || resp.Data["leader"] != "node0" || resp.Data["healthy"] != true {
		t.Fatalf("state: %+v %v", resp, err)
	}

	// Heartbeats carry what autopilot judges a node by.
	e := p.c.LocalEcho()
	if e.AppliedIndex != 42 || e.Term != 3 || e.RedundancyZone != "zone-a" || e.UpgradeVersion != "1.0.0" || e.NonVoter {
		t.Fatalf("local echo %+v", e)
	}
	p.c.RecordEcho(ha.NodeEcho{NodeID: "node1", Version: "1.0.0", UpgradeVersion: "1.1.0", AppliedIndex: 40, Term: 3, NonVoter: true})
	f := app.AutopilotFollowers()["node1"]
	if f.UpgradeVersion != "1.1.0" || f.AppliedIndex != 40 || !f.NonVoter || time.Since(f.LastHeartbeat) > time.Minute {
		t.Fatalf("follower %+v", f)
	}
	if self := app.AutopilotSelf(); self.NodeID != "node0" || self.RedundancyZone != "zone-a" || self.LastHeartbeat.IsZero() {
		t.Fatalf("self %+v", self)
	}

	// Joining servers go through autopilot.
	ctx := context.Background()
	if err := p.c.raftops.AddPeer(ctx, "node1", "127.0.0.1:1", false); err != nil {
		t.Fatal(err)
	}
	if err := p.c.raftops.AddPeer(ctx, "node2", "127.0.0.1:2", true); err != nil {
		t.Fatal(err)
	}
	p.st.mu.Lock()
	joins, added := p.st.joins, len(p.st.added)
	p.st.mu.Unlock()
	if len(joins) != 2 || joins["node1"] || !joins["node2"] || added != 0 {
		t.Fatalf("joins %v, direct adds %d", joins, added)
	}

	// Sealing ends the core's active state: autopilot stops following it.
	if err := p.c.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	if app.AutopilotActive() {
		t.Fatal("a sealed core reports itself active to autopilot")
	}
	if err := app.SaveAutopilotServers(ctx, []byte("{}")); err == nil {
		t.Fatal("records saved while sealed")
	}
}

// FuzzAutopilotConfiguration sends arbitrary values: the answer is a
// success or a 400, never a server error, and a refused update changes
// nothing.
func FuzzAutopilotConfiguration(f *testing.F) {
	f.Add("true", "3", "10s", "24h", "1000", "10s", "false")
	f.Add("1", "-1", "-5", "1x", "abc", "", "yes")
	f.Add("false", "0", "0", "0", "0", "0", "0")
	f.Add("", "99999999999", "9999999999999h", "1d", "4294967296", "1.5", "t")
	p := newPilotCore(f)
	f.Fuzz(func(t *testing.T, cleanup, minQuorum, lct, dead, trailing, stab, disable string) {
		before, err := p.do(t, logical.ReadOperation, autopilotConfigPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		data := map[string]any{}
		for k, v := range map[string]string{
			"cleanup_dead_servers": cleanup, "min_quorum": minQuorum, "last_contact_threshold": lct,
			"dead_server_last_contact_threshold": dead, "max_trailing_logs": trailing,
			"server_stabilization_time": stab, "disable_upgrade_migration": disable,
		} {
			if v != "" {
				data[k] = v
			}
		}
		_, err = p.do(t, logical.UpdateOperation, autopilotConfigPath, data)
		if err == nil {
			return
		}
		if code, msg := logical.StatusOf(err); code != http.StatusBadRequest {
			t.Fatalf("%v: %d %s", data, code, msg)
		}
		after, err := p.do(t, logical.ReadOperation, autopilotConfigPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range before.Data {
			if after.Data[k] != v {
				t.Fatalf("%v refused but %s changed: %v → %v", data, k, v, after.Data[k])
			}
		}
	})
}
