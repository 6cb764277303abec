// Package wrapping is the kernel's response-wrapping room: it wraps a
// response in a single-use wrapping token whose cubbyhole holds the
// response's JSON body (the X-Vault-Wrap-TTL header, a backend's ask,
// an engine's SystemView.ResponseWrapData), optionally handing the token
// out inside a JWT it signs, and serves sys/wrapping/wrap, unwrap, lookup,
// rewrap and pubkey. The kernel (internal/core) calls Wrap from its
// request pipeline once the backend has answered and registers Paths in
// its sys/ mount; the room reaches tokens and cubbyholes only through its
// Host, and never imports the kernel.
package wrapping
