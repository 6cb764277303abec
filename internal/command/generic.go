package command

import (
	"context"
	"fmt"
	"io"

	"github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"

	"github.com/strongbox/strongbox/internal/command/format"
)

func newReadCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "read [options] PATH [KEY=VALUE...]",
		Short: "Read data and retrieve secrets",
		Long: `Reads data at PATH: a secret, a configuration, a generated credential. Any
KEY=VALUE arguments are sent as query parameters. -format=raw prints the
response body exactly as received.`,
		Example: `$ strongbox read secret/foo
$ strongbox read -field=value secret/foo
$ strongbox read -format=json sys/mounts
$ strongbox read -format=raw sys/health`,
		RunE: func(_ *cobra.Command, args []string) error {
			p, params, err := pathQueryArgs(a, args)
			if err != nil {
				return err
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			if a.g.format == format.NameRaw {
				resp, err := client.Logical().ReadRawWithDataWithContext(a.ctx, p, params)
				if resp != nil {
					defer resp.Body.Close()
				}
				if err != nil {
					return apiError(err, "Error reading %s", p)
				}
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					return apiError(err, "Error reading %s", p)
				}
				return a.outputData(body)
			}
			secret, err := client.Logical().ReadWithDataWithContext(a.ctx, p, params)
			if err != nil {
				return apiError(err, "Error reading %s", p)
			}
			if secret == nil {
				return apiErrorf("No value found at %s", p)
			}
			return a.outputSecret(secret)
		},
	}
}

// pathQueryArgs parses the arguments of read and delete, "PATH
// [KEY=VALUE...]": the path, and the pairs as query parameters (a key given
// twice gets both values).
func pathQueryArgs(a *app, args []string) (string, map[string][]string, error) {
	if err := argCount(args, 1, -1); err != nil {
		return "", nil, err
	}
	data, err := parseArgsData(a, args[1:])
	if err != nil {
		return "", nil, localError(err, "Failed to parse K=V data")
	}
	params := make(map[string][]string, len(data))
	for k, v := range data {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				params[k] = append(params[k], fmt.Sprint(e))
			}
		default:
			params[k] = []string{fmt.Sprint(x)}
		}
	}
	return sanitizePath(args[0]), params, nil
}

func newWriteCommand(a *app) *cobra.Command {
	return newSendDataCommand(a, (*api.Logical).WriteWithContext, &cobra.Command{
		Use:   "write [options] PATH [DATA K=V...]",
		Short: "Write data, configuration, and secrets",
		Long: `Writes data to PATH. DATA is key=value pairs: a value "@file" is read from the
file, "-" from stdin; "@file.json" or a lone "-" merge a JSON object (a whole
request body). Writing with no data needs -force.`,
		Example: `$ strongbox write secret/foo value=bar
$ strongbox write auth/userpass/users/alice password=@pass.txt policies=admin
$ echo '{"policy": "path \"*\" { capabilities = [\"read\"] }"}' | strongbox write sys/policies/acl/reader -
$ strongbox write -force sys/rotate`,
	})
}

func newPatchCommand(a *app) *cobra.Command {
	return newSendDataCommand(a, (*api.Logical).JSONMergePatch, &cobra.Command{
		Use:   "patch [options] PATH [DATA K=V...]",
		Short: "Patch data, configuration, and secrets",
		Long: `Sends DATA to PATH as a JSON merge patch (HTTP PATCH): keys given are changed,
others kept, a null value removes a key. DATA is given as for "write".`,
		Example: `$ strongbox patch secret/data/foo @patch.json
$ strongbox patch auth/userpass/users/alice token_ttl=1h`,
	})
}

// newSendDataCommand completes cmd, its texts set, as "write" or "patch",
// which differ only in the request send makes with the data.
func newSendDataCommand(a *app, send func(*api.Logical, context.Context, string, map[string]any) (*api.Secret, error), cmd *cobra.Command) *cobra.Command {
	var force bool
	cmd.RunE = func(_ *cobra.Command, args []string) error {
		if err := argCount(args, 1, -1); err != nil {
			return err
		}
		data, err := parseArgsData(a, args[1:])
		if err != nil {
			return localError(err, "Failed to parse K=V data")
		}
		if len(data) == 0 && !force {
			return usageErrorf("Must supply data or use -force")
		}
		client, err := a.apiClient()
		if err != nil {
			return err
		}
		p := sanitizePath(args[0])
		secret, err := send(client.Logical(), a.ctx, p, data)
		return a.reportWrite(p, secret, err)
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Allow the "+cmd.Name()+" with no data.")
	return cmd
}

func newDeleteCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "delete [options] PATH [KEY=VALUE...]",
		Short: "Delete secrets and configuration",
		Long: `Deletes data at PATH; what that means depends on the engine. KEY=VALUE
arguments are sent as query parameters.`,
		Example: `$ strongbox delete secret/foo
$ strongbox delete auth/userpass/users/alice`,
		RunE: func(_ *cobra.Command, args []string) error {
			p, params, err := pathQueryArgs(a, args)
			if err != nil {
				return err
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			secret, err := client.Logical().DeleteWithDataWithContext(a.ctx, p, params)
			return a.reportDelete(p, secret, err)
		},
	}
}

func newListCommand(a *app) *cobra.Command {
	var detailed bool
	cmd := &cobra.Command{
		Use:   "list [options] PATH",
		Short: "List data or secrets",
		Long: `Lists the keys at PATH (an HTTP LIST). Folders end in "/". With -detailed,
extra information the server returns per key (key_info) is shown as columns.`,
		Example: `$ strongbox list secret/metadata/
$ strongbox list auth/token/accessors
$ strongbox list -format=json sys/policies/acl`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			return a.runList(client, sanitizePath(args[0]), detailed)
		},
	}
	cmd.Flags().BoolVar(&detailed, "detailed", false, "Show the extra information (key_info) returned with each key.")
	return cmd
}
