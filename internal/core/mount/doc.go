// Package mount is the core's mount room: the mount and auth tables (one
// barrier entry per row), the router that finds a request's mount by
// longest prefix, the storage views engines write through, the
// instantiation of engines from the builtin registry with their
// SystemView, and the sys/ endpoints that manage them (sys/mounts,
// sys/auth, sys/*/tune, sys/remount, sys/internal/ui/mounts). The core
// builds it once, loads it on becoming active and tears it down on seal or
// step-down; it reaches back into the core only through Host.
package mount
