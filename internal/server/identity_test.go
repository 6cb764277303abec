package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/builtin"
	"github.com/strongbox/strongbox/internal/core"
	"github.com/strongbox/strongbox/internal/logical"
)

// identityServer starts a server with KV v2 at secret/ and userpass at
// userpass/ holding the given users (password "<name>-pw", policy
// "default"); it returns the root client, the address and the userpass
// accessor.
func identityServer(t *testing.T, users ...string) (*vault.Client, string, string) {
	t.Helper()
	root, addr := startEngineServer(t)
	if err := root.Sys().Mount("secret", &vault.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().EnableAuthWithOptions("userpass", &vault.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if _, err := root.Logical().Write("auth/userpass/users/"+u, map[string]any{"password": u + "-pw"}); err != nil {
			t.Fatal(err)
		}
	}
	auths, err := root.Sys().ListAuth()
	if err != nil {
		t.Fatal(err)
	}
	return root, addr, auths["userpass/"].Accessor
}

// loginAs logs a userpass user in and returns a client holding the token
// and the login's auth block.
func loginAs(t *testing.T, addr, user string) (*vault.Client, *vault.SecretAuth) {
	t.Helper()
	c := userpassClient(t, addr, "")
	s, err := c.Logical().Write("auth/userpass/login/"+user, map[string]any{"password": user + "-pw"})
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	c.SetToken(s.Auth.ClientToken)
	return c, s.Auth
}

func readData(t *testing.T, c *vault.Client, path string) map[string]any {
	t.Helper()
	s, err := c.Logical().Read(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if s == nil {
		t.Fatalf("read %s: nothing", path)
	}
	return s.Data
}

func idWrite(t *testing.T, c *vault.Client, path string, data map[string]any) *vault.Secret {
	t.Helper()
	s, err := c.Logical().Write(path, data)
	if err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return s
}

// TestIdentityLoginEntity: the first userpass login creates an entity
// (named entity_<id prefix>) with an alias for the user on the mount; the
// second login reuses it; the token carries entity_id (login response and
// token lookup). AppRole logins get an entity keyed by role ID. The
// identity/ mount is listed and cannot be disabled or moved.
func TestIdentityLoginEntity(t *testing.T) {
	root, addr, acc := identityServer(t, "alice")
	_, a1 := loginAs(t, addr, "alice")
	alice, a2 := loginAs(t, addr, "alice")
	if a1.EntityID == "" || a1.EntityID != a2.EntityID {
		t.Fatalf("entity ids %q then %q, want one non-empty id", a1.EntityID, a2.EntityID)
	}
	look, err := alice.Auth().Token().LookupSelf()
	if err != nil || look.Data["entity_id"] != a1.EntityID {
		t.Fatalf("lookup entity_id = %v (%v), want %s", look.Data["entity_id"], err, a1.EntityID)
	}
	ent := readData(t, root, "identity/entity/id/"+a1.EntityID)
	if want := "entity_" + strings.Split(a1.EntityID, "-")[0]; ent["name"] != want {
		t.Fatalf("entity name %v, want %s", ent["name"], want)
	}
	aliases := ent["aliases"].([]any)
	if len(aliases) != 1 {
		t.Fatalf("aliases %v", aliases)
	}
	al := aliases[0].(map[string]any)
	if al["name"] != "alice" || al["mount_accessor"] != acc || al["mount_type"] != "userpass" || al["mount_path"] != "auth/userpass/" || al["canonical_id"] != a1.EntityID {
		t.Fatalf("alias %v", al)
	}
	ids, err := root.Logical().List("identity/entity/id")
	if err != nil || ids == nil || !equalJSON(ids.Data["keys"], []any{a1.EntityID}) {
		t.Fatalf("list entities: %v %v", ids, err)
	}

	// AppRole: the alias is the role ID.
	if err := root.Sys().EnableAuthWithOptions("approle", &vault.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	idWrite(t, root, "auth/approle/role/app", map[string]any{"token_policies": "default"})
	roleID := readData(t, root, "auth/approle/role/app/role-id")["role_id"].(string)
	secretID := idWrite(t, root, "auth/approle/role/app/secret-id", nil).Data["secret_id"].(string)
	app := idWrite(t, userpassClient(t, addr, ""), "auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID})
	if app.Auth.EntityID == "" || app.Auth.EntityID == a1.EntityID {
		t.Fatalf("approle entity %q", app.Auth.EntityID)
	}
	found := idWrite(t, root, "identity/lookup/entity", map[string]any{"alias_name": roleID, "alias_mount_accessor": mustAccessor(t, root, "approle/")})
	if found == nil || found.Data["id"] != app.Auth.EntityID {
		t.Fatalf("lookup by alias: %v", found)
	}

	mounts, err := root.Sys().ListMounts()
	if err != nil || mounts["identity/"] == nil || mounts["identity/"].Type != "identity" {
		t.Fatalf("sys/mounts identity/: %v %v", mounts["identity/"], err)
	}
	wantStatus(t, root.Sys().Unmount("identity"), 400, "")
	wantStatus(t, root.Sys().Remount("identity", "ident2"), 400, "")
}

func mustAccessor(t *testing.T, root *vault.Client, path string) string {
	t.Helper()
	auths, err := root.Sys().ListAuth()
	if err != nil || auths[path] == nil {
		t.Fatalf("auth %s: %v", path, err)
	}
	return auths[path].Accessor
}

// TestIdentityEntityCRUDAndMerge: entities by id and name, aliases, and
// a merge: the aliases move, the old entity's tokens act as the new one
// (its policies apply to them), the next login lands on the new entity.
// A merge with two aliases on one mount is refused and changes nothing.
func TestIdentityEntityCRUDAndMerge(t *testing.T) {
	root, addr, acc := identityServer(t, "alice", "bob")
	if err := root.Sys().PutPolicy("reader", `path "secret/data/shared" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	idWrite(t, root, "secret/data/shared", map[string]any{"data": map[string]any{"k": "v"}})

	created := idWrite(t, root, "identity/entity", map[string]any{"name": "robert", "policies": "reader", "metadata": map[string]any{"team": "ops"}})
	bobID := created.Data["id"].(string)
	if created.Data["name"] != "robert" {
		t.Fatalf("create: %v", created.Data)
	}
	byName := readData(t, root, "identity/entity/name/robert")
	if byName["id"] != bobID || !equalJSON(byName["policies"], []any{"reader"}) || !equalJSON(byName["metadata"], map[string]any{"team": "ops"}) {
		t.Fatalf("read by name: %v", byName)
	}
	if s := idWrite(t, root, "identity/entity/id/"+bobID, map[string]any{"metadata": "team=sre"}); s != nil {
		t.Fatalf("update answered %v, want 204", s)
	}
	if md := readData(t, root, "identity/entity/id/"+bobID)["metadata"]; !equalJSON(md, map[string]any{"team": "sre"}) {
		t.Fatalf("metadata after update: %v", md)
	}
	names, err := root.Logical().List("identity/entity/name")
	if err != nil || names == nil || !equalJSON(names.Data["keys"], []any{"robert"}) {
		t.Fatalf("list names: %v %v", names, err)
	}
	al := idWrite(t, root, "identity/entity-alias", map[string]any{"name": "bob", "canonical_id": bobID, "mount_accessor": acc})
	if al.Data["canonical_id"] != bobID {
		t.Fatalf("alias: %v", al.Data)
	}
	_, bobAuth := loginAs(t, addr, "bob")
	if bobAuth.EntityID != bobID {
		t.Fatalf("bob logged in as %q, want the entity his alias names (%s)", bobAuth.EntityID, bobID)
	}
	if !equalJSON(bobAuth.IdentityPolicies, []string{"reader"}) || !equalJSON(bobAuth.Policies, []string{"default", "reader"}) {
		t.Fatalf("bob's login: policies %v identity_policies %v", bobAuth.Policies, bobAuth.IdentityPolicies)
	}

	alice, aliceAuth := loginAs(t, addr, "alice")
	if _, err := alice.Logical().Read("secret/data/shared"); err == nil {
		t.Fatal("alice reads before the merge")
	}
	// A conflict: both entities have an alias on userpass/.
	_, err = root.Logical().Write("identity/entity/merge", map[string]any{"from_entity_ids": []string{aliceAuth.EntityID}, "to_entity_id": bobID})
	wantStatus(t, err, 400, "conflicting aliases")
	if readData(t, root, "identity/entity/id/"+aliceAuth.EntityID)["id"] != aliceAuth.EntityID {
		t.Fatal("refused merge changed the entity")
	}
	// Move bob's alias to a third entity, then merge alice into robert.
	third := idWrite(t, root, "identity/entity", map[string]any{"name": "third"}).Data["id"].(string)
	idWrite(t, root, "identity/entity-alias/id/"+al.Data["id"].(string), map[string]any{"canonical_id": third})
	if s := idWrite(t, root, "identity/entity/merge", map[string]any{"from_entity_ids": []string{aliceAuth.EntityID}, "to_entity_id": bobID}); s != nil {
		t.Fatalf("merge answered %v", s)
	}
	if s, err := root.Logical().Read("identity/entity/id/" + aliceAuth.EntityID); err != nil || s != nil {
		t.Fatalf("merged entity still readable: %v %v", s, err)
	}
	merged := readData(t, root, "identity/entity/id/"+bobID)
	if !equalJSON(merged["merged_entity_ids"], []any{aliceAuth.EntityID}) || len(merged["aliases"].([]any)) != 1 {
		t.Fatalf("merged entity: %v", merged)
	}
	// alice's old token now acts as robert: robert's policy applies.
	if _, err := alice.Logical().Read("secret/data/shared"); err != nil {
		t.Fatalf("alice's token after the merge: %v", err)
	}
	if _, again := loginAs(t, addr, "alice"); again.EntityID != bobID {
		t.Fatalf("alice logs in as %q after the merge, want %s", again.EntityID, bobID)
	}
	if s := idWrite(t, root, "identity/lookup/entity", map[string]any{"alias_name": "alice", "alias_mount_accessor": acc}); s == nil || s.Data["id"] != bobID {
		t.Fatalf("lookup alice's alias: %v", s)
	}
	// Delete by name; reads then find nothing.
	if _, err := root.Logical().Delete("identity/entity/name/third"); err != nil {
		t.Fatal(err)
	}
	if s, err := root.Logical().Read("identity/entity/name/third"); err != nil || s != nil {
		t.Fatalf("deleted entity: %v %v", s, err)
	}
}

// TestIdentityGroupPolicies: a group's policies reach its members'
// tokens at the next request, without a new login, through nested groups
// too, and go when removed; lookup shows identity_policies.
func TestIdentityGroupPolicies(t *testing.T) {
	root, addr, _ := identityServer(t, "alice")
	if err := root.Sys().PutPolicy("reader", `path "secret/data/shared" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().PutPolicy("lister", `path "secret/metadata/*" { capabilities = ["list"] }`); err != nil {
		t.Fatal(err)
	}
	idWrite(t, root, "secret/data/shared", map[string]any{"data": map[string]any{"k": "v"}})
	alice, auth := loginAs(t, addr, "alice")
	if _, err := alice.Logical().Read("secret/data/shared"); err == nil {
		t.Fatal("alice reads without a group")
	}
	team := idWrite(t, root, "identity/group", map[string]any{"name": "team", "policies": "reader", "member_entity_ids": auth.EntityID}).Data["id"].(string)
	if _, err := alice.Logical().Read("secret/data/shared"); err != nil {
		t.Fatalf("group policy not applied without re-login: %v", err)
	}
	look, err := alice.Auth().Token().LookupSelf()
	if err != nil || !equalJSON(look.Data["identity_policies"], []any{"reader"}) || !equalJSON(look.Data["policies"], []any{"default"}) {
		t.Fatalf("lookup: identity_policies %v policies %v (%v)", look.Data["identity_policies"], look.Data["policies"], err)
	}
	// A parent group holding team gives its policy to team's members.
	idWrite(t, root, "identity/group", map[string]any{"name": "org", "policies": "lister", "member_group_ids": team})
	if _, err := alice.Logical().List("secret/metadata/"); err != nil {
		t.Fatalf("inherited group policy: %v", err)
	}
	ent := readData(t, root, "identity/entity/id/"+auth.EntityID)
	if !equalJSON(ent["direct_group_ids"], []any{team}) || len(ent["inherited_group_ids"].([]any)) != 1 {
		t.Fatalf("entity groups: direct %v inherited %v", ent["direct_group_ids"], ent["inherited_group_ids"])
	}
	// A cycle is refused: team cannot hold org.
	org := readData(t, root, "identity/group/name/org")["id"].(string)
	_, err = root.Logical().Write("identity/group/id/"+team, map[string]any{"member_group_ids": org})
	wantStatus(t, err, 400, "cycle")
	// Removing the policy takes effect at once.
	idWrite(t, root, "identity/group/name/team", map[string]any{"policies": []string{}})
	_, err = alice.Logical().Read("secret/data/shared")
	wantStatus(t, err, 403, "")
	if s := idWrite(t, root, "identity/lookup/group", map[string]any{"name": "team"}); s == nil || s.Data["id"] != team {
		t.Fatalf("lookup group: %v", s)
	}
}

// TestIdentityTemplatedPolicy: a policy path with {{identity.entity.name}}
// (and one keyed by the alias on the mount) lets each user reach only
// their own path; a caller without an entity gets nothing from it.
func TestIdentityTemplatedPolicy(t *testing.T) {
	root, addr, acc := identityServer(t, "alice", "bob")
	pol := `path "secret/data/{{identity.entity.name}}/*" { capabilities = ["create", "update", "read"] }
path "secret/data/byalias/{{identity.entity.aliases.` + acc + `.name}}" { capabilities = ["read"] }
path "secret/data/team/{{identity.entity.metadata.team}}" { capabilities = ["read"] }`
	if err := root.Sys().PutPolicy("home", pol); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		idWrite(t, root, "auth/userpass/users/"+u, map[string]any{"token_policies": "home"})
		idWrite(t, root, "secret/data/byalias/"+u, map[string]any{"data": map[string]any{"k": u}})
	}
	idWrite(t, root, "secret/data/team/red", map[string]any{"data": map[string]any{"k": "red"}})
	alice, auth := loginAs(t, addr, "alice")
	// Name alice's entity "alice"; the next request renders with it.
	idWrite(t, root, "identity/entity/id/"+auth.EntityID, map[string]any{"name": "alice"})
	if _, err := alice.Logical().Write("secret/data/alice/notes", map[string]any{"data": map[string]any{"x": "1"}}); err != nil {
		t.Fatalf("alice writes her path: %v", err)
	}
	_, err := alice.Logical().Write("secret/data/bob/notes", map[string]any{"data": map[string]any{"x": "1"}})
	wantStatus(t, err, 403, "")
	if _, err := alice.Logical().Read("secret/data/byalias/alice"); err != nil {
		t.Fatalf("alias template: %v", err)
	}
	_, err = alice.Logical().Read("secret/data/byalias/bob")
	wantStatus(t, err, 403, "")
	// No team metadata: the path is dropped, never matches.
	_, err = alice.Logical().Read("secret/data/team/red")
	wantStatus(t, err, 403, "")
	idWrite(t, root, "identity/entity/id/"+auth.EntityID, map[string]any{"metadata": "team=red"})
	if _, err := alice.Logical().Read("secret/data/team/red"); err != nil {
		t.Fatalf("metadata template: %v", err)
	}
	// bob (entity not renamed) cannot reach alice's path.
	bob, _ := loginAs(t, addr, "bob")
	_, err = bob.Logical().Read("secret/data/alice/notes")
	wantStatus(t, err, 403, "")
	// A token with the policy and no entity gets nothing from templates.
	tok, err := root.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"home"}})
	if err != nil {
		t.Fatal(err)
	}
	plain := userpassClient(t, addr, "")
	plain.SetToken(tok.Auth.ClientToken)
	_, err = plain.Logical().Read("secret/data/byalias/alice")
	wantStatus(t, err, 403, "")
}

// TestIdentityDisabledEntity: a disabled entity's tokens and logins are
// refused with 403; enabling it again restores both.
func TestIdentityDisabledEntity(t *testing.T) {
	root, addr, _ := identityServer(t, "alice")
	alice, auth := loginAs(t, addr, "alice")
	idWrite(t, root, "identity/entity/id/"+auth.EntityID, map[string]any{"disabled": true})
	_, err := alice.Auth().Token().LookupSelf()
	wantStatus(t, err, 403, "permission denied")
	_, err = userpassClient(t, addr, "").Logical().Write("auth/userpass/login/alice", map[string]any{"password": "alice-pw"})
	wantStatus(t, err, 403, "")
	idWrite(t, root, "identity/entity/id/"+auth.EntityID, map[string]any{"disabled": false})
	if _, err := alice.Auth().Token().LookupSelf(); err != nil {
		t.Fatalf("enabled again: %v", err)
	}
}

// TestIdentityBadInput: mistakes answer 400 in Vault's shape and change
// nothing.
func TestIdentityBadInput(t *testing.T) {
	root, addr, acc := identityServer(t, "alice")
	_, auth := loginAs(t, addr, "alice")
	idWrite(t, root, "identity/entity", map[string]any{"name": "taken"})
	idWrite(t, root, "identity/group", map[string]any{"name": "ext", "type": "external"})
	before := snapshotIdentity(t, root)
	cases := []struct {
		path string
		data map[string]any
		msg  string
	}{
		{"identity/entity/id/" + auth.EntityID, map[string]any{"name": "taken"}, "already in use"},
		{"identity/entity", map[string]any{"name": "a/b"}, "must not contain"},
		{"identity/entity", map[string]any{"disabled": "maybe"}, "disabled"},
		{"identity/entity-alias", map[string]any{"name": "x", "canonical_id": auth.EntityID, "mount_accessor": "auth_nope_1"}, "invalid mount accessor"},
		{"identity/entity-alias", map[string]any{"name": "x", "canonical_id": "no-such", "mount_accessor": acc}, "no such entity"},
		{"identity/entity-alias", map[string]any{"name": "alice", "canonical_id": "other", "mount_accessor": acc}, "already exists"},
		{"identity/entity-alias", map[string]any{"name": "x", "mount_accessor": acc}, "canonical_id"},
		{"identity/group", map[string]any{"name": "g", "member_entity_ids": "no-such"}, "no such entity"},
		{"identity/group", map[string]any{"name": "g", "type": "weird"}, "invalid group type"},
		{"identity/group", map[string]any{"name": "g", "policies": "default,Root"}, "root policy"},
		{"identity/group", map[string]any{"name": "g", "metadata": map[string]any{"k": strings.Repeat("v", 513)}}, "longer than 512"},
		{"identity/entity", map[string]any{"name": "m", "metadata": map[string]any{"": "v"}}, "empty key"},
		{"identity/entity/id/" + auth.EntityID, map[string]any{"policies": "root"}, "root policy"},
		{"identity/group/name/ext", map[string]any{"member_entity_ids": auth.EntityID}, "external"},
		{"identity/group-alias", map[string]any{"name": "g", "mount_accessor": acc, "canonical_id": "no-such"}, "no such group"},
		{"identity/entity/merge", map[string]any{"to_entity_id": auth.EntityID}, "merge from"},
		{"identity/lookup/entity", map[string]any{"id": auth.EntityID, "name": "taken"}, "only one"},
		{"identity/lookup/entity", map[string]any{"alias_name": "alice"}, "alias_mount_accessor"},
	}
	for _, tc := range cases {
		_, err := root.Logical().Write(tc.path, tc.data)
		t.Run(tc.path+"/"+tc.msg, func(t *testing.T) { wantStatus(t, err, 400, tc.msg) })
	}
	if after := snapshotIdentity(t, root); after != before {
		t.Fatalf("refused writes changed identity:\n%s\n%s", before, after)
	}
}

// snapshotIdentity renders every entity and group for comparison.
func snapshotIdentity(t *testing.T, root *vault.Client) string {
	t.Helper()
	var b strings.Builder
	for _, kind := range []string{"entity", "group", "entity-alias", "group-alias"} {
		list, err := root.Logical().List("identity/" + kind + "/id")
		if err != nil {
			t.Fatal(err)
		}
		if list == nil {
			continue
		}
		for _, k := range list.Data["keys"].([]any) {
			d := readData(t, root, fmt.Sprintf("identity/%s/id/%s", kind, k))
			j, _ := json.Marshal(d)
			b.Write(j)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// whoamiEngine answers GET me with what its SystemView says about the
// caller's entity and groups (logical.SystemView.EntityInfo and
// GroupsForEntity).
func whoamiEngine(_ context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	sys := conf.System
	return &logical.FrameworkBackend{Paths: []*logical.Path{{
		Pattern: "me",
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: func(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
				e, err := sys.EntityInfo(ctx, req.EntityID)
				if err != nil || e == nil {
					return nil, err
				}
				groups, err := sys.GroupsForEntity(ctx, req.EntityID)
				if err != nil {
					return nil, err
				}
				var names, aliases []string
				for _, g := range groups {
					names = append(names, g.Name)
				}
				for _, a := range e.Aliases {
					aliases = append(aliases, a.MountType+":"+a.MountPath+":"+a.Name)
				}
				return &logical.Response{Data: map[string]any{"id": e.ID, "name": e.Name, "groups": names, "aliases": aliases}}, nil
			},
		},
	}}}, nil
}

// TestIdentitySystemView: an engine looks up the caller's entity and
// groups through its SystemView.
func TestIdentitySystemView(t *testing.T) {
	engines := builtin.SecretEngines()
	engines["whoami"] = whoamiEngine
	root := rootClient(t, serveCore(t, core.Config{SecretEngines: engines, AuthMethods: builtin.AuthMethods()}))
	addr := root.Address()
	if err := root.Sys().Mount("whoami", &vault.MountInput{Type: "whoami"}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().EnableAuthWithOptions("userpass", &vault.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().PutPolicy("whoami", `path "whoami/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	idWrite(t, root, "auth/userpass/users/alice", map[string]any{"password": "alice-pw"})
	alice, auth := loginAs(t, addr, "alice")
	idWrite(t, root, "identity/group", map[string]any{"name": "readers", "policies": "whoami", "member_entity_ids": auth.EntityID})
	me := readData(t, alice, "whoami/me")
	if me["id"] != auth.EntityID || !equalJSON(me["groups"], []string{"readers"}) || !equalJSON(me["aliases"], []string{"userpass:auth/userpass/:alice"}) {
		t.Fatalf("whoami: %v", me)
	}
}

// TestIdentityTokenRoleEntityAlias: create/<role> with an entity_alias
// the role allows ties the token to the alias's entity on the token
// mount (created once, then reused); an alias the role does not allow is
// a 400.
func TestIdentityTokenRoleEntityAlias(t *testing.T) {
	root, _, _ := identityServer(t)
	idWrite(t, root, "auth/token/roles/svc", map[string]any{"allowed_entity_aliases": "svc-*", "orphan": true})
	ts := root.Auth().Token()
	first, err := ts.CreateWithRole(&vault.TokenCreateRequest{EntityAlias: "svc-billing"}, "svc")
	if err != nil {
		t.Fatal(err)
	}
	second, err := ts.CreateWithRole(&vault.TokenCreateRequest{EntityAlias: "svc-billing"}, "svc")
	if err != nil {
		t.Fatal(err)
	}
	if first.Auth.EntityID == "" || first.Auth.EntityID != second.Auth.EntityID {
		t.Fatalf("entity ids %q, %q", first.Auth.EntityID, second.Auth.EntityID)
	}
	found := idWrite(t, root, "identity/lookup/entity", map[string]any{"alias_name": "svc-billing", "alias_mount_accessor": mustAccessor(t, root, "token/")})
	if found == nil || found.Data["id"] != first.Auth.EntityID {
		t.Fatalf("lookup: %v", found)
	}
	_, err = ts.CreateWithRole(&vault.TokenCreateRequest{EntityAlias: "other"}, "svc")
	wantStatus(t, err, 400, "invalid 'entity_alias' value")
}

// TestIdentitySurvivesSeal: entities, aliases and groups live in the
// barrier; after a seal and an unseal the index is loaded again and the
// same login finds the same entity with its group policies.
func TestIdentitySurvivesSeal(t *testing.T) {
	url := serveCore(t, core.Config{SecretEngines: builtin.SecretEngines(), AuthMethods: builtin.AuthMethods()})
	cfg := vault.DefaultConfig()
	cfg.Address, cfg.MaxRetries = url, 0
	root, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	init, err := root.Sys().Init(&vault.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Sys().Unseal(init.Keys[0]); err != nil {
		t.Fatal(err)
	}
	root.SetToken(init.RootToken)
	if err := root.Sys().EnableAuthWithOptions("userpass", &vault.EnableAuthOptions{Type: "userpass"}); err != nil {
		t.Fatal(err)
	}
	idWrite(t, root, "auth/userpass/users/alice", map[string]any{"password": "alice-pw"})
	_, before := loginAs(t, url, "alice")
	idWrite(t, root, "identity/group", map[string]any{"name": "g", "policies": "p1", "member_entity_ids": before.EntityID})
	if err := root.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Sys().Unseal(init.Keys[0]); err != nil {
		t.Fatal(err)
	}
	_, after := loginAs(t, url, "alice")
	if after.EntityID != before.EntityID || !equalJSON(after.IdentityPolicies, []string{"p1"}) {
		t.Fatalf("after unseal: entity %q (was %q), identity policies %v", after.EntityID, before.EntityID, after.IdentityPolicies)
	}
}

// groupsAuth is an auth method standing in for LDAP: login/<user> with
// "groups" logs the user in with those group aliases and remembers them;
// groups/<user> changes them (as the directory would); a renewal reports
// the remembered groups.
func groupsAuth(_ context.Context, _ *logical.BackendConfig) (logical.Backend, error) {
	groupsOf := func(ctx context.Context, s logical.Storage, user string) ([]*logical.Alias, error) {
		e, err := s.Get(ctx, "groups/"+user)
		if err != nil || e == nil {
			return []*logical.Alias{}, err
		}
		var out []*logical.Alias
		for _, g := range strings.Split(string(e.Value), ",") {
			if g != "" {
				out = append(out, &logical.Alias{Name: g})
			}
		}
		return out, nil
	}
	setGroups := func(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
		return nil, req.Storage.Put(ctx, &logical.StorageEntry{Key: "groups/" + d.Get("user").(string), Value: []byte(d.Get("groups").(string))})
	}
	fields := map[string]*logical.FieldSchema{"user": {Type: logical.TypeString}, "groups": {Type: logical.TypeString}}
	return &logical.FrameworkBackend{
		PathsSpecial: &logical.Paths{Unauthenticated: []string{"login/*"}},
		Paths: []*logical.Path{
			{Pattern: "groups/(?P<user>\\w+)", Fields: fields, Operations: map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: setGroups}},
			{Pattern: "login/(?P<user>\\w+)", Fields: fields, Operations: map[logical.Operation]logical.OperationFunc{
				logical.UpdateOperation: func(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
					if _, err := setGroups(ctx, req, d); err != nil {
						return nil, err
					}
					user := d.Get("user").(string)
					ga, err := groupsOf(ctx, req.Storage, user)
					if err != nil {
						return nil, err
					}
					return &logical.Response{Auth: &logical.Auth{
						Policies: []string{"default"}, Metadata: map[string]string{"user": user}, DisplayName: user,
						LeaseDuration: time.Hour, Renewable: true, Alias: &logical.Alias{Name: user}, GroupAliases: ga,
					}}, nil
				},
			}},
		},
		AuthRenew: func(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
			ga, err := groupsOf(ctx, req.Storage, req.Auth.Metadata["user"])
			if err != nil {
				return nil, err
			}
			return &logical.Response{Auth: &logical.Auth{LeaseDuration: time.Hour, GroupAliases: ga}}, nil
		},
	}, nil
}

// TestIdentityExternalGroups: an external group mapped by a group alias
// to a group of the auth method gets the users the method puts in it at
// login, with its policies; when the method stops listing the group, the
// next renewal takes the user out and the policy goes.
func TestIdentityExternalGroups(t *testing.T) {
	methods := builtin.AuthMethods()
	methods["groups"] = groupsAuth
	root := rootClient(t, serveCore(t, core.Config{SecretEngines: builtin.SecretEngines(), AuthMethods: methods}))
	if err := root.Sys().Mount("secret", &vault.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().EnableAuthWithOptions("dir", &vault.EnableAuthOptions{Type: "groups"}); err != nil {
		t.Fatal(err)
	}
	if err := root.Sys().PutPolicy("reader", `path "secret/data/shared" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	idWrite(t, root, "secret/data/shared", map[string]any{"data": map[string]any{"k": "v"}})
	acc := mustAccessor(t, root, "dir/")
	admins := idWrite(t, root, "identity/group", map[string]any{"name": "admins", "type": "external", "policies": "reader"}).Data["id"].(string)
	idWrite(t, root, "identity/group-alias", map[string]any{"name": "cn=admins", "mount_accessor": acc, "canonical_id": admins})

	anon := userpassClient(t, root.Address(), "")
	login := idWrite(t, anon, "auth/dir/login/alice", map[string]any{"groups": "cn=admins,cn=other"})
	if !equalJSON(login.Auth.IdentityPolicies, []string{"reader"}) {
		t.Fatalf("login identity_policies %v", login.Auth.IdentityPolicies)
	}
	g := readData(t, root, "identity/group/id/"+admins)
	if !equalJSON(g["member_entity_ids"], []string{login.Auth.EntityID}) {
		t.Fatalf("admins members %v", g["member_entity_ids"])
	}
	alice := userpassClient(t, root.Address(), "")
	alice.SetToken(login.Auth.ClientToken)
	if _, err := alice.Logical().Read("secret/data/shared"); err != nil {
		t.Fatalf("member of admins: %v", err)
	}
	// The directory drops alice from admins; her renewal brings it in.
	idWrite(t, root, "auth/dir/groups/alice", map[string]any{"groups": "cn=other"})
	if _, err := alice.Auth().Token().RenewSelf(0); err != nil {
		t.Fatal(err)
	}
	_, err := alice.Logical().Read("secret/data/shared")
	wantStatus(t, err, 403, "")
	if g := readData(t, root, "identity/group/id/"+admins); !equalJSON(g["member_entity_ids"], []string{}) {
		t.Fatalf("admins members after renewal %v", g["member_entity_ids"])
	}
}
