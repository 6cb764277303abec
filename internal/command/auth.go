package command

import (
	"strings"

	"github.com/spf13/cobra"
)

func newAuthCommand(a *app) *cobra.Command {
	return newGroup("auth", "Interact with auth methods",
		`Enables, disables, lists and tunes auth methods. Use "strongbox login" to
authenticate with one.`,
		newAuthEnableCommand(a),
		newAuthDisableCommand(a),
		newAuthListCommand(a),
		newAuthTuneCommand(a),
		newAuthHelpCommand(a),
	)
}

func newAuthEnableCommand(a *app) *cobra.Command {
	m := &mountFlags{}
	cmd := &cobra.Command{
		Use:   "enable [options] TYPE",
		Short: "Enable an auth method",
		Long:  `Enables an auth method of TYPE at -path (by default, at the type's name), under auth/.`,
		Example: `$ strongbox auth enable userpass
$ strongbox auth enable -path=corp-users -description="corporate users" userpass
$ strongbox auth enable approle`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			authType := strings.TrimSpace(args[0])
			p := m.path
			if p == "" {
				p = authType
			}
			p = ensureTrailingSlash(sanitizePath(p))
			body := m.enableBody(cmd.Flags(), authType, m.optionsMap())
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			if _, err := client.Logical().WriteWithContext(a.ctx, mountAPIPath(true, p), body); err != nil {
				return apiError(err, "Error enabling %s auth", authType)
			}
			a.info("Success! Enabled %s auth method at: %s", authType, p)
			return nil
		},
	}
	m.register(cmd.Flags(), true, true)
	return cmd
}

func newAuthDisableCommand(a *app) *cobra.Command {
	return newMountDisableCommand(a, true, &cobra.Command{
		Use:     "disable [options] PATH",
		Short:   "Disable an auth method",
		Long:    `Disables the auth method at PATH. Tokens it issued are revoked.`,
		Example: "$ strongbox auth disable userpass/",
	})
}

func newAuthListCommand(a *app) *cobra.Command {
	return newMountListCommand(a, true, &cobra.Command{
		Use:   "list [options]",
		Short: "List enabled auth methods",
		Long:  `Lists the enabled auth methods: path, type, accessor, description; -detailed adds TTLs, options and more.`,
		Example: `$ strongbox auth list
$ strongbox auth list -detailed
$ strongbox auth list -format=json`,
	})
}

func newAuthTuneCommand(a *app) *cobra.Command {
	return newMountTuneCommand(a, true, &cobra.Command{
		Use:   "tune [options] PATH",
		Short: "Tune an auth method's configuration",
		Long:  `Changes the configuration of the auth method at PATH. Only the options given change.`,
		Example: `$ strongbox auth tune -default-lease-ttl=1h userpass/
$ strongbox auth tune -listing-visibility=unauth userpass/`,
	})
}
