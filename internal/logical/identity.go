package logical

// Entity is an identity entity as engines see it (SystemView.EntityInfo).
type Entity struct {
	ID       string
	Name     string
	Metadata map[string]string
	Disabled bool
	Aliases  []*EntityAlias
	// Policies are the entity's own policies (not its groups').
	Policies []string
}

// EntityAlias is one of an entity's aliases: its name on an auth mount.
type EntityAlias struct {
	ID             string
	Name           string
	MountAccessor  string
	MountType      string
	MountPath      string
	Metadata       map[string]string
	CustomMetadata map[string]string
}

// Group is an identity group as engines see it
// (SystemView.GroupsForEntity).
type Group struct {
	ID       string
	Name     string
	Metadata map[string]string
	Policies []string
}
