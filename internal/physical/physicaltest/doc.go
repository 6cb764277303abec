// Package physicaltest is the conformance suite every physical.Backend must
// pass (inmem, file, raft, postgresql each call Run from their tests), plus an
// ErrorInjector that wraps a backend and fails chosen calls, for core tests
// that need storage to misbehave.
//
// It imports "testing" and is meant to be imported only from _test.go files.
package physicaltest
