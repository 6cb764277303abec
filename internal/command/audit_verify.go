package command

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strongbox/strongbox/internal/audit"
)

func newAuditVerifyCommand(a *app) *cobra.Command {
	var device string
	cmd := &cobra.Command{
		Use:   "verify [options] FILE",
		Short: "Check an audit log's tamper-evident chain",
		Long: `Reads FILE, the log of a file audit device, and checks the chain every entry
carries: each entry records the SHA-256 of the line before it and its number
on the device. Reports the first edited, removed, inserted or reordered entry
and exits with 2; exits with 0 when the chain holds.

With -device, the periodic checkpoints are checked too, through
sys/audit-hash on the server (they are HMACs under the device's salt, so a
chain rebuilt without the key is caught). Without it, only the links are
checked. Rotated files may be verified one by one or concatenated in order.`,
		Example: `$ strongbox audit verify /var/log/strongbox-audit.log
$ strongbox audit verify -device=file/ /var/log/strongbox-audit.log`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return localError(err, "Error opening audit log")
			}
			defer f.Close()
			var check audit.CheckpointFunc
			if device != "" {
				client, err := a.apiClient()
				if err != nil {
					return err
				}
				p := "sys/audit-hash/" + strings.Trim(sanitizePath(device), "/")
				check = func(link audit.ChainLink) error {
					s, err := client.Logical().WriteWithContext(a.ctx, p, map[string]any{
						"input": audit.CheckpointInput(link.Seq, link.Prev),
					})
					if err != nil {
						return fmt.Errorf("sys/audit-hash: %w", err)
					}
					if s == nil || s.Data["hash"] != link.Checkpoint {
						return errors.New("not signed by the device's key")
					}
					return nil
				}
			}
			rep, err := audit.VerifyChain(f, check)
			if errors.Is(err, audit.ErrChainBroken) {
				return apiErrorf("Audit log %s: line %d: %s", args[0], rep.Line, rep.Problem)
			}
			if err != nil {
				return localError(err, "Error reading audit log")
			}
			checked := "not checked (no -device)"
			if check != nil {
				checked = "checked against " + device
			}
			a.info("Success! %d entries chained; %d checkpoints %s; %d chain restarts.",
				rep.Entries, rep.Checkpoints, checked, len(rep.Restarts))
			return nil
		},
	}
	cmd.Flags().StringVar(&device, "device", "", "Path of the audit device that wrote FILE, to check checkpoints through sys/audit-hash.")
	return cmd
}
