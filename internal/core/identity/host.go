package identity

// MountInfo is an auth mount as aliases show it.
type MountInfo struct {
	// Path is the mount path under auth/ ("userpass/"), Type its method.
	Path string
	Type string
	// Local is true for a mount enabled with local=true.
	Local bool
}

// Host is what the room needs from the kernel. Its methods are called
// during requests, with the kernel's state lock held for reading, and
// must not take that lock.
type Host interface {
	// AuthMount returns the auth mount whose accessor is given; ok is
	// false when no auth mount has it.
	AuthMount(accessor string) (info MountInfo, ok bool)
}
