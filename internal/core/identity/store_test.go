package identity

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/strongbox/strongbox/internal/logical"
)

type fakeHost map[string]MountInfo

func (h fakeHost) AuthMount(acc string) (MountInfo, bool) {
	m, ok := h[acc]
	return m, ok
}

var testHost = fakeHost{
	"auth_ldap_1":     {Path: "ldap/", Type: "ldap"},
	"auth_userpass_1": {Path: "userpass/", Type: "userpass"},
}

func newTestStore(t *testing.T, storage logical.Storage) *Store {
	t.Helper()
	s, err := New(context.Background(), testHost, storage, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// call runs one request through the backend, as the core would.
func call(t *testing.T, s *Store, op logical.Operation, path string, data map[string]any) *logical.Response {
	t.Helper()
	resp, err := s.Backend().HandleRequest(context.Background(), &logical.Request{Operation: op, Path: path, Data: data})
	if err != nil {
		t.Fatalf("%s %s: %v", op, path, err)
	}
	return resp
}

func aliases(names ...string) []*logical.Alias {
	out := make([]*logical.Alias, len(names))
	for i, n := range names {
		out[i] = &logical.Alias{Name: n}
	}
	return out
}

// TestExternalGroupsFollowLogins: at each login the entity joins the
// external groups whose alias (mount, name) the method lists and leaves
// those it no longer lists; groups of other mounts and internal groups
// are untouched; their policies follow.
func TestExternalGroupsFollowLogins(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, logical.NewInmemStorage())
	admins := call(t, s, logical.UpdateOperation, "group", map[string]any{"name": "admins", "type": "external", "policies": "admin"}).Data["id"].(string)
	devs := call(t, s, logical.UpdateOperation, "group", map[string]any{"name": "devs", "type": "external", "policies": "dev"}).Data["id"].(string)
	call(t, s, logical.UpdateOperation, "group-alias", map[string]any{"name": "cn=admins", "mount_accessor": "auth_ldap_1", "canonical_id": admins})
	call(t, s, logical.UpdateOperation, "group-alias", map[string]any{"name": "cn=devs", "mount_accessor": "auth_ldap_1", "canonical_id": devs})

	e, err := s.LoginEntity(ctx, "auth_ldap_1", &logical.Alias{Name: "alice"}, aliases("cn=admins", "cn=devs", "cn=unmapped"))
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Resolve(e.ID); !slices.Equal(r.Policies, []string{"admin", "dev"}) {
		t.Fatalf("policies after first login: %v", r.Policies)
	}
	internal := call(t, s, logical.UpdateOperation, "group", map[string]any{"name": "internal", "policies": "int", "member_entity_ids": e.ID}).Data["id"].(string)
	gen := s.Generation()
	// Same groups: nothing is written.
	if _, err := s.LoginEntity(ctx, "auth_ldap_1", &logical.Alias{Name: "alice"}, aliases("cn=devs", "cn=admins")); err != nil {
		t.Fatal(err)
	}
	if s.Generation() != gen {
		t.Error("a login with unchanged groups wrote to the store")
	}
	// Dropped from admins in LDAP.
	if _, err := s.LoginEntity(ctx, "auth_ldap_1", &logical.Alias{Name: "alice"}, aliases("cn=devs")); err != nil {
		t.Fatal(err)
	}
	r := s.Resolve(e.ID)
	if !slices.Equal(r.Policies, []string{"dev", "int"}) {
		t.Fatalf("policies after leaving admins: %v", r.Policies)
	}
	adm := call(t, s, logical.ReadOperation, "group/id/"+admins, nil).Data
	if len(adm["member_entity_ids"].([]string)) != 0 {
		t.Fatalf("admins members: %v", adm["member_entity_ids"])
	}
	// A renewal reporting no groups empties the mount's external groups,
	// not the internal one.
	if err := s.RefreshExternalGroups(ctx, e.ID, "auth_ldap_1", aliases()); err != nil {
		t.Fatal(err)
	}
	if r := s.Resolve(e.ID); !slices.Equal(r.Policies, []string{"int"}) || r.DirectGroups[0].ID != internal {
		t.Fatalf("after renewal without groups: %v", r.Policies)
	}
}

// TestStoreReload: a new Store over the same storage (the next
// activation) finds every entity, alias, merge and group.
func TestStoreReload(t *testing.T) {
	ctx := context.Background()
	storage := logical.NewInmemStorage()
	s := newTestStore(t, storage)
	a, err := s.LoginEntity(ctx, "auth_userpass_1", &logical.Alias{Name: "alice", Metadata: map[string]string{"k": "v"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.LoginEntity(ctx, "auth_ldap_1", &logical.Alias{Name: "alice"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	call(t, s, logical.UpdateOperation, "entity/merge", map[string]any{"from_entity_ids": a.ID, "to_entity_id": b.ID})
	call(t, s, logical.UpdateOperation, "group", map[string]any{"name": "g", "policies": "p", "member_entity_ids": b.ID})

	s2 := newTestStore(t, storage)
	again, err := s2.LoginEntity(ctx, "auth_userpass_1", &logical.Alias{Name: "alice", Metadata: map[string]string{"k": "v"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != b.ID {
		t.Fatalf("after reload the alias names %s, want %s", again.ID, b.ID)
	}
	r := s2.Resolve(a.ID) // the merged ID still resolves
	if r == nil || r.Entity.ID != b.ID || !slices.Equal(r.Policies, []string{"p"}) {
		t.Fatalf("resolve merged id after reload: %+v", r)
	}
	if s2.Generation() != 0 {
		t.Error("a login that changed nothing wrote after reload")
	}
}

// TestStoreConcurrent: concurrent first logins of one alias make one
// entity; logins, group writes and Resolve race cleanly (go test -race),
// and the index ends in step with storage.
func TestStoreConcurrent(t *testing.T) {
	ctx := context.Background()
	storage := logical.NewInmemStorage()
	s := newTestStore(t, storage)
	reader := call(t, s, logical.UpdateOperation, "entity", map[string]any{"name": "reader"}).Data["id"].(string)
	gid := call(t, s, logical.UpdateOperation, "group", map[string]any{"name": "g"}).Data["id"].(string)
	parent := call(t, s, logical.UpdateOperation, "group", map[string]any{"name": "parent", "member_group_ids": gid, "policies": "inherited"}).Data["id"].(string)
	var wg sync.WaitGroup
	ids := make([]string, 16)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := s.LoginEntity(ctx, "auth_userpass_1", &logical.Alias{Name: "shared"}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = e.ID
		}()
	}
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			e, err := s.LoginEntity(ctx, "auth_userpass_1", &logical.Alias{Name: fmt.Sprintf("user%d", i)}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			_, err = s.Backend().HandleRequest(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: "group/id/" + gid,
				Data: map[string]any{"policies": fmt.Sprintf("p%d", i), "member_entity_ids": []string{e.ID, reader}}})
			if err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			for range 50 {
				if r := s.Resolve(reader); r != nil && len(r.DirectGroups) > 0 && !slices.Contains(r.Policies, "inherited") {
					t.Errorf("member of g without parent's policy: %v", r.Policies)
				}
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("one alias made several entities: %v", ids)
		}
	}
	// The index equals what a fresh load of storage builds.
	s2 := newTestStore(t, storage)
	if len(s2.idx.entities) != len(s.idx.entities) || len(s2.idx.aliasByKey) != len(s.idx.aliasByKey) || len(s.idx.entities) != 10 {
		t.Fatalf("index %d entities %d aliases; storage %d entities %d aliases", len(s.idx.entities), len(s.idx.aliasByKey), len(s2.idx.entities), len(s2.idx.aliasByKey))
	}
	if r := s.Resolve(reader); r == nil || len(r.InheritedGroups) != 1 || r.InheritedGroups[0].ID != parent {
		t.Fatalf("reader's inherited groups: %+v", r)
	}
	if !slices.Equal(s2.idx.groups[gid].MemberEntityIDs, s.idx.groups[gid].MemberEntityIDs) {
		t.Fatal("group members differ between index and storage")
	}
}

// TestAliasMoves: an alias updated to another entity leaves the first;
// an entity holds one alias per mount.
func TestAliasMoves(t *testing.T) {
	s := newTestStore(t, logical.NewInmemStorage())
	one := call(t, s, logical.UpdateOperation, "entity", map[string]any{"name": "one"}).Data["id"].(string)
	two := call(t, s, logical.UpdateOperation, "entity", map[string]any{"name": "two"}).Data["id"].(string)
	aid := call(t, s, logical.UpdateOperation, "entity-alias", map[string]any{"name": "u", "mount_accessor": "auth_userpass_1", "canonical_id": one}).Data["id"].(string)
	call(t, s, logical.UpdateOperation, "entity-alias/id/"+aid, map[string]any{"canonical_id": two})
	if n := len(s.idx.entities[one].Aliases); n != 0 {
		t.Fatalf("first entity keeps %d aliases", n)
	}
	if got := call(t, s, logical.ReadOperation, "entity-alias/id/"+aid, nil).Data["canonical_id"]; got != two {
		t.Fatalf("alias canonical_id %v", got)
	}
	// Registering it again is an update (custom metadata), same ID.
	again := call(t, s, logical.UpdateOperation, "entity-alias", map[string]any{"name": "u", "mount_accessor": "auth_userpass_1", "custom_metadata": "k=v"})
	if again.Data["id"] != aid || again.Data["canonical_id"] != two {
		t.Fatalf("re-register: %v", again.Data)
	}
	_, err := s.Backend().HandleRequest(context.Background(), &logical.Request{Operation: logical.UpdateOperation, Path: "entity-alias",
		Data: map[string]any{"name": "other", "mount_accessor": "auth_userpass_1", "canonical_id": two}})
	if code, _ := logical.StatusOf(err); code != 400 {
		t.Fatalf("second alias on one mount: %v", err)
	}
}

// TestEntityBatchDelete: the entities go, with their aliases and group
// memberships; unknown IDs are skipped.
func TestEntityBatchDelete(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, logical.NewInmemStorage())
	a, err := s.LoginEntity(ctx, "auth_userpass_1", &logical.Alias{Name: "a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := call(t, s, logical.UpdateOperation, "entity", map[string]any{"name": "b"}).Data["id"].(string)
	g := call(t, s, logical.UpdateOperation, "group", map[string]any{"name": "g", "member_entity_ids": []string{a.ID, b}}).Data["id"].(string)
	call(t, s, logical.UpdateOperation, "entity/batch-delete", map[string]any{"entity_ids": []string{a.ID, b, "unknown"}})
	if len(s.idx.entities) != 0 || len(s.idx.aliasByKey) != 0 || len(s.idx.groups[g].MemberEntityIDs) != 0 {
		t.Fatalf("after batch delete: %d entities, %d aliases, members %v", len(s.idx.entities), len(s.idx.aliasByKey), s.idx.groups[g].MemberEntityIDs)
	}
	if _, err := s.Backend().HandleRequest(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: "entity/batch-delete", Data: map[string]any{}}); err == nil {
		t.Fatal("batch delete without ids succeeded")
	}
}

// blockingStorage holds every Put until release is closed, telling
// entered when one starts.
type blockingStorage struct {
	logical.Storage
	entered chan struct{}
	release chan struct{}
}

func (b *blockingStorage) Put(ctx context.Context, e *logical.StorageEntry) error {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	<-b.release
	return b.Storage.Put(ctx, e)
}

// TestReadersDoNotWaitForStorage: while a write waits on storage (a raft
// commit), known logins and Resolve still answer from the index.
func TestReadersDoNotWaitForStorage(t *testing.T) {
	ctx := context.Background()
	inner := logical.NewInmemStorage()
	s := newTestStore(t, inner)
	known, err := s.LoginEntity(ctx, "auth_userpass_1", &logical.Alias{Name: "known"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	bs := &blockingStorage{Storage: inner, entered: make(chan struct{}, 1), release: make(chan struct{})}
	s.storage = bs
	done := make(chan error)
	go func() {
		_, err := s.LoginEntity(ctx, "auth_userpass_1", &logical.Alias{Name: "new"}, nil)
		done <- err
	}()
	<-bs.entered
	// These would deadlock if readers waited for the pending write.
	if e, err := s.LoginEntity(ctx, "auth_userpass_1", &logical.Alias{Name: "known"}, nil); err != nil || e.ID != known.ID {
		t.Fatalf("known login during a write: %v %v", e, err)
	}
	if r := s.Resolve(known.ID); r == nil || r.Entity.ID != known.ID {
		t.Fatalf("resolve during a write: %+v", r)
	}
	close(bs.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r := s.Resolve(known.ID); r == nil {
		t.Fatal("known entity lost")
	}
}
