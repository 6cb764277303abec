package command

import (
	"fmt"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"

	"github.com/strongbox/strongbox/internal/command/format"
)

func newOperatorCommand(a *app) *cobra.Command {
	return newGroup("operator", "Perform operator-specific tasks",
		`Groups subcommands for operators managing a Strongbox server: initialize it,
unseal and seal it, rotate its encryption key, step down from active duty.`,
		newOperatorInitCommand(a),
		newOperatorUnsealCommand(a),
		newOperatorSealCommand(a),
		newOperatorKeyStatusCommand(a),
		newOperatorRotateCommand(a),
		newOperatorRekeyCommand(a),
		newOperatorGenerateRootCommand(a),
		newOperatorStepDownCommand(a),
		newOperatorRaftCommand(a),
	)
}

func newOperatorUnsealCommand(a *app) *cobra.Command {
	var reset, migrate bool
	cmd := &cobra.Command{
		Use:   "unseal [options] [KEY]",
		Short: "Unseal the server",
		Long: `Provides one unseal key share. Once the threshold of shares has been given,
the server unseals; until then it reports its progress.

The key can be given as an argument (discouraged: it lands in your shell
history). Without one, the command asks for it on the terminal without echo,
or reads one line from stdin when stdin is a pipe ("-" reads stdin too).`,
		Example: `$ strongbox operator unseal
$ strongbox operator unseal 7FYo7rv+Hv1Yq9qOnXiZ3yb4vYd4VtGv8LYT3HCJxS6Q
$ echo "$KEY" | strongbox operator unseal
$ strongbox operator unseal -reset`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 0, 1); err != nil {
				return err
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			if reset {
				status, err := client.Sys().ResetUnsealProcessWithContext(a.ctx)
				if err != nil {
					return apiError(err, "Error resetting unseal process")
				}
				return a.outputSealStatus(client, status)
			}
			key := ""
			if len(args) == 1 && args[0] != "-" {
				key = args[0]
			} else {
				key, err = a.readSecret("Unseal Key (will be hidden): ", a.stdout)
				if err != nil {
					return localError(err, "An error occurred attempting to ask for an unseal key. "+
						"Run the command from a terminal, pass the key as an argument, or pipe it on stdin")
				}
			}
			status, err := client.Sys().UnsealWithOptionsWithContext(a.ctx, &api.UnsealOpts{Key: key, Migrate: migrate})
			if err != nil {
				return apiError(err, "Error unsealing")
			}
			return a.outputSealStatus(client, status)
		},
	}
	cmd.Flags().BoolVar(&reset, "reset", false, "Discard the unseal key shares given so far.")
	cmd.Flags().BoolVar(&migrate, "migrate", false, "Mark the share as part of a seal migration.")
	return cmd
}

func newOperatorSealCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "seal [options]",
		Short: "Seal the server",
		Long: `Seals the server: it forgets its root key and answers nothing but status
until unsealed again. Requires a token with sudo on sys/seal. In HA mode only
the active node is sealed; standbys take over.`,
		Example: "$ strongbox operator seal",
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 0, 0); err != nil {
				return err
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			if err := client.Sys().SealWithContext(a.ctx); err != nil {
				return apiError(err, "Error sealing")
			}
			a.info("Success! Strongbox is sealed.")
			return nil
		},
	}
}

func newOperatorKeyStatusCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "key-status [options]",
		Short:   "Print the encryption key status",
		Long:    "Prints the term and install time of the key that encrypts data in storage.",
		Example: "$ strongbox operator key-status",
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 0, 0); err != nil {
				return err
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			status, err := client.Sys().KeyStatusWithContext(a.ctx)
			if err != nil {
				return apiError(err, "Error reading key status")
			}
			if !a.isTable() {
				return a.outputData(status)
			}
			a.info("%s", keyStatusTable(status))
			return nil
		},
	}
}

func keyStatusTable(s *api.KeyStatus) string {
	return format.Columns([][]string{
		{"Key Term", fmt.Sprint(s.Term)},
		{"Install Time", s.InstallTime.UTC().Format(time.RFC822)},
		{"Encryption Count", fmt.Sprint(s.Encryptions)},
	})
}

func newOperatorRotateCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "rotate [options]",
		Short: "Rotate the underlying encryption key",
		Long: `Adds a new encryption key to the keyring; new writes use it, older data stays
readable with the previous keys. Requires sudo on sys/rotate.`,
		Example: "$ strongbox operator rotate",
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 0, 0); err != nil {
				return err
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			if err := client.Sys().RotateWithContext(a.ctx); err != nil {
				return apiError(err, "Error rotating key")
			}
			status, err := client.Sys().KeyStatusWithContext(a.ctx)
			if err != nil {
				return apiError(err, "Error reading key status")
			}
			if !a.isTable() {
				return a.outputData(status)
			}
			a.info("Success! Rotated key\n")
			a.info("%s", keyStatusTable(status))
			return nil
		},
	}
}

func newOperatorStepDownCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "step-down [options]",
		Short: "Force the active node to give up active duty",
		Long: `Makes the active node of an HA cluster step down, so a standby takes over.
The node stays unsealed. Requires sudo on sys/step-down.`,
		Example: "$ strongbox operator step-down",
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 0, 0); err != nil {
				return err
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			if err := client.Sys().StepDownWithContext(a.ctx); err != nil {
				return apiError(err, "Error stepping down")
			}
			a.info("Success! Stepped down: %s", client.Address())
			return nil
		},
	}
}
