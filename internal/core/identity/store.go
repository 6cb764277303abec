package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	uuid "github.com/hashicorp/go-uuid"

	"github.com/strongbox/strongbox/internal/logical"
)

// Storage prefixes, inside the storage the Store is given.
const (
	entityPrefix = "entity/"
	groupPrefix  = "group/"
)

// ErrDisabled is returned for a login or a request of a disabled entity.
var ErrDisabled = fmt.Errorf("entity is disabled: %w", logical.ErrPermissionDenied)

// Store holds the entities and groups of the active node: in storage,
// and in an index that every write keeps in step. It is safe for
// concurrent use. Writes are serialized (wmu); readers get values that
// are never modified after they are indexed, and wait for a writer only
// while it swaps index entries, never during its storage I/O.
type Store struct {
	host    Host
	storage logical.Storage
	logger  *slog.Logger
	now     func() time.Time

	// wmu serializes writers: a writer holds it from its checks to its
	// last index change, and may read the index without mu (no one else
	// changes it meanwhile). A change is stored first, then indexed under
	// mu, so a reader never sees what storage does not hold.
	wmu sync.Mutex
	// mu guards the index against readers while a writer changes it.
	mu  sync.RWMutex
	idx *index
	// gen changes on every write; a cached value computed under an older
	// generation may be stale.
	gen atomic.Uint64
	// resolved caches Resolve's answers by the entity ID asked for, each
	// with the generation it was computed at.
	resolved sync.Map
}

type index struct {
	entities     map[string]*Entity
	entityByName map[string]string // lowercased name -> id
	merged       map[string]string // merged entity id -> id
	aliases      map[string]*Alias // alias id -> alias
	aliasByKey   map[string]string // accessor\x00name -> alias id

	groups          map[string]*Group
	groupByName     map[string]string // lowercased name -> id
	groupAliases    map[string]*Alias // group alias id -> alias
	groupAliasByKey map[string]string // accessor\x00name -> group alias id
	groupsOfEntity  map[string]map[string]struct{}
	parentsOf       map[string]map[string]struct{} // group -> groups listing it in member_group_ids
}

func newIndex() *index {
	return &index{
		entities: map[string]*Entity{}, entityByName: map[string]string{}, merged: map[string]string{},
		aliases: map[string]*Alias{}, aliasByKey: map[string]string{},
		groups: map[string]*Group{}, groupByName: map[string]string{},
		groupAliases: map[string]*Alias{}, groupAliasByKey: map[string]string{},
		groupsOfEntity: map[string]map[string]struct{}{}, parentsOf: map[string]map[string]struct{}{},
	}
}

func aliasKey(accessor, name string) string { return accessor + "\x00" + name }

// Options configure a Store.
type Options struct {
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// New builds a Store over storage (inside the barrier) and loads its
// index. The kernel calls it when the node becomes active.
func New(ctx context.Context, host Host, storage logical.Storage, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{host: host, storage: storage, logger: opts.Logger, now: opts.Now, idx: newIndex()}
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) load(ctx context.Context) error {
	ids, err := s.storage.List(ctx, entityPrefix)
	if err != nil {
		return fmt.Errorf("identity: list entities: %w", err)
	}
	for _, id := range ids {
		var e Entity
		if ok, err := s.read(ctx, entityPrefix+id, &e); err != nil {
			return err
		} else if ok {
			s.idx.addEntity(&e)
		}
	}
	ids, err = s.storage.List(ctx, groupPrefix)
	if err != nil {
		return fmt.Errorf("identity: list groups: %w", err)
	}
	for _, id := range ids {
		var g Group
		if ok, err := s.read(ctx, groupPrefix+id, &g); err != nil {
			return err
		} else if ok {
			s.idx.addGroup(&g)
		}
	}
	return nil
}

func (s *Store) read(ctx context.Context, key string, into any) (bool, error) {
	se, err := s.storage.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("identity: read %s: %w", key, err)
	}
	if se == nil {
		return false, nil
	}
	if err := json.Unmarshal(se.Value, into); err != nil {
		return false, fmt.Errorf("identity: decode %s: %w", key, err)
	}
	return true, nil
}

func (s *Store) write(ctx context.Context, key string, v any) error {
	buf, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("identity: encode %s: %w", key, err)
	}
	if err := s.storage.Put(ctx, &logical.StorageEntry{Key: key, Value: buf}); err != nil {
		return fmt.Errorf("identity: write %s: %w", key, err)
	}
	return nil
}

// Generation changes on every write to the store.
func (s *Store) Generation() uint64 { return s.gen.Load() }

// putEntity stores e and indexes it in place of the entity with its ID.
// The caller holds wmu.
func (s *Store) putEntity(ctx context.Context, e *Entity) error {
	if err := s.write(ctx, entityPrefix+e.ID, e); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.idx.entities[e.ID]; old != nil {
		s.idx.removeEntity(old)
	}
	s.idx.addEntity(e)
	s.gen.Add(1)
	return nil
}

// deleteEntityLocked removes an entity from storage and index (not from
// groups: the caller does that first). The caller holds wmu.
func (s *Store) deleteEntityLocked(ctx context.Context, e *Entity) error {
	if err := s.storage.Delete(ctx, entityPrefix+e.ID); err != nil {
		return fmt.Errorf("identity: delete entity: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idx.removeEntity(e)
	s.gen.Add(1)
	return nil
}

// putGroup stores g and indexes it in place of the group with its ID.
// The caller holds wmu.
func (s *Store) putGroup(ctx context.Context, g *Group) error {
	g.ModifyIndex++
	if err := s.write(ctx, groupPrefix+g.ID, g); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.idx.groups[g.ID]; old != nil {
		s.idx.removeGroup(old)
	}
	s.idx.addGroup(g)
	s.gen.Add(1)
	return nil
}

// deleteGroupLocked removes a group from storage and index. The caller
// holds wmu.
func (s *Store) deleteGroupLocked(ctx context.Context, g *Group) error {
	if err := s.storage.Delete(ctx, groupPrefix+g.ID); err != nil {
		return fmt.Errorf("identity: delete group: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idx.removeGroup(g)
	s.gen.Add(1)
	return nil
}

func (x *index) addEntity(e *Entity) {
	x.entities[e.ID] = e
	x.entityByName[strings.ToLower(e.Name)] = e.ID
	for _, m := range e.MergedEntityIDs {
		x.merged[m] = e.ID
	}
	for _, a := range e.Aliases {
		x.aliases[a.ID] = a
		x.aliasByKey[aliasKey(a.MountAccessor, a.Name)] = a.ID
	}
}

func (x *index) removeEntity(e *Entity) {
	delete(x.entities, e.ID)
	if x.entityByName[strings.ToLower(e.Name)] == e.ID {
		delete(x.entityByName, strings.ToLower(e.Name))
	}
	for _, m := range e.MergedEntityIDs {
		if x.merged[m] == e.ID {
			delete(x.merged, m)
		}
	}
	// An alias a merge moved to another entity stays indexed there.
	for _, a := range e.Aliases {
		if cur := x.aliases[a.ID]; cur == nil || cur.CanonicalID != e.ID {
			continue
		}
		delete(x.aliases, a.ID)
		if k := aliasKey(a.MountAccessor, a.Name); x.aliasByKey[k] == a.ID {
			delete(x.aliasByKey, k)
		}
	}
}

func addTo(m map[string]map[string]struct{}, k, v string) {
	set := m[k]
	if set == nil {
		set = map[string]struct{}{}
		m[k] = set
	}
	set[v] = struct{}{}
}

func removeFrom(m map[string]map[string]struct{}, k, v string) {
	if set := m[k]; set != nil {
		delete(set, v)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}

func (x *index) addGroup(g *Group) {
	x.groups[g.ID] = g
	x.groupByName[strings.ToLower(g.Name)] = g.ID
	for _, m := range g.MemberEntityIDs {
		addTo(x.groupsOfEntity, m, g.ID)
	}
	for _, m := range g.MemberGroupIDs {
		addTo(x.parentsOf, m, g.ID)
	}
	if a := g.Alias; a != nil {
		x.groupAliases[a.ID] = a
		x.groupAliasByKey[aliasKey(a.MountAccessor, a.Name)] = a.ID
	}
}

func (x *index) removeGroup(g *Group) {
	delete(x.groups, g.ID)
	if x.groupByName[strings.ToLower(g.Name)] == g.ID {
		delete(x.groupByName, strings.ToLower(g.Name))
	}
	for _, m := range g.MemberEntityIDs {
		removeFrom(x.groupsOfEntity, m, g.ID)
	}
	for _, m := range g.MemberGroupIDs {
		removeFrom(x.parentsOf, m, g.ID)
	}
	if a := g.Alias; a != nil {
		delete(x.groupAliases, a.ID)
		if k := aliasKey(a.MountAccessor, a.Name); x.groupAliasByKey[k] == a.ID {
			delete(x.groupAliasByKey, k)
		}
	}
}

// entity returns the entity an ID names, following merges.
func (x *index) entity(id string) *Entity {
	if e := x.entities[id]; e != nil {
		return e
	}
	if to, ok := x.merged[id]; ok {
		return x.entities[to]
	}
	return nil
}

// freeEntityName is Vault's name for a new entity, "entity_<first part
// of the ID>", or "entity_<ID>" in the rare case another entity has that
// name (names are unique).
func (x *index) freeEntityName(id string) string {
	if name := "entity_" + strings.Split(id, "-")[0]; x.entityByNameOf(name) == nil {
		return name
	}
	return "entity_" + id
}

func (x *index) entityByNameOf(name string) *Entity {
	if id, ok := x.entityByName[strings.ToLower(name)]; ok {
		return x.entities[id]
	}
	return nil
}

func (x *index) groupByNameOf(name string) *Group {
	if id, ok := x.groupByName[strings.ToLower(name)]; ok {
		return x.groups[id]
	}
	return nil
}

// directGroups are the groups listing the entity in member_entity_ids,
// sorted by ID.
func (x *index) directGroups(entityID string) []string {
	set := x.groupsOfEntity[entityID]
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// ancestors are the groups whose members the given groups are, directly
// or through other groups (the given ones excluded unless in a loop),
// sorted by ID.
func (x *index) ancestors(groupIDs []string) []string {
	seen := map[string]struct{}{}
	stack := slices.Clone(groupIDs)
	var out []string
	for len(stack) > 0 {
		g := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for p := range x.parentsOf[g] {
			if _, ok := seen[p]; ok {
				continue
			}
			seen[p] = struct{}{}
			out = append(out, p)
			stack = append(stack, p)
		}
	}
	slices.Sort(out)
	return out
}

func newID() string {
	id, err := uuid.GenerateUUID()
	if err != nil {
		panic(err) // crypto/rand never fails on Linux; a broken RNG must not go unnoticed
	}
	return id
}

// errNotFound is a 404 with Vault's wording for the kind of object.
func errNotFound(kind, id string) error {
	return logical.Errorf(404, "%s %q not found", kind, id)
}
