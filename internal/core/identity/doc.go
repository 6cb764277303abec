// Package identity is the kernel's identity room: entities (one per
// person or machine), their aliases (the names they log in with, one per
// auth mount), internal and external groups with their group aliases, and
// the identity/ mount that serves Vault's identity API over them.
//
// The kernel (internal/core) builds a Store on the active node at each
// activation; the Store keeps every entity and group in the barrier (under
// the storage it is given) and an in-memory index over them that every
// write keeps in step. The kernel calls LoginEntity at each login whose
// auth method names an alias, Resolve on each request of a token tied to
// an entity (its identity policies and the ACL template data), and mounts
// Backend at identity/. The room reaches auth mounts only through its
// Host, and never imports the kernel.
package identity
