package command

import (
	"fmt"
	"os"
	"strings"

	hclprinter "github.com/hashicorp/hcl/hcl/printer"
	"github.com/spf13/cobra"
)

func newPolicyCommand(a *app) *cobra.Command {
	return newGroup("policy", "Interact with policies",
		`Reads, writes, lists and deletes ACL policies, and formats policy files.
Policies are HCL documents granting capabilities on paths; tokens carry a set
of policy names.`,
		newPolicyReadCommand(a),
		newPolicyWriteCommand(a),
		newPolicyListCommand(a),
		newPolicyDeleteCommand(a),
		newPolicyFmtCommand(a),
	)
}

func newPolicyReadCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "read [options] NAME",
		Short: "Print a policy",
		Long:  `Prints the rules of the policy NAME.`,
		Example: `$ strongbox policy read default
$ strongbox policy read -format=json my-policy`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			name := strings.ToLower(strings.TrimSpace(args[0]))
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			rules, err := client.Sys().GetPolicyWithContext(a.ctx, name)
			if err != nil {
				return apiError(err, "Error reading policy named %s", name)
			}
			if rules == "" {
				return apiErrorf("No policy named: %s", name)
			}
			if !a.isTable() {
				return a.outputData(map[string]any{"policy": rules})
			}
			a.info("%s", strings.TrimSpace(rules))
			return nil
		},
	}
}

func newPolicyWriteCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "write [options] NAME PATH",
		Short: "Upload a policy",
		Long: `Uploads the policy in the file PATH (or stdin when PATH is "-") under NAME,
replacing a policy of that name.`,
		Example: `$ strongbox policy write my-policy /tmp/policy.hcl
$ cat my-policy.hcl | strongbox policy write my-policy -`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 2, 2); err != nil {
				return err
			}
			name := strings.ToLower(strings.TrimSpace(args[0]))
			var rules []byte
			var err error
			if args[1] == "-" {
				rules, err = a.readAllStdin()
				if err != nil {
					return localError(err, "Error reading policy from stdin")
				}
			} else {
				rules, err = os.ReadFile(args[1])
				if err != nil {
					return localError(err, "Error opening policy file")
				}
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			if err := client.Sys().PutPolicyWithContext(a.ctx, name, string(rules)); err != nil {
				return apiError(err, "Error uploading policy")
			}
			a.info("Success! Uploaded policy: %s", name)
			return nil
		},
	}
}

func newPolicyListCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list [options]",
		Short: "List the installed policies",
		Long:  `Lists the names of the installed policies.`,
		Example: `$ strongbox policy list
$ strongbox policy list -format=json`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 0, 0); err != nil {
				return err
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			policies, err := client.Sys().ListPoliciesWithContext(a.ctx)
			if err != nil {
				return apiError(err, "Error listing policies")
			}
			if policies == nil {
				policies = []string{}
			}
			return a.outputData(policies)
		},
	}
}

func newPolicyDeleteCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "delete [options] NAME",
		Short:   "Delete a policy by name",
		Long:    `Deletes the policy NAME. Tokens that carry it lose its grants at once.`,
		Example: "$ strongbox policy delete my-policy",
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			name := strings.ToLower(strings.TrimSpace(args[0]))
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			if err := client.Sys().DeletePolicyWithContext(a.ctx, name); err != nil {
				return apiError(err, "Error deleting %s", name)
			}
			a.info("Success! Deleted policy: %s", name)
			return nil
		},
	}
}

func newPolicyFmtCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "fmt [options] PATH",
		Short: "Format a policy file",
		Long: `Rewrites the HCL policy file at PATH in the canonical format. The file must
parse; nothing is sent to the server.`,
		Example: "$ strongbox policy fmt my-policy.hcl",
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			p := strings.TrimSpace(args[0])
			src, err := os.ReadFile(p)
			if err != nil {
				return localError(err, "Error opening policy file")
			}
			out, err := formatPolicy(src)
			if err != nil {
				return localError(err, "Error parsing policy")
			}
			info, err := os.Stat(p)
			if err != nil {
				return localError(err, "Error writing formatted policy")
			}
			if err := os.WriteFile(p, out, info.Mode().Perm()); err != nil {
				return localError(err, "Error writing formatted policy")
			}
			a.info("Success! Formatted policy: %s", p)
			return nil
		},
	}
}

// formatPolicy returns src in canonical HCL layout, or the parse error.
func formatPolicy(src []byte) (out []byte, err error) {
	// The HCL v1 printer can panic on some malformed input; turn that into
	// an error rather than a stack trace.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("invalid HCL: %v", r)
		}
	}()
	out, err = hclprinter.Format(src)
	if err != nil {
		return nil, err
	}
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return out, nil
}
