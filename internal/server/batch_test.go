package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/core"
	"github.com/strongbox/strongbox/internal/physical"
	"github.com/strongbox/strongbox/internal/physical/inmem"
)

// startBatchServer serves a core over inmem storage and returns a root
// client and the storage, whose keys the tests count.
func startBatchServer(t *testing.T) (*vault.Client, *inmem.Backend) {
	t.Helper()
	phys := inmem.New()
	url := serveCore(t, core.Config{
		Physical: phys, StorageType: "inmem",
		SecretEngines: builtin.SecretEngines(), AuthMethods: builtin.AuthMethods(),
	})
	client := rootClient(t, url)
	if err := client.Sys().Mount("kv", &vault.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Logical().Write("kv/app", map[string]any{"password": "s3cret"}); err != nil {
		t.Fatal(err)
	}
	if err := client.Sys().PutPolicy("reader", `path "kv/*" { capabilities = ["read"] }
path "auth/token/create" { capabilities = ["update"] }
path "cubbyhole/*" { capabilities = ["create", "update", "read"] }`); err != nil {
		t.Fatal(err)
	}
	return client, phys
}

// storageKeys lists every key in storage.
func storageKeys(t *testing.T, b physical.Backend) []string {
	t.Helper()
	var out []string
	var walk func(prefix string)
	walk = func(prefix string) {
		keys, err := b.List(context.Background(), prefix)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if strings.HasSuffix(k, "/") {
				walk(prefix + k)
			} else {
				out = append(out, prefix+k)
			}
		}
	}
	walk("")
	return out
}

// typeOf is a token's type as token lookup reports it.
func typeOf(t *testing.T, root *vault.Client, tok string) any {
	t.Helper()
	look, err := root.Auth().Token().Lookup(tok)
	if err != nil {
		t.Fatalf("lookup: %v", err)
	}
	return look.Data["type"]
}

func withToken(t *testing.T, c *vault.Client, tok string) *vault.Client {
	t.Helper()
	n, err := c.Clone()
	if err != nil {
		t.Fatal(err)
	}
	n.SetToken(tok)
	return n
}

// TestBatchTokensThroughTheAPI: a batch token from auth/token/create is
// "hvb."-prefixed, writes nothing to storage, works within its policies,
// shows type batch in lookups, cannot be renewed, revoked or make
// children, has no cubbyhole, is not listed by accessor, does not survive
// tampering or its TTL (403), and dies with its parent.
func TestBatchTokensThroughTheAPI(t *testing.T) {
	root, phys := startBatchServer(t)
	ctx := context.Background()
	accessorsBefore, err := root.Logical().List("auth/token/accessors")
	if err != nil {
		t.Fatal(err)
	}
	before := len(storageKeys(t, phys))
	s, err := root.Auth().Token().Create(&vault.TokenCreateRequest{Type: "batch", Policies: []string{"reader"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	if after := len(storageKeys(t, phys)); after != before {
		t.Fatalf("creating a batch token changed the storage key count: %d -> %d", before, after)
	}
	tok := s.Auth.ClientToken
	if !strings.HasPrefix(tok, "hvb.") || s.Auth.Accessor != "" || s.Auth.Renewable || s.Auth.LeaseDuration != 3600 {
		t.Fatalf("create: %+v", s.Auth)
	}
	bc := withToken(t, root, tok)
	got, err := bc.Logical().Read("kv/app")
	if err != nil || got == nil || got.Data["password"] != "s3cret" {
		t.Fatalf("read with the batch token: %v %v", got, err)
	}
	_, err = bc.Logical().Write("kv/app", map[string]any{"password": "x"})
	wantStatus(t, err, 403, "permission denied")
	if after := len(storageKeys(t, phys)); after != before {
		t.Fatalf("using a batch token changed the storage key count: %d -> %d", before, after)
	}

	look, err := bc.Auth().Token().LookupSelf()
	if err != nil {
		t.Fatal(err)
	}
	if look.Data["type"] != "batch" || look.Data["orphan"] != false || look.Data["renewable"] != false || look.Data["id"] != tok {
		t.Fatalf("lookup-self: %v", look.Data)
	}
	if look, err = root.Auth().Token().Lookup(tok); err != nil || look.Data["type"] != "batch" {
		t.Fatalf("lookup: %v %v", look, err)
	}

	_, err = bc.Auth().Token().RenewSelf(0)
	wantStatus(t, err, 400, "batch tokens cannot be renewed")
	_, err = root.Auth().Token().Renew(tok, 0)
	wantStatus(t, err, 400, "batch tokens cannot be renewed")
	_, err = bc.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"reader"}})
	wantStatus(t, err, 400, "batch tokens cannot create more tokens")
	wantStatus(t, root.Auth().Token().RevokeTree(tok), 400, "batch tokens cannot be revoked")
	wantStatus(t, bc.Auth().Token().RevokeSelf(""), 400, "batch tokens cannot be revoked")
	_, err = bc.Logical().Write("cubbyhole/x", map[string]any{"a": "b"})
	wantStatus(t, err, 400, `cubbyhole operations are only supported by "service" type tokens`)
	for _, body := range []*vault.TokenCreateRequest{
		{Type: "batch", Policies: []string{"reader"}, NumUses: 2},
		{Type: "batch", Policies: []string{"reader"}, Period: "1h"},
		{Type: "batch", Policies: []string{"reader"}, ExplicitMaxTTL: "1h"},
		{Type: "batch"},
	} {
		_, err := root.Auth().Token().Create(body)
		wantStatus(t, err, 400, "batch tokens cannot")
	}
	accessorsAfter, err := root.Logical().List("auth/token/accessors")
	if err != nil {
		t.Fatal(err)
	}
	if len(accessorsAfter.Data["keys"].([]any)) != len(accessorsBefore.Data["keys"].([]any)) {
		t.Fatalf("accessors listed: %v, then %v", accessorsBefore.Data["keys"], accessorsAfter.Data["keys"])
	}
	if after := len(storageKeys(t, phys)); after != before {
		t.Fatalf("the refused requests changed the storage key count: %d -> %d", before, after)
	}

	// Tampered: every flipped byte of the blob makes it worthless.
	blob, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, "hvb."))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 4, 5, 20, len(blob) / 2, len(blob) - 1} {
		bad := []byte(string(blob))
		bad[i] ^= 1
		_, err := withToken(t, root, "hvb."+base64.RawURLEncoding.EncodeToString(bad)).Logical().Read("kv/app")
		wantStatus(t, err, 403, "permission denied")
	}
	_, err = withToken(t, root, "hvb.garbage!").Logical().Read("kv/app")
	wantStatus(t, err, 403, "permission denied")

	// A batch child of a service token stops with its parent.
	parent, err := root.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"reader"}})
	if err != nil {
		t.Fatal(err)
	}
	pc := withToken(t, root, parent.Auth.ClientToken)
	child, err := pc.Auth().Token().Create(&vault.TokenCreateRequest{Type: "batch"})
	if err != nil {
		t.Fatal(err)
	}
	if child.Auth.Orphan {
		t.Fatal("batch child reported as an orphan")
	}
	cc := withToken(t, root, child.Auth.ClientToken)
	if _, err := cc.Logical().Read("kv/app"); err != nil {
		t.Fatalf("batch child: %v", err)
	}
	if err := root.Auth().Token().RevokeTree(parent.Auth.ClientToken); err != nil {
		t.Fatal(err)
	}
	_, err = cc.Logical().Read("kv/app")
	wantStatus(t, err, 403, "permission denied")

	// Expiry: a 1s batch token is refused once its TTL has passed.
	short, err := root.Auth().Token().Create(&vault.TokenCreateRequest{Type: "batch", Policies: []string{"reader"}, TTL: "1s"})
	if err != nil {
		t.Fatal(err)
	}
	sc := withToken(t, root, short.Auth.ClientToken)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := sc.Logical().ReadWithContext(ctx, "kv/app")
		if err != nil {
			wantStatus(t, err, 403, "permission denied")
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the 1s batch token still works after 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBatchTokenRolesAndRotation: a token role with token_type batch or
// default-batch issues batch tokens; a batch token keeps working after
// sys/rotate, and one made after it too.
func TestBatchTokenRolesAndRotation(t *testing.T) {
	root, _ := startBatchServer(t)
	lg := root.Logical()
	if _, err := lg.Write("auth/token/roles/fast", map[string]any{"allowed_policies": "reader", "token_type": "batch"}); err != nil {
		t.Fatal(err)
	}
	if _, err := lg.Write("auth/token/roles/either", map[string]any{"allowed_policies": "reader", "token_type": "default-batch"}); err != nil {
		t.Fatal(err)
	}
	r, err := lg.Read("auth/token/roles/fast")
	if err != nil || r.Data["token_type"] != "batch" {
		t.Fatalf("read role: %v %v", r, err)
	}
	_, err = lg.Write("auth/token/roles/bad", map[string]any{"token_type": "batch", "token_period": "1h"})
	wantStatus(t, err, 400, "cannot be 'batch' or 'default_batch' when set to generate periodic tokens")

	fast, err := root.Auth().Token().CreateWithRole(&vault.TokenCreateRequest{}, "fast")
	if err != nil || typeOf(t, root, fast.Auth.ClientToken) != "batch" {
		t.Fatalf("create/fast: %+v %v", fast, err)
	}
	svc, err := root.Auth().Token().CreateWithRole(&vault.TokenCreateRequest{Type: "service"}, "either")
	if err != nil || typeOf(t, root, svc.Auth.ClientToken) != "service" {
		t.Fatalf("create/either type=service: %+v %v", svc, err)
	}
	dflt, err := root.Auth().Token().CreateWithRole(&vault.TokenCreateRequest{}, "either")
	if err != nil || typeOf(t, root, dflt.Auth.ClientToken) != "batch" {
		t.Fatalf("create/either: %+v %v", dflt, err)
	}
	look, err := root.Auth().Token().Lookup(fast.Auth.ClientToken)
	if err != nil || look.Data["path"] != "auth/token/create/fast" {
		t.Fatalf("lookup: %v %v", look, err)
	}

	// The role's bound CIDRs travel in the token: refused from elsewhere.
	if _, err := lg.Write("auth/token/roles/far", map[string]any{"allowed_policies": "reader", "token_type": "batch", "token_bound_cidrs": "10.0.0.0/8"}); err != nil {
		t.Fatal(err)
	}
	far, err := root.Auth().Token().CreateWithRole(&vault.TokenCreateRequest{}, "far")
	if err != nil {
		t.Fatal(err)
	}
	_, err = withToken(t, root, far.Auth.ClientToken).Logical().Read("kv/app")
	wantStatus(t, err, 403, "permission denied")

	// The audit log names the caller's token type.
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	if err := root.Sys().EnableAuditWithOptions("file", &vault.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": auditLog}}); err != nil {
		t.Fatal(err)
	}
	if _, err := withToken(t, root, fast.Auth.ClientToken).Logical().Read("kv/app"); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"token_type":"batch"`) || strings.Contains(string(raw), fast.Auth.ClientToken) {
		t.Fatalf("audit log: batch caller not recorded as such, or the token in clear:\n%s", raw)
	}

	if err := root.Sys().Rotate(); err != nil {
		t.Fatal(err)
	}
	after, err := root.Auth().Token().CreateWithRole(&vault.TokenCreateRequest{}, "fast")
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"before rotate": fast.Auth.ClientToken, "after rotate": after.Auth.ClientToken} {
		s, err := withToken(t, root, tok).Logical().Read("kv/app")
		if err != nil || s == nil || s.Data["password"] != "s3cret" {
			t.Fatalf("batch token made %s: %v %v", name, s, err)
		}
	}
}

// TestBatchLogins: an AppRole role with token_type=batch and a userpass
// mount with token_type=batch issue batch tokens at login, which write
// neither a token nor a lease to storage, carry the login's policies,
// display name and path, and are not renewable.
func TestBatchLogins(t *testing.T) {
	root, phys := startBatchServer(t)
	lg := root.Logical()
	if err := root.Sys().EnableAuthWithOptions("approle", &vault.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().EnableAuthWithOptions("userpass", &vault.EnableAuthOptions{Type: "userpass", Config: vault.AuthConfigInput{TokenType: "batch"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := lg.Write("auth/approle/role/fast", map[string]any{"token_policies": "reader", "token_type": "batch", "token_ttl": "20m", "token_explicit_max_ttl": "5m"}); err != nil {
		t.Fatal(err)
	}
	if _, err := lg.Write("auth/userpass/users/alice", map[string]any{"password": "pw", "token_policies": "reader"}); err != nil {
		t.Fatal(err)
	}
	rid, err := lg.Read("auth/approle/role/fast/role-id")
	if err != nil {
		t.Fatal(err)
	}
	sid, err := lg.Write("auth/approle/role/fast/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	anon := withToken(t, root, "")

	logins := []struct {
		name, path, display string
		body                map[string]any
	}{
		{"approle", "auth/approle/login", "approle", map[string]any{"role_id": rid.Data["role_id"], "secret_id": sid.Data["secret_id"]}},
		{"userpass", "auth/userpass/login/alice", "userpass-alice", map[string]any{"password": "pw"}},
	}
	for _, l := range logins {
		// The first login creates the caller's identity entity (stored,
		// as in Vault); the logins after it write nothing.
		if _, err := anon.Logical().Write(l.path, l.body); err != nil {
			t.Fatalf("%s first login: %v", l.name, err)
		}
		before := len(storageKeys(t, phys))
		s, err := anon.Logical().Write(l.path, l.body)
		if err != nil {
			t.Fatalf("%s login: %v", l.name, err)
		}
		if after := len(storageKeys(t, phys)); after != before {
			t.Fatalf("%s batch login changed the storage key count: %d -> %d", l.name, before, after)
		}
		tok := s.Auth.ClientToken
		if l.name == "approle" && s.Auth.LeaseDuration != 300 {
			t.Fatalf("approle batch login: TTL %ds, want the role's explicit max 300s", s.Auth.LeaseDuration)
		}
		if !strings.HasPrefix(tok, "hvb.") || s.Auth.Accessor != "" || s.Auth.Renewable || !s.Auth.Orphan {
			t.Fatalf("%s login auth: %+v", l.name, s.Auth)
		}
		bc := withToken(t, root, tok)
		if got, err := bc.Logical().Read("kv/app"); err != nil || got.Data["password"] != "s3cret" {
			t.Fatalf("%s batch token read: %v %v", l.name, got, err)
		}
		look, err := bc.Auth().Token().LookupSelf()
		if err != nil {
			t.Fatal(err)
		}
		if look.Data["type"] != "batch" || look.Data["path"] != l.path || look.Data["display_name"] != l.display ||
			!strings.Contains(strings.Join(anyStrings(look.Data["policies"]), ","), "reader") {
			t.Fatalf("%s lookup-self: %v", l.name, look.Data)
		}
		_, err = bc.Auth().Token().RenewSelf(0)
		wantStatus(t, err, 400, "batch tokens cannot be renewed")
	}
	// A mount forcing batch drops what only service tokens can have.
	if _, err := lg.Write("auth/userpass/users/limited", map[string]any{"password": "pw", "token_policies": "reader", "token_num_uses": 3, "token_period": "1h"}); err != nil {
		t.Fatal(err)
	}
	ls, err := anon.Logical().Write("auth/userpass/login/limited", map[string]any{"password": "pw"})
	if err != nil {
		t.Fatalf("login of a user with num_uses and period on a batch mount: %v", err)
	}
	if look, err := withToken(t, root, ls.Auth.ClientToken).Auth().Token().LookupSelf(); err != nil ||
		look.Data["type"] != "batch" || look.Data["num_uses"] != json.Number("0") || look.Data["period"] != nil {
		t.Fatalf("lookup-self: %v %v", look, err)
	}
	raw := rawLogin(t, root.Address(), "alice", "pw")
	if raw["token_type"] != "batch" || raw["accessor"] != "" || raw["renewable"] != false || raw["lease_duration"] != float64(768*3600) {
		t.Fatalf("raw login auth: %v", raw)
	}
	if _, err := lg.Write("auth/approle/role/fast", map[string]any{"token_period": "1h"}); err == nil {
		t.Fatal("a batch role accepted a period")
	}
}

func anyStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// TestBatchTokenLeases: a lease made by a batch token never outlives the
// token, hangs under the token's parent (revoked with it) and, for an
// orphan batch token, under no token at all.
func TestBatchTokenLeases(t *testing.T) {
	root, eng := startLeaseServer(t)
	if err := root.Sys().PutPolicy("leasy", `path "leasy/*" { capabilities = ["read"] }
path "auth/token/create" { capabilities = ["update"] }`); err != nil {
		t.Fatal(err)
	}
	parent, err := root.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"leasy"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	child, err := withToken(t, root, parent.Auth.ClientToken).Auth().Token().Create(&vault.TokenCreateRequest{Type: "batch", TTL: "10m"})
	if err != nil {
		t.Fatal(err)
	}
	orphan, err := root.Auth().Token().CreateOrphan(&vault.TokenCreateRequest{Type: "batch", Policies: []string{"leasy"}, TTL: "10m"})
	if err != nil {
		t.Fatal(err)
	}
	leases := map[string]string{}
	for user, tok := range map[string]string{"bob": child.Auth.ClientToken, "carol": orphan.Auth.ClientToken} {
		s, err := withToken(t, root, tok).Logical().Read("leasy/creds/" + user)
		if err != nil {
			t.Fatal(err)
		}
		// The mount's default is 1h; the batch token has 10m left.
		if s.LeaseID == "" || s.LeaseDuration <= 0 || s.LeaseDuration > 600 {
			t.Fatalf("lease of %s: %q for %ds, want at most the batch token's 600s", user, s.LeaseID, s.LeaseDuration)
		}
		leases[user] = s.LeaseID
	}
	if err := root.Auth().Token().RevokeTree(parent.Auth.ClientToken); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, "the batch child's lease revoked with its parent", func() bool { return eng.count("bob") == 1 })
	if _, err := root.Sys().Lookup(leases["carol"]); err != nil {
		t.Fatalf("the orphan batch token's lease: %v", err)
	}
	if eng.count("carol") != 0 {
		t.Fatal("the orphan batch token's lease was revoked")
	}
}
