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
			body := m.enableBody(cmd.Flags(), sendType, opts)
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			if _, err := client.Logical().WriteWithContext(a.ctx, mountAPIPath(false, mountPath), body); err != nil {
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
	return newMountDisableCommand(a, false, &cobra.Command{
		Use:   "disable [options] PATH",
		Short: "Disable a secrets engine",
		Long: `Disables the secrets engine at PATH. All its secrets are revoked and its data
is deleted.`,
		Example: "$ strongbox secrets disable secret/",
	})
}

func newSecretsListCommand(a *app) *cobra.Command {
	return newMountListCommand(a, false, &cobra.Command{
		Use:   "list [options]",
		Short: "List enabled secrets engines",
		Long:  `Lists the enabled secrets engines: path, type, accessor and description; -detailed adds TTLs, options and more.`,
		Example: `$ strongbox secrets list
$ strongbox secrets list -detailed
$ strongbox secrets list -format=json`,
	})
}

func newSecretsTuneCommand(a *app) *cobra.Command {
	return newMountTuneCommand(a, false, &cobra.Command{
		Use:   "tune [options] PATH",
		Short: "Tune a secrets engine's configuration",
		Long:  `Changes the configuration of the secrets engine at PATH. Only the options given change.`,
		Example: `$ strongbox secrets tune -max-lease-ttl=1h secret/
$ strongbox secrets tune -version=2 secret/
$ strongbox secrets tune -description="team secrets" team/`,
	})
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
