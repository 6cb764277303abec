// Package lockout is the core's user lockout room (Vault ≥ 1.13): after
// lockout_threshold failed logins of one alias (a username, a role ID)
// within lockout_counter_reset, the alias is locked out of its auth mount
// for lockout_duration; a locked alias is refused (403) before its
// credentials are looked at.
//
// Failure counts live in memory on the active node, which serves every
// login; locked aliases are kept in the barrier so that they hold across
// restarts and failovers. Settings come from Vault's defaults (5 failures,
// 15 minutes, 15 minutes), the server's user_lockout stanzas ("all", then
// the method's type) and the mount's tuned user_lockout_config, in that
// order. The room serves sys/locked-users and
// sys/locked-users/<mount_accessor>/unlock/<alias>.
//
// The kernel asks the auth method for the alias first (the
// alias-lookahead operation), calls Check, runs the login and reports its
// outcome with Failed or Succeeded.
package lockout
