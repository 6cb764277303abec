// Package config reads Strongbox's server configuration: Vault's HCL or
// JSON files (storage, listener, seal, telemetry stanzas and top-level
// settings) into typed structs, with Vault's environment overrides. The
// `server` command and the embeddable server (internal/server) call Load,
// ApplyEnv and Validate, in that order; dev mode starts from DevConfig.
//
// The parser walks hcl's syntax tree instead of decoding into structs, so
// an unknown key, a misspelt stanza or a value of the wrong type is an
// error naming the file and line ("config.hcl:12: unknown key \"listner\"").
// No setting is silently ignored: keys that Vault knows but Strongbox does
// not act on parse (so the error can be precise) and are refused by
// Validate, each with its file and line ("config.hcl:3: ui = true: the web
// UI is not built into Strongbox yet; remove the setting"). AcceptedKeys
// lists every key the parser takes; a test in internal/server proves each
// one honoured or refused.
package config
