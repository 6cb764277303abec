package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/core"
	"github.com/strongbox/strongbox/internal/core/expiration"
	"github.com/strongbox/strongbox/internal/logical"
)

// leaseEngine issues leased credentials: a read of creds/<name> returns a
// secret of type "creds" (TTL from the ttl field, else the mount's
// default). Its Revoke records each call and fails for the name "broken".
type leaseEngine struct {
	mu      sync.Mutex
	revoked map[string]int // user → Revoke calls that succeeded
	failed  int
}

func (e *leaseEngine) count(user string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.revoked[user]
}

func (e *leaseEngine) factory(_ context.Context, _ *logical.BackendConfig) (logical.Backend, error) {
	creds := &logical.SecretType{
		Type:   "creds",
		Fields: map[string]*logical.FieldSchema{"increment": {Type: logical.TypeDurationSecond}},
		Renew: func(_ context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
			return &logical.Response{Secret: &logical.Secret{LeaseOptions: logical.LeaseOptions{TTL: req.Secret.Increment, Renewable: true}}}, nil
		},
		Revoke: func(_ context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
			user, _ := req.Secret.InternalData["user"].(string)
			e.mu.Lock()
			defer e.mu.Unlock()
			if user == "broken" {
				e.failed++
				return nil, errors.New("database unreachable")
			}
			e.revoked[user]++
			return nil, nil
		},
	}
	return &logical.FrameworkBackend{
		Secrets: []*logical.SecretType{creds},
		Paths: []*logical.Path{{
			Pattern: "creds/(?P<name>.+)",
			Fields:  map[string]*logical.FieldSchema{"name": {Type: logical.TypeString}, "ttl": {Type: logical.TypeDurationSecond}},
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation: func(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
					name := d.Get("name").(string)
					resp := creds.Response(map[string]any{"username": name, "password": "pw-" + name}, map[string]any{"user": name})
					resp.Secret.TTL = time.Duration(d.Get("ttl").(int)) * time.Second
					return resp, nil
				},
			},
		}},
	}, nil
}

// loginMethod logs anyone in: login/<user> answers an Auth for a token
// with the default policy and a one-hour TTL.
func loginMethod(_ context.Context, _ *logical.BackendConfig) (logical.Backend, error) {
	return &logical.FrameworkBackend{
		PathsSpecial: &logical.Paths{Unauthenticated: []string{"login/*"}},
		Paths: []*logical.Path{{
			Pattern: "login/(?P<user>.+)",
			Fields:  map[string]*logical.FieldSchema{"user": {Type: logical.TypeString}},
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.UpdateOperation: func(_ context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
					return &logical.Response{Auth: &logical.Auth{
						Policies: []string{"default"}, DisplayName: d.Get("user").(string), LeaseDuration: time.Hour,
					}}, nil
				},
			},
		}},
	}, nil
}

func startLeaseServer(t *testing.T) (*vault.Client, *leaseEngine) {
	t.Helper()
	eng := &leaseEngine{revoked: map[string]int{}}
	engines := builtin.SecretEngines()
	engines["leasy"] = eng.factory
	auths := builtin.AuthMethods()
	auths["loginy"] = loginMethod
	client := rootClient(t, serveCore(t, core.Config{
		SecretEngines: engines, AuthMethods: auths,
		Expiration: expiration.Config{RetryBase: 50 * time.Millisecond, RetryMax: 100 * time.Millisecond, MaxRevokeAttempts: 3},
	}))
	if err := client.Sys().Mount("leasy", &vault.MountInput{Type: "leasy", Config: vault.MountConfigInput{DefaultLeaseTTL: "1h", MaxLeaseTTL: "2h"}}); err != nil {
		t.Fatal(err)
	}
	return client, eng
}

func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLeasesEndToEnd: a leased secret carries its lease in the envelope;
// lookup, renew (clamped by the mount's max TTL), revoke and revoke-prefix
// go through the engine; bad input is a 400 that changes nothing.
func TestLeasesEndToEnd(t *testing.T) {
	client, eng := startLeaseServer(t)

	s, err := client.Logical().Read("leasy/creds/alice")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.LeaseID, "leasy/creds/alice/") || !s.Renewable || s.LeaseDuration != 3600 {
		t.Fatalf("envelope: lease_id %q renewable %v lease_duration %d", s.LeaseID, s.Renewable, s.LeaseDuration)
	}
	id := s.LeaseID

	look, err := client.Sys().Lookup(id)
	if err != nil {
		t.Fatal(err)
	}
	if look.Data["id"] != id || look.Data["renewable"] != true || look.Data["last_renewal"] != nil {
		t.Fatalf("lookup: %v", look.Data)
	}
	expire := look.Data["expire_time"]

	// Bad input: each a 400, and the lease is unchanged.
	_, err = client.Sys().Renew(id, -5)
	wantStatus(t, err, http.StatusBadRequest, "negative")
	_, err = client.Sys().Renew("leasy/creds/alice/nope", 60)
	wantStatus(t, err, http.StatusBadRequest, "invalid lease")
	_, err = client.Sys().Lookup("leasy/creds/alice/nope")
	wantStatus(t, err, http.StatusBadRequest, "invalid lease")
	err = client.Sys().Revoke("leasy/creds/alice/nope")
	wantStatus(t, err, http.StatusBadRequest, "invalid lease")
	if look, err = client.Sys().Lookup(id); err != nil || look.Data["expire_time"] != expire {
		t.Fatalf("lease changed by refused requests: %v %v", look, err)
	}

	// Renew: the increment is clamped to the mount's max TTL (2h).
	r, err := client.Sys().Renew(id, 10*3600)
	if err != nil {
		t.Fatal(err)
	}
	if r.LeaseID != id || r.LeaseDuration <= 3600 || r.LeaseDuration > 7200 {
		t.Fatalf("renew: lease_id %q duration %d", r.LeaseID, r.LeaseDuration)
	}
	if look, err = client.Sys().Lookup(id); err != nil || look.Data["last_renewal"] == nil {
		t.Fatalf("lookup after renew: %v %v", look, err)
	}

	// LIST sys/leases/lookup/<prefix>.
	list, err := client.Logical().List("sys/leases/lookup/leasy/creds/alice/")
	if err != nil || list == nil {
		t.Fatalf("list: %v %v", list, err)
	}
	if keys := list.Data["keys"].([]any); len(keys) != 1 || "leasy/creds/alice/"+keys[0].(string) != id {
		t.Fatalf("list keys: %v", keys)
	}

	// Revoke goes through the engine; the lease is gone.
	if err := client.Sys().Revoke(id); err != nil {
		t.Fatal(err)
	}
	if eng.count("alice") != 1 {
		t.Fatalf("engine revoke calls: %d", eng.count("alice"))
	}
	_, err = client.Sys().Lookup(id)
	wantStatus(t, err, http.StatusBadRequest, "invalid lease")

	// Revoke-prefix ends every lease under the prefix.
	for _, n := range []string{"bob", "carol"} {
		if _, err := client.Logical().Read("leasy/creds/" + n); err != nil {
			t.Fatal(err)
		}
	}
	if err := client.Sys().RevokePrefix("leasy/creds"); err != nil {
		t.Fatal(err)
	}
	if eng.count("bob") != 1 || eng.count("carol") != 1 {
		t.Fatalf("revoke-prefix: bob %d carol %d", eng.count("bob"), eng.count("carol"))
	}
	if list, err := client.Logical().List("sys/leases/lookup/leasy/creds/"); err != nil || list != nil {
		t.Fatalf("leases left after revoke-prefix: %v %v", list, err)
	}

	// Legacy names.
	s, err = client.Logical().Read("leasy/creds/dave")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Logical().Write("sys/renew/"+s.LeaseID, map[string]any{"increment": 60}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Logical().Write("sys/revoke/"+s.LeaseID, nil); err != nil {
		t.Fatal(err)
	}
	if eng.count("dave") != 1 {
		t.Fatal("legacy sys/revoke did not reach the engine")
	}

	// sync=false: 202, and the workers revoke it.
	s, err = client.Logical().Read("leasy/creds/ivy")
	if err != nil {
		t.Fatal(err)
	}
	r2 := client.NewRequest(http.MethodPut, "/v1/sys/leases/revoke")
	if err := r2.SetJSONBody(map[string]any{"lease_id": s.LeaseID, "sync": false}); err != nil {
		t.Fatal(err)
	}
	raw, err := client.RawRequest(r2)
	if err != nil {
		t.Fatal(err)
	}
	raw.Body.Close()
	if raw.StatusCode != http.StatusAccepted {
		t.Fatalf("revoke sync=false: %d", raw.StatusCode)
	}
	pollUntil(t, "the background revocation", func() bool { return eng.count("ivy") == 1 })
}

// TestLeaseExpiryRevokes: a 2 s lease is revoked through the engine at its
// expiry, without a request.
func TestLeaseExpiryRevokes(t *testing.T) {
	client, eng := startLeaseServer(t)
	s, err := client.Logical().ReadWithData("leasy/creds/erin", map[string][]string{"ttl": {"2"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.LeaseDuration != 2 {
		t.Fatalf("lease_duration %d", s.LeaseDuration)
	}
	pollUntil(t, "the engine to revoke the expired lease", func() bool { return eng.count("erin") == 1 })
	_, err = client.Sys().Lookup(s.LeaseID)
	wantStatus(t, err, http.StatusBadRequest, "invalid lease")
}

// TestTokenRevocationRevokesItsLeases: revoking a token revokes the
// secrets it read; a token with a TTL is a lease that expires it.
func TestTokenRevocationRevokesItsLeases(t *testing.T) {
	client, eng := startLeaseServer(t)
	child, err := client.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"root"}})
	if err != nil {
		t.Fatal(err)
	}
	cc, _ := client.Clone()
	cc.SetToken(child.Auth.ClientToken)
	s, err := cc.Logical().Read("leasy/creds/frank")
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Auth().Token().RevokeTree(child.Auth.ClientToken); err != nil {
		t.Fatal(err)
	}
	if eng.count("frank") != 1 {
		t.Fatalf("engine revoke calls: %d", eng.count("frank"))
	}
	_, err = client.Sys().Lookup(s.LeaseID)
	wantStatus(t, err, http.StatusBadRequest, "invalid lease")

	// A token with a 2 s TTL has a lease under its creation path, and is
	// gone (with its lease) soon after it expires.
	short, err := client.Auth().Token().Create(&vault.TokenCreateRequest{TTL: "2s", Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	list, err := client.Logical().List("sys/leases/lookup/auth/token/create/")
	if err != nil || list == nil || len(list.Data["keys"].([]any)) != 1 {
		t.Fatalf("token leases: %v %v", list, err)
	}
	// Tokens cannot be renewed through sys/leases/renew (as in Vault).
	_, err = client.Sys().Renew("auth/token/create/"+list.Data["keys"].([]any)[0].(string), 60)
	wantStatus(t, err, http.StatusBadRequest, "tokens cannot be renewed")
	pollUntil(t, "the short token's lease to go", func() bool {
		l, err := client.Logical().List("sys/leases/lookup/auth/token/create/")
		return err == nil && l == nil
	})
	if _, err := client.Auth().Token().Lookup(short.Auth.ClientToken); err == nil {
		t.Fatal("expired token still valid")
	}
}

// TestIrrevocableLeaseRevokeForce: an engine that keeps failing makes the
// lease irrevocable after the retries; it stays listed until revoke-force
// deletes it.
func TestIrrevocableLeaseRevokeForce(t *testing.T) {
	client, eng := startLeaseServer(t)
	s, err := client.Logical().ReadWithData("leasy/creds/broken", map[string][]string{"ttl": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	pollUntil(t, "the lease to become irrevocable", func() bool {
		c, err := client.Logical().ReadWithData("sys/leases", map[string][]string{"type": {"irrevocable"}})
		if err != nil || c == nil {
			return false
		}
		ls, _ := c.Data["leases"].([]any)
		return len(ls) == 1 && ls[0].(map[string]any)["lease_id"] == s.LeaseID &&
			strings.Contains(ls[0].(map[string]any)["error"].(string), "database unreachable")
	})
	c, err := client.Logical().ReadWithData("sys/leases/count", map[string][]string{"type": {"irrevocable"}})
	if err != nil || c.Data["lease_count"] == nil {
		t.Fatalf("count: %v %v", c, err)
	}
	if _, err := client.Logical().ReadWithData("sys/leases/count", nil); err == nil {
		t.Fatal("count without type accepted")
	}
	// revoke-prefix still fails (the engine fails); revoke-force deletes.
	err = client.Sys().RevokePrefix("leasy/creds/broken")
	wantStatus(t, err, http.StatusBadRequest, "failed to revoke")
	if err := client.Sys().RevokeForce("leasy/creds/broken"); err != nil {
		t.Fatal(err)
	}
	c, err = client.Logical().ReadWithData("sys/leases", map[string][]string{"type": {"irrevocable"}})
	if err != nil {
		t.Fatal(err)
	}
	if ls, _ := c.Data["leases"].([]any); len(ls) != 0 {
		t.Fatalf("irrevocable after revoke-force: %v", ls)
	}
	if eng.failed < 3 {
		t.Fatalf("engine revoke attempts: %d", eng.failed)
	}
}

// TestLoginLeasesRevokePrefix: login tokens get leases under their login
// path, and revoke-prefix auth/<mount>/login logs everyone out.
func TestLoginLeasesRevokePrefix(t *testing.T) {
	client, _ := startLeaseServer(t)
	if err := client.Sys().EnableAuthWithOptions("loginy", &vault.EnableAuthOptions{Type: "loginy"}); err != nil {
		t.Fatal(err)
	}
	var tokens []string
	for _, u := range []string{"bob", "eve"} {
		s, err := client.Logical().Write("auth/loginy/login/"+u, nil)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, s.Auth.ClientToken)
		list, err := client.Logical().List("sys/leases/lookup/auth/loginy/login/" + u + "/")
		if err != nil || list == nil || len(list.Data["keys"].([]any)) != 1 {
			t.Fatalf("login lease of %s: %v %v", u, list, err)
		}
	}
	// Without sudo, refused and nothing revoked.
	if err := client.Sys().PutPolicy("leases", `path "sys/leases/revoke-prefix/*" { capabilities = ["update"] }`); err != nil {
		t.Fatal(err)
	}
	weak, err := client.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"leases"}})
	if err != nil {
		t.Fatal(err)
	}
	wc, _ := client.Clone()
	wc.SetToken(weak.Auth.ClientToken)
	wantStatus(t, wc.Sys().RevokePrefix("auth/loginy/login"), http.StatusForbidden, "")
	if _, err := client.Auth().Token().Lookup(tokens[0]); err != nil {
		t.Fatalf("a refused revoke-prefix revoked a login: %v", err)
	}
	if err := client.Sys().RevokePrefix("auth/loginy/login"); err != nil {
		t.Fatal(err)
	}
	for _, tok := range tokens {
		if _, err := client.Auth().Token().Lookup(tok); err == nil {
			t.Fatal("login token survived revoke-prefix auth/loginy/login")
		}
	}
	if list, err := client.Logical().List("sys/leases/lookup/auth/loginy/login/"); err != nil || list != nil {
		t.Fatalf("login leases left: %v %v", list, err)
	}
}

// TestTokenRenewMovesItsLease: renewing a token moves its lease's expiry
// with it, so the manager never revokes a renewed token at its old time.
func TestTokenRenewMovesItsLease(t *testing.T) {
	client, _ := startLeaseServer(t)
	tok, err := client.Auth().Token().Create(&vault.TokenCreateRequest{TTL: "1h", Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	list, err := client.Logical().List("sys/leases/lookup/auth/token/create/")
	if err != nil || list == nil {
		t.Fatalf("token lease: %v %v", list, err)
	}
	id := "auth/token/create/" + list.Data["keys"].([]any)[0].(string)
	ttlOf := func() int64 {
		t.Helper()
		l, err := client.Sys().Lookup(id)
		if err != nil {
			t.Fatal(err)
		}
		n, err := l.Data["ttl"].(interface{ Int64() (int64, error) }).Int64()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := ttlOf(); n > 3600 || n < 3500 {
		t.Fatalf("lease ttl %d, want about 3600", n)
	}
	if l, err := client.Sys().Lookup(id); err != nil || l.Data["renewable"] != true {
		t.Fatalf("a renewable token's lease: %v %v", l, err)
	}
	if _, err := client.Auth().Token().Renew(tok.Auth.ClientToken, 7200); err != nil {
		t.Fatal(err)
	}
	if n := ttlOf(); n <= 3600 {
		t.Fatalf("lease ttl %d after renewing the token for 7200 s", n)
	}
}

// TestUnmountRevokesLeases: disabling an engine revokes its leases first;
// when one cannot be revoked, the mount stays (400).
func TestUnmountRevokesLeases(t *testing.T) {
	client, eng := startLeaseServer(t)
	if _, err := client.Logical().Read("leasy/creds/gina"); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Logical().Read("leasy/creds/broken"); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, client.Sys().Unmount("leasy"), http.StatusBadRequest, "failed to revoke")
	mounts, err := client.Sys().ListMounts()
	if err != nil || mounts["leasy/"] == nil {
		t.Fatalf("mount gone after a refused unmount: %v", err)
	}
	if err := client.Sys().RevokeForce("leasy/creds/broken"); err != nil {
		t.Fatal(err)
	}
	if err := client.Sys().Unmount("leasy"); err != nil {
		t.Fatal(err)
	}
	if eng.count("gina") != 1 {
		t.Fatalf("engine revoke calls for gina: %d", eng.count("gina"))
	}
	if list, err := client.Logical().List("sys/leases/lookup/leasy/"); err != nil || list != nil {
		t.Fatalf("leases left after unmount: %v %v", list, err)
	}
}

// TestRemountRevokesLeases: moving an engine revokes the leases issued at
// its old path (nothing could revoke them after the move).
func TestRemountRevokesLeases(t *testing.T) {
	client, eng := startLeaseServer(t)
	s, err := client.Logical().Read("leasy/creds/hal")
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Sys().Remount("leasy", "leasy2"); err != nil {
		t.Fatal(err)
	}
	if eng.count("hal") != 1 {
		t.Fatalf("engine revoke calls for hal: %d", eng.count("hal"))
	}
	_, err = client.Sys().Lookup(s.LeaseID)
	wantStatus(t, err, http.StatusBadRequest, "invalid lease")
	s, err = client.Logical().Read("leasy2/creds/hal")
	if err != nil || !strings.HasPrefix(s.LeaseID, "leasy2/creds/hal/") {
		t.Fatalf("lease at the new path: %v %v", s, err)
	}
}
