// Package ldap is the LDAP auth method: users log in at login/<username>
// with their directory password, checked by binding to an LDAP server
// (OpenLDAP, Active Directory), and get the policies mapped to their LDAP
// groups (groups/<name>) and to themselves (users/<name>). The core mounts
// it under auth/<path>/ through the builtin registry and reaches it only
// through logical.Backend.
//
// Storage: config (the connection and search settings, with the bind
// password, which is never read back), group/<name> and user/<name> (the
// policy mappings; names lowercased unless case_sensitive_names).
// Vault's API: config, groups/<name>, users/<name> (+ LIST), login/<name>.
//
// A login dials the configured URLs in order, finds the user's DN (built
// from userattr and userdn, or searched for with the service account
// binddn/bindpass or anonymously with discoverdn, or from upndomain),
// binds as the user with the password, then searches the user's groups
// with groupfilter under groupdn. A renewal checks the login still holds
// without the password, which is never kept: the user must still be found
// and map to the same policies.
package ldap
