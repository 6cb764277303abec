// Package core is Strongbox's kernel: the seal state machine (init, unseal,
// seal), the request pipeline (token, ACL, audit, router, backend), the
// post-unseal setup and teardown, the periodic runner, and the small sys/
// endpoints that need kernel state. The HTTP layer calls it; it calls
// logical engines, the barrier, the seal and audit. Larger concerns live in
// rooms beneath it (core/mount, core/keyops, core/raftops, core/ha,
// core/expiration), each declaring the Host interface it needs; none
// imports core.
package core
