// Package ha is the core's active/standby room: core calls it once the
// barrier is unsealed on storage that elects a leader, and it follows that
// leadership from then on, making the core active while its node leads and
// a standby otherwise (activation, demotion, step-down with its hold and
// leadership transfer). It also publishes the active node's advertisement
// through the barrier, caches the advertisement of another active node for
// the standbys, records the standbys' heartbeats and serves sys/ha-status.
//
// The package never imports core: what it needs of it (the state lock, the
// post-unseal setup and its teardown, the periodic raft upkeep) it asks of
// a Host that core implements.
package ha
