// Package cert is the TLS certificate auth method: a client logs in at
// login with the client certificate of its TLS connection, which must chain
// to (or be) a certificate registered under certs/<name>, satisfy that
// entry's name and extension constraints and not be revoked by a CRL
// registered under crls/<name>. The token carries the entry's token_*
// settings (internal/logical/tokenutil). The core mounts it under
// auth/<path>/ through the builtin registry and reaches it only through
// logical.Backend; the HTTP layer hands it the connection's TLS state
// (logical.Request.Connection), also for requests a standby forwarded.
//
// Chains are verified with crypto/x509 against the registered
// certificates only (never the system roots), for the client-auth key
// usage.
//
// Storage (the mount's view): cert/<lowercased name> one trusted
// certificate entry; crl/<lowercased name> the revoked serial numbers of
// one CRL; config the method's settings.
//
// Vault's API: certs/<name> (create, read, update, delete), LIST certs,
// crls/<name> (write, read, delete), LIST crls, config (read, write),
// login (optional name).
package cert
