package identity

import (
	"slices"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// namespaceID is the only namespace until namespaces land.
const namespaceID = "root"

func timeString(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// identityPolicies are an entity's or a group's policies as written:
// cleaned, and never "root", which identity cannot give (anyone allowed
// to edit an entity would otherwise hand out root).
func identityPolicies(in []string) ([]string, error) {
	out := cleanPolicies(in)
	for _, p := range out {
		if strings.EqualFold(p, "root") {
			return nil, logical.BadRequest("the root policy cannot be given through identity")
		}
	}
	return out, nil
}

// Metadata limits, as Vault's.
const (
	maxMetadataKeys   = 64
	maxMetadataKeyLen = 128
	maxMetadataValLen = 512
)

// checkMetadata refuses metadata past Vault's limits (64 pairs, keys of
// 128 bytes, values of 512) and empty keys, and returns a copy.
func checkMetadata(field string, m map[string]string) (map[string]string, error) {
	if len(m) > maxMetadataKeys {
		return nil, logical.BadRequest("%s: %d keys exceed the maximum of %d", field, len(m), maxMetadataKeys)
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch {
		case k == "":
			return nil, logical.BadRequest("%s: empty key", field)
		case len(k) > maxMetadataKeyLen:
			return nil, logical.BadRequest("%s: key %q is longer than %d bytes", field, k[:16]+"…", maxMetadataKeyLen)
		case len(v) > maxMetadataValLen:
			return nil, logical.BadRequest("%s: the value of %q is longer than %d bytes", field, k, maxMetadataValLen)
		}
		out[k] = v
	}
	return out, nil
}

// cleanPolicies trims, drops empties, sorts and deduplicates policy names.
func cleanPolicies(in []string) []string {
	out := make([]string, 0, len(in))
	for _, p := range in {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func mapOrEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// aliasData is an alias as reads show it. The caller holds mu or wmu.
func (s *Store) aliasData(a *Alias) map[string]any {
	info, _ := s.host.AuthMount(a.MountAccessor)
	return map[string]any{
		"id":                        a.ID,
		"canonical_id":              a.CanonicalID,
		"mount_accessor":            a.MountAccessor,
		"mount_path":                mountPath(info),
		"mount_type":                info.Type,
		"local":                     info.Local,
		"name":                      a.Name,
		"metadata":                  nullIfEmpty(a.Metadata),
		"custom_metadata":           mapOrEmpty(a.CustomMetadata),
		"creation_time":             timeString(a.CreationTime),
		"last_update_time":          timeString(a.LastUpdateTime),
		"merged_from_canonical_ids": nullIfEmptySlice(a.MergedFromCanonicalIDs),
		"namespace_id":              namespaceID,
	}
}

func mountPath(info MountInfo) string {
	if info.Path == "" {
		return ""
	}
	return "auth/" + info.Path
}

func nullIfEmpty(m map[string]string) any {
	if len(m) == 0 {
		return nil
	}
	return m
}

func nullIfEmptySlice(s []string) any {
	if len(s) == 0 {
		return nil
	}
	return s
}

// entityData is an entity as reads show it. The caller holds mu or wmu.
func (s *Store) entityData(e *Entity) map[string]any {
	aliases := make([]map[string]any, 0, len(e.Aliases))
	for _, a := range e.Aliases {
		aliases = append(aliases, s.aliasData(a))
	}
	direct := s.idx.directGroups(e.ID)
	var inherited []string
	for _, id := range s.idx.ancestors(direct) {
		if !slices.Contains(direct, id) {
			inherited = append(inherited, id)
		}
	}
	all := append(slices.Clone(direct), inherited...)
	return map[string]any{
		"id":                  e.ID,
		"name":                e.Name,
		"metadata":            nullIfEmpty(e.Metadata),
		"policies":            orEmpty(e.Policies),
		"disabled":            e.Disabled,
		"aliases":             aliases,
		"direct_group_ids":    orEmpty(direct),
		"inherited_group_ids": orEmpty(inherited),
		"group_ids":           orEmpty(all),
		"merged_entity_ids":   nullIfEmptySlice(e.MergedEntityIDs),
		"creation_time":       timeString(e.CreationTime),
		"last_update_time":    timeString(e.LastUpdateTime),
		"namespace_id":        namespaceID,
	}
}

// groupData is a group as reads show it. The caller holds mu or wmu.
func (s *Store) groupData(g *Group) map[string]any {
	var alias any = map[string]any{}
	if g.Alias != nil {
		alias = s.aliasData(g.Alias)
	}
	parents := make([]string, 0, len(s.idx.parentsOf[g.ID]))
	for p := range s.idx.parentsOf[g.ID] {
		parents = append(parents, p)
	}
	slices.Sort(parents)
	return map[string]any{
		"id":                g.ID,
		"name":              g.Name,
		"type":              g.Type,
		"policies":          orEmpty(g.Policies),
		"metadata":          nullIfEmpty(g.Metadata),
		"member_entity_ids": orEmpty(g.MemberEntityIDs),
		"member_group_ids":  orEmpty(g.MemberGroupIDs),
		"parent_group_ids":  orEmpty(parents),
		"alias":             alias,
		"creation_time":     timeString(g.CreationTime),
		"last_update_time":  timeString(g.LastUpdateTime),
		"modify_index":      g.ModifyIndex,
		"namespace_id":      namespaceID,
	}
}
