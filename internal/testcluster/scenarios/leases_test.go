package scenarios

import (
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// TestLeasesExpireAfterFailover: tokens with short TTLs are leases; after
// the active node is killed, the new active node restores those leases
// and revokes the tokens at their expiry: the lease list empties and the
// tokens stop working.
func TestLeasesExpireAfterFailover(t *testing.T) {
	const ttl = 20 * time.Second
	c := raftCluster(t, 3)
	active := c.WaitForActive(t, 30*time.Second)
	root := active.Client(c.RootToken())
	created := time.Now()
	var tokens []string
	for range 5 {
		s, err := root.Auth().Token().Create(&vault.TokenCreateRequest{TTL: ttl.String(), Policies: []string{"default"}})
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, s.Auth.ClientToken)
	}
	if n := leaseCount(t, root); n != 5 {
		t.Fatalf("%d token leases listed, want 5", n)
	}

	if err := active.Kill(); err != nil {
		t.Fatal(err)
	}
	next := c.WaitForActive(t, 60*time.Second)
	if next.ID() == active.ID() {
		t.Fatalf("killed node %s still reported active", active.ID())
	}
	nroot := next.Client(c.RootToken())
	// Observed before the tokens expire, the new active node lists the
	// leases it restored.
	n := leaseCount(t, nroot)
	if time.Since(created) < ttl-2*time.Second && n != 5 {
		t.Fatalf("new active node lists %d token leases before their expiry, want 5", n)
	}
	t.Logf("failover to %s after %v; %d leases listed", next.ID(), time.Since(created).Round(time.Millisecond), n)

	deadline := time.Now().Add(ttl + 60*time.Second)
	for leaseCount(t, nroot) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the new active node did not revoke the expired token leases")
		}
		time.Sleep(250 * time.Millisecond)
	}
	for i, tok := range tokens {
		if _, err := nroot.Auth().Token().Lookup(tok); err == nil {
			t.Errorf("token %d still valid after its lease expired", i)
		}
	}
	t.Logf("leases revoked %v after creation (TTL %v)", time.Since(created).Round(time.Millisecond), ttl)
}

// leaseCount lists the token leases under auth/token/create/ (404: none).
func leaseCount(t *testing.T, c *vault.Client) int {
	t.Helper()
	s, err := c.Logical().List("sys/leases/lookup/auth/token/create/")
	if err != nil {
		t.Fatalf("list leases: %v", err)
	}
	if s == nil {
		return 0
	}
	keys, _ := s.Data["keys"].([]any)
	return len(keys)
}
