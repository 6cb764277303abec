// Package ldaptest runs a private OpenLDAP server (Debian's slapd) on
// 127.0.0.1 with a small test directory, for the tests of the LDAP auth
// method and of the server and CLI that use it. It is imported by tests
// only.
//
// Start writes a slapd.conf (mdb backend, the test schema, a CA and a
// server certificate for StartTLS and ldaps) and the directory (users
// alice, bob and carol under ou=users; groups devs and admins as
// groupOfNames, ops as posixGroup with memberUid) into a directory of the
// caller's, loads it with slapadd and runs slapd in the foreground on two
// free ports until Stop. Without slapd installed it fails and names
// scripts/test-deps.sh.
package ldaptest
