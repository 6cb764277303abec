// Package pwpolicies is the core's password policy room:
// sys/policies/password/<name> (HCL length and charset rules, kept in the
// barrier), its generate endpoint, and the generator engines reach
// through their SystemView (logical.PasswordGenerator).
package pwpolicies
