// Package agent is `strongbox agent` and `strongbox proxy`: it logs in to a
// Strongbox (or Vault) server with an auto-auth method, writes the token to
// sinks, keeps it renewed and logs in again when renewal is no longer
// possible; it renders templates and env_templates with consul-template,
// runs an exec child, and serves a caching proxy on its listeners. The
// command package parses flags and calls Run with a Config from Parse or
// ParseProxy; the agent talks to the server only through
// github.com/hashicorp/vault/api and plain HTTP, like any other client.
package agent
