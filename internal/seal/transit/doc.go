// Package transit is the "transit" auto-unseal seal: the root key is
// encrypted and decrypted by the transit secrets engine of another
// Strongbox (or Vault) server, configured as Vault's seal "transit" stanza.
//
// Each Encrypt and Decrypt is one call to <mount_path>/encrypt/<key_name>
// or <mount_path>/decrypt/<key_name> with the configured token; the
// plaintext (the root key) travels to the key service, as with Vault's
// transit seal, so the address should be HTTPS outside tests. The blob keeps
// the transit ciphertext ("vault:v<N>:…"), whose version lets a rotated key
// still decrypt it, and a key id naming the server, mount, key and version,
// so a seal re-wrap notices a rotation.
//
// Unless disable_renewal is set, the token is renewed in the background
// (renew-self at half its TTL) until Close. A key service that is down,
// sealed or refuses the token is an ordinary (retryable) error: the core
// keeps the node sealed and retries at RetryInterval.
package transit
