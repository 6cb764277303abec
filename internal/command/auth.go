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
			body := map[string]any{
				"type":        authType,
				"description": m.description,
				"config":      m.config(cmd.Flags()),
			}
			fs := cmd.Flags()
			if fs.Changed("local") {
				body["local"] = m.local
			}
			if fs.Changed("seal-wrap") {
				body["seal_wrap"] = m.sealWrap
			}
			if fs.Changed("external-entropy-access") {
				body["external_entropy_access"] = m.externalEntropyAccess
			}
			if fs.Changed("plugin-version") {
				body["plugin_version"] = m.pluginVersion
			}
			if opts := m.optionsMap(); opts != nil {
				body["options"] = opts
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			if _, err := client.Logical().WriteWithContext(a.ctx, "sys/auth/"+strings.TrimSuffix(p, "/"), body); err != nil {
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
	return &cobra.Command{
		Use:     "disable [options] PATH",
		Short:   "Disable an auth method",
		Long:    `Disables the auth method at PATH. Tokens it issued are revoked.`,
		Example: "$ strongbox auth disable userpass/",
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			p := ensureTrailingSlash(sanitizePath(args[0]))
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			if err := client.Sys().DisableAuthWithContext(a.ctx, p); err != nil {
				return apiError(err, "Error disabling auth method at %s", p)
			}
			a.info("Success! Disabled the auth method (if it existed) at: %s", p)
			return nil
		},
	}
}

func newAuthListCommand(a *app) *cobra.Command {
	var detailed bool
	cmd := &cobra.Command{
		Use:   "list [options]",
		Short: "List enabled auth methods",
		Long:  `Lists the enabled auth methods: path, type, accessor, description; -detailed adds TTLs, options and more.`,
		Example: `$ strongbox auth list
$ strongbox auth list -detailed
$ strongbox auth list -format=json`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 0, 0); err != nil {
				return err
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			auths, err := client.Sys().ListAuthWithContext(a.ctx)
			if err != nil {
				return apiError(err, "Error listing enabled authentications")
			}
			return a.printMounts(auths, detailed, true)
		},
	}
	cmd.Flags().BoolVar(&detailed, "detailed", false, "Print more information about each auth method.")
	return cmd
}

func newAuthTuneCommand(a *app) *cobra.Command {
	m := &mountFlags{}
	cmd := &cobra.Command{
		Use:   "tune [options] PATH",
		Short: "Tune an auth method's configuration",
		Long:  `Changes the configuration of the auth method at PATH. Only the options given change.`,
		Example: `$ strongbox auth tune -default-lease-ttl=1h userpass/
$ strongbox auth tune -listing-visibility=unauth userpass/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			p := ensureTrailingSlash(sanitizePath(args[0]))
			body := m.config(cmd.Flags())
			if cmd.Flags().Changed("description") {
				body["description"] = m.description
			}
			if cmd.Flags().Changed("plugin-version") {
				body["plugin_version"] = m.pluginVersion
			}
			if opts := m.optionsMap(); opts != nil {
				body["options"] = opts
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			if _, err := client.Logical().WriteWithContext(a.ctx, "sys/auth/"+strings.TrimSuffix(p, "/")+"/tune", body); err != nil {
				return apiError(err, "Error tuning auth method %s", p)
			}
			a.info("Success! Tuned the auth method at: %s", p)
			return nil
		},
	}
	m.register(cmd.Flags(), false, true)
	return cmd
}
