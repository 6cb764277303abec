package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"

	"github.com/strongbox/strongbox/internal/command/format"
	"github.com/strongbox/strongbox/internal/server"
)

// version is the CLI's version: the same binary is the server, so it is
// the server's.
const version = server.Version

// groupMarker annotates commands that only hold subcommands.
const groupMarker = "strongbox_group_command"

// Execute runs the strongbox CLI with args (without the program name) and
// returns the process exit code: 0 success, 1 local or usage error, 2 an
// error from the server, 127 an unknown command. It is the single entry
// point of cmd/strongbox and runs in-process in tests.
func Execute(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return execute(context.Background(), args, stdin, stdout, stderr, osEnviron(), osSystem())
}

func execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env environ, sys system) (code int) {
	// A bug must still end with a message and an exit code, not a stack
	// trace in the user's terminal.
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "Error: unexpected internal failure: %v\n", r)
			code = exitLocal
		}
	}()
	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, env: env, sys: sys}
	root := newRootCommand(a)
	root.SetArgs(normaliseArgs(root, args))
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	return a.finish(err)
}

// finish maps a command's outcome to an exit code, printing its message;
// with -output-curl-string it prints the request the command would have
// sent instead.
func (a *app) finish(err error) int {
	if a.g.outputCurlString {
		var cs *api.OutputStringError
		if errors.As(err, &cs) {
			s, cerr := cs.CurlString()
			if cerr != nil {
				fmt.Fprintf(a.stderr, "Error creating request string: %s\n", cerr)
				return exitLocal
			}
			// The api client names the vault binary; point at ours.
			fmt.Fprintln(a.stdout, strings.ReplaceAll(s, "$(vault print token)", "$(strongbox print token)"))
			return exitOK
		}
		if err == nil {
			fmt.Fprintln(a.stderr, "Could not generate cURL command")
			return exitLocal
		}
		code := a.report(err)
		fmt.Fprintln(a.stderr, "Unable to generate cURL string from command")
		return code
	}
	if err == nil {
		return exitOK
	}
	return a.report(err)
}

func (a *app) report(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(a.stderr, ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(a.stderr, err.Error())
	return exitLocal
}

func newRootCommand(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "strongbox <command> [args]",
		Short: "A secrets manager that speaks Vault's API",
		Long: `Strongbox is a secrets manager compatible with HashiCorp Vault's HTTP API and
CLI: commands, flags, environment variables and output follow Vault's, so
"vault" in a runbook can be replaced by "strongbox".

Flags are written with one dash, like Vault's ("-format=json", "-key-shares 5");
two dashes work too.`,
		Example: `$ strongbox server -config=/etc/strongbox/config.hcl
$ export VAULT_ADDR=http://127.0.0.1:8200
$ strongbox operator init -key-shares=5 -key-threshold=3
$ strongbox operator unseal
$ strongbox login
$ strongbox secrets enable -path=secret kv-v2
$ strongbox kv put secret/creds admin=password
$ strongbox kv get -format=json secret/creds`,
		Version:           version,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.g.resolve(cmd.Flags(), a.env); err != nil {
				return err
			}
			if !format.Valid(a.g.format) {
				return usageErrorf("Invalid output format: %s", a.g.format)
			}
			return nil
		},
		Annotations: map[string]string{groupMarker: "true"},
	}
	root.SetVersionTemplate("Strongbox v{{.Version}}\n")
	a.g.register(root.PersistentFlags())
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return flagError(err) })
	root.SetHelpFunc(func(c *cobra.Command, _ []string) { printHelp(c.OutOrStdout(), c) })
	root.RunE = groupRun
	// Unknown top-level commands reach groupRun, which exits 127 as Vault's
	// CLI does (cobra's own check would exit 1).
	root.Args = cobra.ArbitraryArgs

	root.AddCommand(
		newServerCommand(a),
		newAgentCommand(a),
		newProxyCommand(a),
		newStatusCommand(a),
		newVersionCommand(a),
		newLoginCommand(a),
		newOperatorCommand(a),
		newKVCommand(a),
		newReadCommand(a),
		newWriteCommand(a),
		newListCommand(a),
		newDeleteCommand(a),
		newPatchCommand(a),
		newSecretsCommand(a),
		newAuthCommand(a),
		newPolicyCommand(a),
		newTokenCommand(a),
		newLeaseCommand(a),
		newUnwrapCommand(a),
		newAuditCommand(a),
		newPrintCommand(a),
	)
	finishTree(root)
	return root
}

// finishTree applies settings every command shares.
func finishTree(cmd *cobra.Command) {
	cmd.DisableFlagsInUseLine = true
	commandFlags(cmd.LocalNonPersistentFlags())
	for _, c := range cmd.Commands() {
		finishTree(c)
	}
}

// newGroup is a command that only holds subcommands; run alone it shows
// its help.
func newGroup(use, short, long string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:         use + " <subcommand> [options] [args]",
		Short:       short,
		Long:        long,
		RunE:        groupRun,
		Annotations: map[string]string{groupMarker: "true"},
	}
	c.AddCommand(subs...)
	return c
}

func groupRun(c *cobra.Command, args []string) error {
	if len(args) > 0 && !c.HasParent() {
		return &exitError{code: exitUnknownCommand, msg: fmt.Sprintf("Unknown command %q. Run %q for the list of commands.", args[0], "strongbox -help")}
	}
	if len(args) > 0 {
		return usageErrorf("Unknown command %q for %q. Run %q for usage.", args[0], c.CommandPath(), c.CommandPath()+" -help")
	}
	printHelp(c.OutOrStdout(), c)
	return nil
}
