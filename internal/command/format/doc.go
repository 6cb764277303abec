// Package format renders command output the way Vault's CLI does: Key/Value
// tables with a "---" underline, sorted key lists, JSON (the API envelope,
// pretty-printed), YAML, and raw single fields. The strongbox CLI commands in
// internal/command call it; it knows nothing about flags or HTTP.
package format
