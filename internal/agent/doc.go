// Package agent is `strongbox agent`: it logs in to a Strongbox (or Vault)
// server with an auto-auth method, writes the token to sinks, keeps it
// renewed and logs in again when renewal is no longer possible. The
// command package parses flags and calls Run; the agent talks to the server
// only through github.com/hashicorp/vault/api, like any other client.
package agent
