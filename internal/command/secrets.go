package command

import (
	"strings"

	"github.com/spf13/cobra"
)

func newSecretsCommand(a *app) *cobra.Command {
	return newGroup("secrets", "Interact with secrets engines",
		`Enables, disables, lists, tunes and moves secrets engines. Each engine is
mounted at a path; requests under that path go to it.`,
		newSecretsEnableCommand(a),
		newSecretsDisableCommand(a),
		newSecretsListCommand(a),
		newSecretsTuneCommand(a),
		newSecretsMoveCommand(a),
	)
}

func newSecretsEnableCommand(a *app) *cobra.Command {
	m := &mountFlags{}
	cmd := &cobra.Command{
		Use:   "enable [options] TYPE",
		Short: "Enable a secrets engine",
		Long: `Enables a secrets engine of TYPE at -path (by default, at the type's name).
"kv-v2" is the KV engine version 2; "kv -version=2" is the same.`,
		Example: `$ strongbox secrets enable -path=secret kv
$ strongbox secrets enable -path=secret kv-v2
$ strongbox secrets enable -path=secret -version=2 kv
$ strongbox secrets enable -description="team secrets" -max-lease-ttl=30m -path=team kv
$ strongbox secrets enable transit`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			engineType := strings.TrimSpace(args[0])
			mountPath := m.path
			if mountPath == "" {
				mountPath = engineType
			}
			mountPath = ensureTrailingSlash(sanitizePath(mountPath))
			if mountPath == "" {
				return usageErrorf("A path is required")
			}
			sendType := engineType
			opts := m.optionsMap()
			// The server knows kv-v2 as kv with version 2; say so plainly.
			if engineType == "kv-v2" {
				sendType = "kv"
				if opts == nil {
					opts = map[string]string{}
				}
				opts["version"] = "2"
			}
			body := map[string]any{
				"type":        sendType,
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
			if opts != nil {
				body["options"] = opts
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			if _, err := client.Logical().WriteWithContext(a.ctx, "sys/mounts/"+strings.TrimSuffix(mountPath, "/"), body); err != nil {
				return apiError(err, "Error enabling")
			}
			a.info("Success! Enabled the %s secrets engine at: %s", engineType, mountPath)
			return nil
		},
	}
	m.register(cmd.Flags(), true, false)
	return cmd
}

func newSecretsDisableCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "disable [options] PATH",
		Short: "Disable a secrets engine",
		Long: `Disables the secrets engine at PATH. All its secrets are revoked and its data
is deleted.`,
		Example: "$ strongbox secrets disable secret/",
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			p := ensureTrailingSlash(sanitizePath(args[0]))
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			if err := client.Sys().UnmountWithContext(a.ctx, p); err != nil {
				return apiError(err, "Error disabling secrets engine at %s", p)
			}
			a.info("Success! Disabled the secrets engine (if it existed) at: %s", p)
			return nil
		},
	}
}

func newSecretsListCommand(a *app) *cobra.Command {
	var detailed bool
	cmd := &cobra.Command{
		Use:   "list [options]",
		Short: "List enabled secrets engines",
		Long:  `Lists the enabled secrets engines: path, type, accessor and description; -detailed adds TTLs, options and more.`,
		Example: `$ strongbox secrets list
$ strongbox secrets list -detailed
$ strongbox secrets list -format=json`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 0, 0); err != nil {
				return err
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			mounts, err := client.Sys().ListMountsWithContext(a.ctx)
			if err != nil {
				return apiError(err, "Error listing secrets engines")
			}
			return a.printMounts(mounts, detailed, false)
		},
	}
	cmd.Flags().BoolVar(&detailed, "detailed", false, "Print more information about each secrets engine.")
	return cmd
}

func newSecretsTuneCommand(a *app) *cobra.Command {
	m := &mountFlags{}
	cmd := &cobra.Command{
		Use:   "tune [options] PATH",
		Short: "Tune a secrets engine's configuration",
		Long:  `Changes the configuration of the secrets engine at PATH. Only the options given change.`,
		Example: `$ strongbox secrets tune -max-lease-ttl=1h secret/
$ strongbox secrets tune -version=2 secret/
$ strongbox secrets tune -description="team secrets" team/`,
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
			if _, err := client.Logical().WriteWithContext(a.ctx, "sys/mounts/"+strings.TrimSuffix(p, "/")+"/tune", body); err != nil {
				return apiError(err, "Error tuning secrets engine %s", p)
			}
			a.info("Success! Tuned the secrets engine at: %s", p)
			return nil
		},
	}
	m.register(cmd.Flags(), false, false)
	return cmd
}

func newSecretsMoveCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "move [options] SOURCE DESTINATION",
		Short: "Move a secrets engine to a new path",
		Long: `Moves the secrets engine at SOURCE to DESTINATION. Its data moves with it;
leases issued under the old path are revoked.`,
		Example: "$ strongbox secrets move secret/ generic/",
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 2, 2); err != nil {
				return err
			}
			from := ensureTrailingSlash(sanitizePath(args[0]))
			to := ensureTrailingSlash(sanitizePath(args[1]))
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			secret, err := client.Logical().WriteWithContext(a.ctx, "sys/remount", map[string]any{"from": from, "to": to})
			if err != nil {
				return apiError(err, "Error moving secrets engine %s to %s", from, to)
			}
			if secret != nil {
				if id, _ := secret.Data["migration_id"].(string); id != "" {
					a.info("Started moving secrets engine %s to %s, with migration ID %s", from, to, id)
					return nil
				}
			}
			a.info("Success! Moved secrets engine %s to: %s", from, to)
			return nil
		},
	}
}
