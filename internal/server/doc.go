// Package server is the embeddable Strongbox server: Run builds storage, the
// core and the HTTP listeners from a configuration and serves until its
// context ends. The `server` command and in-process tests both use it.
package server
