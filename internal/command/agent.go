package command

import (
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/strongbox/strongbox/internal/agent"
)

type agentCmd struct {
	a        *app
	proxy    bool // strongbox proxy: Vault proxy's config
	config   string
	logLevel string
}

func newProxyCommand(a *app) *cobra.Command {
	c := &agentCmd{a: a, proxy: true}
	cmd := &cobra.Command{
		Use:   "proxy -config=<file>",
		Short: "Start a Strongbox proxy",
		Long: `Starts a proxy in front of the server, configured like Vault proxy: the
agent's vault, auto_auth, cache, listener ("tcp" or "unix", TLS unless
tls_disable) and api_proxy { use_auto_auth_token = true|"force" } stanzas,
without templates. Requests without a token get the auto-auth token (true)
or always do ("force"); with cache {}, responses that create tokens or
leased secrets are replayed for the same request until they expire or are
revoked through the proxy; POST /agent/v1/cache-clear empties the cache.

SIGINT or SIGTERM stop the proxy.`,
		Example: `$ strongbox proxy -config=/etc/strongbox/proxy.hcl
$ VAULT_AGENT_ADDR=http://127.0.0.1:8100 strongbox token create`,
		RunE: func(cmd *cobra.Command, args []string) error { return c.run(cmd, args) },
	}
	fs := cmd.Flags()
	fs.StringVar(&c.config, "config", "", "Path to the proxy's configuration file.")
	fs.StringVar(&c.logLevel, "log-level", "", "Log verbosity: trace, debug, info, warn or error. Overrides "+envLogLevel+" (default info).")
	return cmd
}

func newAgentCommand(a *app) *cobra.Command {
	c := &agentCmd{a: a}
	cmd := &cobra.Command{
		Use:   "agent -config=<file>",
		Short: "Start a Strongbox agent",
		Long: `Starts an agent that logs in to the server with its auto_auth method, writes
the token to its sinks (files, with the sink's mode) and keeps it fresh: it
renews the token at about two thirds of its TTL and logs in again when the
token can no longer be renewed or was revoked, backing off exponentially
(with jitter) while the server is unreachable. With listener and cache
stanzas it is also a caching proxy (see strongbox proxy).

The configuration is Vault agent's HCL (or JSON): vault { address, ca_cert,
client_cert, client_key, tls_skip_verify, retry { num_retries } },
auto_auth { method "approle"|"cert"|"ldap"|"token_file" { … } sink "file" { config {
path, mode } } }, exit_after_auth, pid_file, template { source|contents,
destination, perms, command, error_on_missing_key, backup } (consul-template
syntax, re-rendered when secrets change), template_config {
static_secret_render_interval, exit_on_retry_failure }, env_template "NAME"
{ contents } with exec { command, restart_on_secret_changes }, cache,
listener and api_proxy. Keys the agent does
not act on are refused with their file and line.

SIGINT or SIGTERM stop the agent.`,
		Example: `$ strongbox agent -config=/etc/strongbox/agent.hcl`,
		RunE:    func(cmd *cobra.Command, args []string) error { return c.run(cmd, args) },
	}
	fs := cmd.Flags()
	fs.StringVar(&c.config, "config", "", "Path to the agent's configuration file.")
	fs.StringVar(&c.logLevel, "log-level", "", "Log verbosity: trace, debug, info, warn or error. Overrides "+envLogLevel+" (default info).")
	return cmd
}

func (c *agentCmd) run(cmd *cobra.Command, args []string) error {
	if err := argCount(args, 0, 0); err != nil {
		return err
	}
	if c.config == "" {
		return usageErrorf("Must specify exactly one config path using -config")
	}
	if !cmd.Flags().Changed("log-level") {
		c.logLevel = c.a.env.get(envLogLevel)
	}
	// consul-template's INFO lines describe each render; they stay out
	// of the agent's info level, which is about auth and sinks.
	level, ctLevel := slog.LevelInfo, "warn"
	switch strings.ToLower(strings.TrimSpace(c.logLevel)) {
	case "", "info":
	case "trace":
		level, ctLevel = slog.LevelDebug, "trace"
	case "debug":
		level, ctLevel = slog.LevelDebug, "debug"
	case "warn", "warning":
		level = slog.LevelWarn
	case "err", "error":
		level, ctLevel = slog.LevelError, "err"
	default:
		return usageErrorf("Unknown log level: %s", c.logLevel)
	}
	parse, what := agent.ParseFile, "agent"
	if c.proxy {
		parse, what = agent.ParseProxyFile, "proxy"
	}
	cfg, err := parse(c.config)
	if err != nil {
		return &exitError{code: exitLocal, msg: "Error loading configuration: " + err.Error(), err: err}
	}
	if err := agent.SetTemplateLogging(c.a.stderr, ctLevel); err != nil {
		return &exitError{code: exitLocal, msg: "Error setting up template logs: " + err.Error(), err: err}
	}
	logger := slog.New(slog.NewTextHandler(c.a.stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(c.a.ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := agent.Run(ctx, cfg, logger); err != nil {
		return &exitError{code: exitLocal, msg: "Error running " + what + ": " + err.Error(), err: err}
	}
	return nil
}
