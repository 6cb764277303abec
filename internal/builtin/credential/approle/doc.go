// Package approle is the AppRole auth method: machines log in with a role
// ID (which names a role) and a secret ID (a credential generated for that
// role, optionally bounded in uses, time and source addresses) for a token
// carrying the role's token_* settings (internal/logical/tokenutil). The
// core mounts it under auth/<path>/ through the builtin registry and
// reaches it only through logical.Backend.
//
// Storage (the mount's view): "salt" holds the mount's random HMAC key;
// role/<name> a role; role_id/<hmac(role ID)> the name of the role owning
// a role ID; secret_id/<random folder of the role>/<hmac(secret ID)> a
// secret ID's
// entry (its accessor, uses left, expiry, metadata, CIDRs: never the
// secret ID itself); accessor/<hmac(accessor)> points an accessor at its
// secret ID. Roles with local_secret_ids keep the last two under
// secret_id_local/ and accessor_local/ (declared LocalStorage).
//
// Vault's API: role/<name> (create, read, update, delete), LIST role, the
// per-field role/<name>/<field> endpoints, role/<name>/role-id,
// role/<name>/secret-id (generate, LIST accessors), custom-secret-id,
// secret-id/lookup|destroy, secret-id-accessor/lookup|destroy, login and
// tidy/secret-id.
package approle
