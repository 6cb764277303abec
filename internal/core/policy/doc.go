// Package policy is Strongbox's ACL policy language: it parses Vault-style
// HCL/JSON policies, evaluates them into an ACL, and stores them; the core
// calls it to decide whether a token may perform an operation on a path and to
// serve sys/policy, sys/policies/acl and sys/capabilities*.
//
// A policy is a list of path rules:
//
//	path "secret/+/config" {
//	  capabilities = ["read", "list"]
//	}
//
// Path patterns are exact ("secret/foo"), prefix globs ending in "*"
// ("secret/foo*" matches "secret/foobar" and "secret/foo/bar") or contain
// "+" segments that match exactly one path segment ("secret/+/config"); "+"
// and a trailing "*" may be combined. When one policy set has several patterns
// matching a path, only the highest-priority one applies (exact beats any
// pattern, then Vault's documented priority rules, see lowerPriority); the
// capabilities of identical patterns coming from several policies are
// merged, and "deny" on a pattern overrides everything else on it.
//
// allowed_parameters, denied_parameters, required_parameters,
// min_wrapping_ttl, max_wrapping_ttl, mfa_methods and subscribe_event_types
// are parsed, validated and kept on the PathRules, but ACL decisions are
// made on capabilities alone.
package policy
