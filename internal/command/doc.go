// Package command is the strongbox command-line interface: Vault's CLI verbs,
// flags, environment variables, output and exit codes, so runbooks written
// for `vault` work with `strongbox`. cmd/strongbox calls Execute; every
// command except `server` talks to a server only through the HTTP API with
// the official client (github.com/hashicorp/vault/api).
//
// Exit codes follow Vault: 0 success, 1 a local or usage error (bad flags,
// bad arguments, unreadable input), 2 an error from the server (or, for
// `status`, a sealed server).
package command
