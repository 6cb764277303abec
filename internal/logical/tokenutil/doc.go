// Package tokenutil is what every auth method shares about the tokens its
// logins create: the token_* fields of a role or user (token_ttl,
// token_max_ttl, token_policies, token_bound_cidrs, token_explicit_max_ttl,
// token_no_default_policy, token_num_uses, token_period, token_type), their
// schema, their parsing with the pre-1.2 names older clients still send
// (policies, period, bound_cidr_list, bound_cidrs, num_uses, ttl, max_ttl),
// how they read back, and how they fill the logical.Auth of a login.
//
// Auth methods (internal/builtin/credential/...) embed Params in their
// stored role or user, add Fields to the path's schema, call Parse in the
// write handler, Data in the read handler and PopulateAuth at login. The
// core uses AddrAllowed to refuse a token used outside its bound CIDRs.
package tokenutil
