package scenarios

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/seal/sealtest"
	"github.com/strongbox/strongbox/internal/testcluster"
)

// TestSealMigrationRaft migrates a 3-node raft cluster from Shamir to a
// pkcs11 seal (SoftHSM2: every node loads the same token directory, so all
// see one key) and back to Shamir, by Vault's procedure: each standby is
// restarted with the migration configuration and unsealed with the old
// seal's keys and -migrate, then the active node steps down and its
// successor migrates; the old active restarts with the new seal. A workload
// runs through every node across each step and its history must be
// linearizable with no acknowledged write lost; data written before is
// read back after each step.
func TestSealMigrationRaft(t *testing.T) {
	hsm := sealtest.StartSoftHSM(t, "strongbox-migrate") // before the cluster: its nodes inherit SOFTHSM2_CONF
	c := raftCluster(t, 3)
	m := newMigrator(t, c)
	pkcs11 := func(disabled bool) string {
		s := fmt.Sprintf("seal \"pkcs11\" {\n  lib          = %q\n  slot         = %q\n  pin          = %q\n  key_label    = \"strongbox-root\"\n  generate_key = \"true\"\n", hsm.Lib, hsm.SlotString(), hsm.PIN)
		if disabled {
			s += "  disabled     = \"true\"\n"
		}
		return s + "}\n"
	}
	m.seed()

	// Shamir → pkcs11: the new stanza alone; the unseal keys become the
	// recovery keys.
	checkedStep(t, c, "to-pkcs11/", 30*time.Second, func() {
		m.migrate(pkcs11(false), pkcs11(false), "pkcs11", true)
	})
	m.check("pkcs11", true)

	// pkcs11 → Shamir: the pkcs11 stanza marked disabled; the recovery
	// keys (the first unseal keys) become the unseal keys again.
	checkedStep(t, c, "to-shamir/", 30*time.Second, func() {
		m.migrate(pkcs11(true), "", "shamir", false)
	})
	m.check("shamir", false)

	// No node logged a key share.
	for _, n := range c.ProcessNodes() {
		raw, err := os.ReadFile(n.LogPath())
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range m.keys {
			if strings.Contains(string(raw), k) {
				t.Errorf("%s logged a key share", n.ID())
			}
		}
	}
}

// checkedStep is runChecked on keys of their own (prefix): each step's
// history starts from absent keys, as its checker assumes.
func checkedStep(t *testing.T, c *testcluster.ProcessCluster, prefix string, d time.Duration, step func()) {
	t.Helper()
	rec := testcluster.NewRecorder()
	w := &testcluster.Workload{Recorder: rec, Nodes: c.Nodes(), Token: c.RootToken(), Clients: 8, Keys: 4, Duration: d, Prefix: prefix}
	done := make(chan testcluster.WorkloadStats, 1)
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	go func() {
		stats, _ := w.Run(ctx)
		done <- stats
	}()
	step()
	stats := <-done
	if err := w.FinalReads(ctx, c.WaitForActive(t, 30*time.Second)); err != nil {
		t.Fatalf("final reads: %v", err)
	}
	report := rec.Check(t, 60*time.Second)
	t.Logf("%s: %s; %s; longest wait between acknowledged writes %v", prefix, stats, report, longestAckGap(rec))
	if stats.AckedWrites == 0 {
		t.Fatal("no write was acknowledged: the step tested nothing")
	}
}

// longestAckGap is the longest time no write was acknowledged: a figure
// for the log (how long the leadership change kept writes waiting), not an
// assertion.
func longestAckGap(rec *testcluster.Recorder) time.Duration {
	var acks []time.Duration
	for _, o := range rec.Operations() {
		if o.Kind == testcluster.Put && o.Outcome == testcluster.OK {
			acks = append(acks, o.Return)
		}
	}
	slices.Sort(acks)
	var gap time.Duration
	for i := 1; i < len(acks); i++ {
		gap = max(gap, acks[i]-acks[i-1])
	}
	return gap
}

// migrator drives one cluster's seal migrations.
type migrator struct {
	t    *testing.T
	c    *testcluster.ProcessCluster
	base map[string]string // each node's generated configuration
	keys []string          // the unseal keys from init: recovery keys in between
	data map[string]string
}

func newMigrator(t *testing.T, c *testcluster.ProcessCluster) *migrator {
	m := &migrator{t: t, c: c, base: map[string]string{}, keys: c.UnsealKeys(), data: map[string]string{}}
	for _, n := range c.ProcessNodes() {
		raw, err := os.ReadFile(n.ConfigPath())
		if err != nil {
			t.Fatal(err)
		}
		m.base[n.ID()] = string(raw)
	}
	return m
}

// seed writes the secrets every step must keep.
func (m *migrator) seed() {
	m.t.Helper()
	active := m.c.WaitForActive(m.t, 30*time.Second)
	for i := range 5 {
		k, v := fmt.Sprintf("keep/%d", i), fmt.Sprintf("value-%d", i)
		if _, err := active.Client(m.c.RootToken()).KVv2("secret").Put(context.Background(), k, map[string]any{"v": v}); err != nil {
			m.t.Fatal(err)
		}
		m.data[k] = v
	}
}

// check reads the seeded secrets through every node and checks that all
// report the seal type.
func (m *migrator) check(sealType string, recovery bool) {
	m.t.Helper()
	m.c.WaitForActive(m.t, 30*time.Second)
	m.c.WaitForStandbys(m.t, 30*time.Second)
	for _, n := range m.c.Nodes() {
		st, err := n.Client("").Sys().SealStatus()
		if err != nil || st.Type != sealType || st.RecoverySeal != recovery || st.Migration || st.Sealed {
			m.t.Fatalf("%s: seal-status %+v %v; want type %s", n.ID(), st, err, sealType)
		}
		for k, v := range m.data {
			s, err := n.Client(m.c.RootToken()).KVv2("secret").Get(context.Background(), k)
			if err != nil || s.Data["v"] != v {
				m.t.Fatalf("%s: %s = %v %v; want %q", n.ID(), k, s, err, v)
			}
		}
	}
}

// migrate runs Vault's procedure: standbys one at a time with migration,
// then a step-down; then the old active restarts with final (and the other
// standby too, so only the new active keeps the migration configuration).
// newType is the seal migrated to; oldAuto whether the one left is an
// auto seal (its recovery keys are then what the nodes want).
func (m *migrator) migrate(migration, final, newType string, toAuto bool) {
	t := m.t
	t.Helper()
	active := m.c.WaitForActive(t, 30*time.Second)
	var standbys []*testcluster.ProcessNode
	for _, n := range m.c.ProcessNodes() {
		if n.ID() != active.ID() {
			standbys = append(standbys, n)
		}
	}
	for i, n := range standbys {
		m.restart(n, migration)
		cl := n.Client("")
		st, err := cl.Sys().SealStatus()
		if err != nil || !st.Sealed || !st.Migration || st.T != 2 || st.N != 3 {
			t.Fatalf("%s after the restart: %+v %v; want sealed in migration mode", n.ID(), st, err)
		}
		if _, err := cl.Sys().Unseal(m.keys[0]); err == nil || !strings.Contains(err.Error(), "migrate option not provided and seal migration is pending") {
			t.Fatalf("%s: unseal without -migrate: %v", n.ID(), err)
		}
		if i == 0 {
			// Wrong old keys change nothing.
			var err error
			for range 2 {
				_, err = cl.Sys().UnsealWithOptions(&vault.UnsealOpts{Key: randomShare(t), Migrate: true})
			}
			if err == nil {
				t.Fatalf("%s: a migrate unseal with wrong keys succeeded", n.ID())
			}
			if st, err := cl.Sys().SealStatus(); err != nil || !st.Sealed || !st.Migration || st.Progress != 0 {
				t.Fatalf("%s after wrong keys: %+v %v", n.ID(), st, err)
			}
		}
		for _, k := range m.keys[:2] {
			if _, err := cl.Sys().UnsealWithOptions(&vault.UnsealOpts{Key: k, Migrate: true}); err != nil {
				t.Fatalf("%s: migrate unseal: %v", n.ID(), err)
			}
		}
		m.waitStandby(n)
	}

	// One leadership change: a migration-mode standby takes over and
	// migrates.
	if err := active.Client(m.c.RootToken()).Sys().StepDown(); err != nil {
		t.Fatalf("step-down: %v", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		leader, err := m.c.Leader(ctx)
		cancel()
		if err == nil && leader.ID() != active.ID() {
			if st, err := leader.Client("").Sys().SealStatus(); err == nil && st.Type == newType && !st.Migration {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the seal migration to %s did not complete (leader %v, %v)", newType, leader, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	leader := m.c.WaitForActive(t, 30*time.Second)

	// The old active and the other standby move to the final configuration.
	for _, n := range m.c.ProcessNodes() {
		if n.ID() == leader.ID() {
			continue
		}
		m.restart(n, final)
		if !toAuto {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			err := m.c.Unseal(ctx, n)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
		}
		m.waitStandby(n)
	}
}

// restart stops n, writes its configuration with the seal stanzas and
// starts it again.
func (m *migrator) restart(n *testcluster.ProcessNode, seals string) {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := n.Stop(ctx); err != nil {
		m.t.Fatal(err)
	}
	if err := os.WriteFile(n.ConfigPath(), []byte(m.base[n.ID()]+"\n"+seals), 0o600); err != nil {
		m.t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		m.t.Fatal(err)
	}
}

// waitStandby waits until n is an unsealed standby.
func (m *migrator) waitStandby(n testcluster.Node) {
	m.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		h, err := n.Client("").Sys().Health()
		if err == nil && h.Initialized && !h.Sealed && h.Standby {
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("%s never became a standby: %+v %v", n.ID(), h, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// randomShare is a key share of no cluster's key, hex-encoded.
func randomShare(t *testing.T) string {
	t.Helper()
	b := make([]byte, 33)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
