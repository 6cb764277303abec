// Package userpass is the userpass auth method: users with a bcrypt'd
// password and the token_* settings of internal/logical/tokenutil, who log
// in at login/<username> for a token. The core mounts it under
// auth/<path>/ through the builtin registry and reaches it only through
// logical.Backend.
//
// Storage: one JSON entry per user at user/<lowercased name> holding the
// password's bcrypt hash (never the password) and the token settings.
// Vault's API: users/<name> (create, read, update, delete), LIST users,
// users/<name>/password, users/<name>/policies, login/<name>.
package userpass
