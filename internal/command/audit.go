package command

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"

	"github.com/strongbox/strongbox/internal/command/format"
)

func newAuditCommand(a *app) *cobra.Command {
	return newGroup("audit", "Interact with audit devices",
		`Enables, disables and lists audit devices. Every request and response is
logged to each enabled device, with secrets HMAC'ed.`,
		newAuditEnableCommand(a),
		newAuditDisableCommand(a),
		newAuditListCommand(a),
		newAuditVerifyCommand(a),
	)
}

func newAuditEnableCommand(a *app) *cobra.Command {
	var path, description string
	var local bool
	cmd := &cobra.Command{
		Use:   "enable [options] TYPE [CONFIG K=V...]",
		Short: "Enable an audit device",
		Long: `Enables an audit device of TYPE (file, syslog, socket) at -path (by default,
at the type's name). CONFIG is the device's options as K=V pairs.`,
		Example: `$ strongbox audit enable file file_path=/var/log/strongbox-audit.log
$ strongbox audit enable -path=stdout file file_path=stdout
$ strongbox audit enable syslog tag="strongbox" facility="AUTH"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := argCount(args, 1, -1); err != nil {
				return err
			}
			auditType := strings.TrimSpace(args[0])
			options, err := parseArgsDataString(a, args[1:])
			if err != nil {
				return localError(err, "Error parsing configuration")
			}
			p := path
			if p == "" {
				p = auditType
			}
			p = ensureTrailingSlash(sanitizePath(p))
			body := map[string]any{
				"type":        auditType,
				"description": description,
				"options":     options,
			}
			if cmd.Flags().Changed("local") {
				body["local"] = local
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			if _, err := client.Logical().WriteWithContext(a.ctx, "sys/audit/"+strings.TrimSuffix(p, "/"), body); err != nil {
				return apiError(err, "Error enabling audit device")
			}
			a.info("Success! Enabled the %s audit device at: %s", auditType, p)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&path, "path", "", "Place where the audit device is enabled. The default is its type.")
	fs.StringVar(&description, "description", "", "Human-friendly description of the audit device.")
	fs.BoolVar(&local, "local", false, "Mark the device local-only: not replicated.")
	return cmd
}

func newAuditDisableCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "disable [options] PATH",
		Short:   "Disable an audit device",
		Long:    `Disables the audit device at PATH. Its log file is left in place.`,
		Example: "$ strongbox audit disable file/",
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			p := ensureTrailingSlash(sanitizePath(args[0]))
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			if err := client.Sys().DisableAuditWithContext(a.ctx, p); err != nil {
				return apiError(err, "Error disabling audit device")
			}
			a.info("Success! Disabled audit device (if it was enabled) at: %s", p)
			return nil
		},
	}
}

func newAuditListCommand(a *app) *cobra.Command {
	var detailed bool
	cmd := &cobra.Command{
		Use:   "list [options]",
		Short: "List enabled audit devices",
		Long: `Lists the enabled audit devices; -detailed adds their options. Exits with 2
when none is enabled.`,
		Example: `$ strongbox audit list
$ strongbox audit list -detailed`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 0, 0); err != nil {
				return err
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			audits, err := client.Sys().ListAuditWithContext(a.ctx)
			if err != nil {
				return apiError(err, "Error listing audits")
			}
			if !a.isTable() {
				return a.outputData(audits)
			}
			if len(audits) == 0 {
				a.info("No audit devices are enabled.")
				return exitWith(exitAPI)
			}
			a.info("%s", format.Table(auditRows(audits, detailed)))
			return nil
		},
	}
	cmd.Flags().BoolVar(&detailed, "detailed", false, "Print more information about each audit device.")
	return cmd
}

func auditRows(audits map[string]*api.Audit, detailed bool) [][]string {
	paths := make([]string, 0, len(audits))
	for p := range audits {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	rows := [][]string{{"Path", "Type", "Description"}}
	if detailed {
		rows[0] = append(rows[0], "Replication", "Options")
	}
	for _, p := range paths {
		d := audits[p]
		row := []string{p, d.Type, d.Description}
		if detailed {
			replication := "replicated"
			if d.Local {
				replication = "local"
			}
			opts := make([]string, 0, len(d.Options))
			for k, v := range d.Options {
				opts = append(opts, fmt.Sprintf("%s=%s", k, v))
			}
			sort.Strings(opts)
			row = append(row, replication, strings.Join(opts, " "))
		}
		rows = append(rows, row)
	}
	return rows
}
