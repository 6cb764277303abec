// Package builtin is the registry of engines compiled into Strongbox: the
// server hands these factories to the core, which instantiates one per mount.
package builtin
