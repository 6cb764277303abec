// Package expiration is the expiration manager: it keeps every lease the
// core hands out (a secret an engine returned with a Secret, a token with a
// TTL), renews and revokes them on request, and revokes each one at its own
// expiry on the active node. The core registers leases from its request
// pipeline (Register, and the token store's hooks: RegisterToken,
// TokenRenewed, TokenRevoked), starts the manager after unseal and stops it
// at teardown, and serves the manager's Paths under sys/.
//
// The manager never imports the core: what it needs from it (send a renew
// or revoke to the engine mounted at a lease's path, revoke a token) is the
// small Host interface, implemented by core/host_expiration.go.
//
// Storage layout, inside the view the core gives Start (sys/expire/):
//
//	id/<lease id>                       JSON entry of one lease
//	token/<token id>/<enc lease id>     the leases a token created
//	time/<bucket>/<unix ns>.<enc id>    expiry index, one bucket a minute
//	bucket/<day>/<bucket>               marker: the bucket holds keys
//	day/<day>                           marker: the day holds buckets
//	irrevocable/<enc lease id>          leases whose revocation gave up
//
// (<enc id> is the lease id in unpadded base64url.) The expiry index is
// what makes a restore cheap: a physical List scans every key under its
// prefix, so the manager never lists a prefix holding all leases. After
// unseal it lists the day markers (a few dozen), the bucket markers of the
// days due, and the buckets due before now+Horizon, and keeps only those
// leases in an in-memory heap; a loader moves the horizon forward once a
// bucket. The work is proportional to the leases due soon, not to all.
// Leases that expired while no node was active (an outage) are loaded in
// batches, oldest first, as the heap drains below MaxBacklog.
//
// Each lease is revoked at its own expiry by a bounded pool of workers that
// sleep until the earliest one is due. A failed revocation is retried with
// backoff and recorded on the lease; after MaxRevokeAttempts it becomes
// irrevocable: kept, listed by sys/leases?type=irrevocable, removed only by
// revoke-force.
package expiration
