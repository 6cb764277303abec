// Package cors is the core's CORS room: sys/config/cors (which browser
// origins may call the API) stored in the barrier, and each node's copy of
// it, refreshed within a few seconds of a change on another node, that the
// HTTP layer reads on every request.
package cors
