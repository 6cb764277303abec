// Package core is Strongbox's request pipeline and state machine: seal state,
// init and unseal, the mount and auth tables, the router, token and ACL
// checks, audit, and the sys/ endpoints that need core state. The HTTP layer
// calls it; it calls logical engines, the barrier, the seal, and audit.
package core
