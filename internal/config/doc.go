// Package config reads Strongbox's server configuration: Vault's HCL or
// JSON files (storage, listener, seal, telemetry stanzas and top-level
// settings) into typed structs, with Vault's environment overrides. The
// `server` command and the embeddable server (internal/server) call Load,
// ApplyEnv and Validate, in that order; dev mode starts from DevConfig.
//
// The parser walks hcl's syntax tree instead of decoding into structs, so
// an unknown key, a misspelt stanza or a value of the wrong type is an
// error naming the file and line ("config.hcl:12: unknown key \"listner\"").
// Keys that Vault knows but Strongbox does not act on are accepted and
// listed in Config.Ignored, so a Vault config keeps working.
package config
