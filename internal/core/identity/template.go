package identity

import "github.com/strongbox/strongbox/internal/core/policy"

// TemplateData is what the caller's templated policy paths render from:
// the entity, its aliases and its groups.
func (r *Resolved) TemplateData() *policy.TemplateData {
	e := r.Entity
	td := &policy.TemplateData{
		EntityID: e.ID, EntityName: e.Name, EntityMetadata: e.Metadata,
		Aliases: make(map[string]policy.TemplateAlias, len(e.Aliases)),
	}
	for _, a := range e.Aliases {
		td.Aliases[a.MountAccessor] = policy.TemplateAlias{ID: a.ID, Name: a.Name, Metadata: a.Metadata, CustomMetadata: a.CustomMetadata}
	}
	for _, g := range r.Groups() {
		td.Groups = append(td.Groups, policy.TemplateGroup{ID: g.ID, Name: g.Name, Metadata: g.Metadata})
	}
	return td
}
