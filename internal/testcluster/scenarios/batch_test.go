package scenarios

import (
	"context"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/testcluster"
)

// TestBatchTokenSurvivesFailoverAndRotation: batch tokens made on the
// leader of a 3-node raft cluster (an orphan, a child of the root token,
// one made after a key rotation) work through every node, keep working after the leader is stopped
// and another node takes over, and after a key rotation there; a batch
// token made by the new leader works everywhere too. Nothing about them is
// stored: they carry their entry, sealed with the replicated keyring.
func TestBatchTokenSurvivesFailoverAndRotation(t *testing.T) {
	c := raftCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	active := c.WaitForActive(t, 10*time.Second)
	rc := active.Client(c.RootToken())
	if _, err := rc.KVv2("secret").Put(ctx, "creds", map[string]any{"user": "app"}); err != nil {
		t.Fatal(err)
	}
	if err := rc.Sys().PutPolicy("reader", `path "secret/data/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	orphan, err := rc.Auth().Token().CreateOrphan(&vault.TokenCreateRequest{Type: "batch", Policies: []string{"reader"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	child, err := rc.Auth().Token().Create(&vault.TokenCreateRequest{Type: "batch", Policies: []string{"reader"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{"orphan": orphan.Auth.ClientToken, "child of root": child.Auth.ClientToken}
	// One made under a new key term on the first leader: the next leader
	// must know that term (its keyring follows through raft, or reloads).
	if err := rc.Sys().Rotate(); err != nil {
		t.Fatal(err)
	}
	rotated, err := rc.Auth().Token().CreateOrphan(&vault.TokenCreateRequest{Type: "batch", Policies: []string{"reader"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	tokens["made after a rotate on the first leader"] = rotated.Auth.ClientToken

	readAll := func(stage string, nodes []testcluster.Node) {
		t.Helper()
		for _, n := range nodes {
			for name, tok := range tokens {
				s, err := n.Client(tok).KVv2("secret").Get(ctx, "creds")
				if err != nil || s.Data["user"] != "app" {
					t.Fatalf("%s: %s batch token through %s: %v %v", stage, name, n.ID(), s, err)
				}
			}
		}
	}
	readAll("before failover", c.Nodes())

	if err := active.Stop(ctx); err != nil {
		t.Fatalf("stop leader %s: %v", active.ID(), err)
	}
	next := c.WaitForActive(t, 30*time.Second)
	if next == active {
		t.Fatal("the stopped node is still active")
	}
	var running []testcluster.Node
	for _, n := range c.Nodes() {
		if n != active {
			running = append(running, n)
		}
	}
	readAll("after failover to "+next.ID(), running)

	nc := next.Client(c.RootToken())
	if err := nc.Sys().Rotate(); err != nil {
		t.Fatal(err)
	}
	made, err := nc.Auth().Token().CreateOrphan(&vault.TokenCreateRequest{Type: "batch", Policies: []string{"reader"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	tokens["made by the new leader after rotate"] = made.Auth.ClientToken
	readAll("after rotate", running)
	look, err := next.Client(made.Auth.ClientToken).Auth().Token().LookupSelf()
	if err != nil || look.Data["type"] != "batch" || look.Data["orphan"] != true {
		t.Fatalf("lookup-self on %s: %v %v", next.ID(), look, err)
	}

	// The old leader comes back as a standby and takes the new term's
	// tokens too.
	if err := active.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Unseal(ctx, active); err != nil {
		t.Fatal(err)
	}
	c.WaitForStandbys(t, 30*time.Second)
	readAll("after the old leader rejoined", c.Nodes())
}
