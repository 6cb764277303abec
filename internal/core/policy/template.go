package policy

import (
	"strings"
)

// TemplateData is what the {{identity.…}} placeholders of policy paths
// render from: the caller's entity, its aliases and its groups.
type TemplateData struct {
	EntityID       string
	EntityName     string
	EntityMetadata map[string]string
	// Aliases are the entity's aliases by mount accessor.
	Aliases map[string]TemplateAlias
	// Groups are the entity's groups, direct and inherited.
	Groups []TemplateGroup
}

// TemplateAlias is an entity alias as templates see it.
type TemplateAlias struct {
	ID, Name                 string
	Metadata, CustomMetadata map[string]string
}

// TemplateGroup is a group as templates see it.
type TemplateGroup struct {
	ID, Name string
	Metadata map[string]string
}

// hasTemplate reports whether a policy path holds a placeholder.
func hasTemplate(path string) bool { return strings.Contains(path, "{{") }

// RenderPath replaces every {{identity.…}} placeholder in a policy path
// with the caller's values. ok is false when one cannot be rendered (no
// entity, an unknown placeholder, a metadata key or alias or group the
// entity does not have): Vault then leaves the path out of the ACL.
func RenderPath(path string, td *TemplateData) (string, bool) {
	if !hasTemplate(path) {
		return path, true
	}
	if td == nil {
		return "", false
	}
	var b strings.Builder
	rest := path
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			b.WriteString(rest)
			return b.String(), true
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return "", false
		}
		v, ok := td.lookup(strings.TrimSpace(rest[i+2 : i+j]))
		if !ok || v == "" {
			return "", false
		}
		b.WriteString(rest[:i])
		b.WriteString(v)
		rest = rest[i+j+2:]
	}
}

func (td *TemplateData) lookup(sel string) (string, bool) {
	switch {
	case sel == "identity.entity.id":
		return td.EntityID, td.EntityID != ""
	case sel == "identity.entity.name":
		return td.EntityName, td.EntityName != ""
	case strings.HasPrefix(sel, "identity.entity.metadata."):
		v, ok := td.EntityMetadata[strings.TrimPrefix(sel, "identity.entity.metadata.")]
		return v, ok
	case strings.HasPrefix(sel, "identity.entity.aliases."):
		acc, field, ok := strings.Cut(strings.TrimPrefix(sel, "identity.entity.aliases."), ".")
		if !ok {
			return "", false
		}
		a, ok := td.Aliases[acc]
		if !ok {
			return "", false
		}
		return a.field(field)
	case strings.HasPrefix(sel, "identity.groups.ids."):
		id, field, ok := strings.Cut(strings.TrimPrefix(sel, "identity.groups.ids."), ".")
		if !ok {
			return "", false
		}
		for _, g := range td.Groups {
			if g.ID == id {
				return g.field(field, "name")
			}
		}
	case strings.HasPrefix(sel, "identity.groups.names."):
		name, field, ok := strings.Cut(strings.TrimPrefix(sel, "identity.groups.names."), ".")
		if !ok {
			return "", false
		}
		for _, g := range td.Groups {
			if g.Name == name {
				return g.field(field, "id")
			}
		}
	}
	return "", false
}

func (a TemplateAlias) field(f string) (string, bool) {
	switch {
	case f == "id":
		return a.ID, true
	case f == "name":
		return a.Name, true
	case strings.HasPrefix(f, "metadata."):
		v, ok := a.Metadata[strings.TrimPrefix(f, "metadata.")]
		return v, ok
	case strings.HasPrefix(f, "custom_metadata."):
		v, ok := a.CustomMetadata[strings.TrimPrefix(f, "custom_metadata.")]
		return v, ok
	}
	return "", false
}

// field answers a group placeholder; other is the one of "id" and "name"
// that the selector did not already use.
func (g TemplateGroup) field(f, other string) (string, bool) {
	switch {
	case f == other && f == "id":
		return g.ID, true
	case f == other && f == "name":
		return g.Name, true
	case strings.HasPrefix(f, "metadata."):
		v, ok := g.Metadata[strings.TrimPrefix(f, "metadata.")]
		return v, ok
	}
	return "", false
}
