package command

import (
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/strongbox/strongbox/internal/server"
)

type serverCmd struct {
	a                *app
	configs          []string
	dev              bool
	devRootTokenID   string
	devListenAddress string
	logLevel         string
}

func newServerCommand(a *app) *cobra.Command {
	c := &serverCmd{a: a}
	cmd := &cobra.Command{
		Use:   "server [options]",
		Short: "Start a Strongbox server",
		Long: `Starts a server that responds to API requests. With -config, storage,
listeners and the rest come from HCL or JSON configuration files (a directory
loads every *.hcl and *.json file in it; -config may be repeated and later
files override earlier ones).

With -dev, the server runs in memory, already initialized and unsealed, with
a known root token and a KV version 2 engine at secret/. Never use dev mode
in production.

SIGINT or SIGTERM stop the server gracefully; SIGHUP reloads what can change
at run time (log level, TLS certificates, audit files).`,
		Example: `$ strongbox server -config=/etc/strongbox/config.hcl
$ strongbox server -config=/etc/strongbox/ -log-level=debug
$ strongbox server -dev -dev-root-token-id=root -dev-listen-address=127.0.0.1:8200`,
		RunE: func(cmd *cobra.Command, args []string) error { return c.run(cmd, args) },
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&c.configs, "config", nil, "Path to a configuration file or a directory of configuration files. Repeatable; later files override earlier ones.")
	fs.BoolVar(&c.dev, "dev", false, "Start an in-memory, initialized and unsealed development server. Never use in production.")
	fs.StringVar(&c.devRootTokenID, "dev-root-token-id", "", "With -dev, the root token ID to create. Overrides "+envDevRootTokenID+".")
	fs.StringVar(&c.devListenAddress, "dev-listen-address", "127.0.0.1:8200", "With -dev, the address to listen on. Overrides "+envDevListenAddress+".")
	fs.StringVar(&c.logLevel, "log-level", "", "Log verbosity: trace, debug, info, warn or error. Overrides the configuration's log_level and "+envLogLevel+" (default info).")
	return cmd
}

func (c *serverCmd) run(cmd *cobra.Command, args []string) error {
	if err := argCount(args, 0, 0); err != nil {
		return err
	}
	fs := cmd.Flags()
	env := c.a.env
	if !fs.Changed("dev-root-token-id") {
		if v := env.get(envDevRootTokenID); v != "" {
			c.devRootTokenID = v
		}
	}
	if !fs.Changed("dev-listen-address") {
		if v := env.get(envDevListenAddress); v != "" {
			c.devListenAddress = v
		}
	}
	if !fs.Changed("log-level") {
		c.logLevel = env.get(envLogLevel)
	}
	c.logLevel = strings.ToLower(strings.TrimSpace(c.logLevel))
	switch c.logLevel {
	case "", "trace", "debug", "info", "warn", "warning", "err", "error":
	default:
		return usageErrorf("Unknown log level: %s", c.logLevel)
	}
	if !c.dev && len(c.configs) == 0 {
		return usageErrorf("Must specify at least one config path using -config")
	}

	opts := server.Options{
		ConfigPaths:      c.configs,
		Dev:              c.dev,
		DevRootTokenID:   c.devRootTokenID,
		DevListenAddress: c.devListenAddress,
		LogLevel:         c.logLevel,
		Out:              c.a.stdout,
		Logs:             c.a.stderr,
	}

	ctx, stop := signal.NotifyContext(c.a.ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				// Coalesce: one pending reload covers any number of SIGHUPs.
				select {
				case reload <- struct{}{}:
				default:
				}
			}
		}
	}()

	if err := c.a.sys.runServer(ctx, opts, reload); err != nil {
		return &exitError{code: exitLocal, msg: "Error running server: " + err.Error(), err: err}
	}
	return nil
}
