package command

import (
	"github.com/spf13/cobra"
)

func newKVDeleteCommand(a *app) *cobra.Command {
	var mount string
	var versions []string
	cmd := &cobra.Command{
		Use:   "delete [options] KEY",
		Short: "Delete versions of a secret",
		Long: `Deletes the secret at KEY. With KV v2 this is a soft delete of the latest
version (or of the -versions given): "kv undelete" restores it; "kv destroy"
removes the data for good. With KV v1 the data is gone.`,
		Example: `$ strongbox kv delete secret/creds
$ strongbox kv delete -versions=3,4 secret/creds
$ strongbox kv delete -mount=secret creds`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			vs, err := kvVersions(versions)
			if err != nil {
				return usageErrorf("%s", err)
			}
			client, t, err := a.kvClient(mount, args[0])
			if err != nil {
				return err
			}
			if t.v2 && len(vs) > 0 {
				fullPath := t.apiPath("delete")
				secret, err := client.Logical().WriteWithContext(a.ctx, fullPath, map[string]any{"versions": vs})
				return a.reportDelete(fullPath, secret, err)
			}
			fullPath := t.apiPath("data")
			secret, err := client.Logical().DeleteWithContext(a.ctx, fullPath)
			return a.reportDelete(fullPath, secret, err)
		},
	}
	cmd.Flags().StringVar(&mount, "mount", "", mountUsage)
	cmd.Flags().StringArrayVar(&versions, "versions", nil, "Versions to delete (KV v2), comma-separated or repeated. The default is the latest version.")
	return cmd
}

func newKVUndeleteCommand(a *app) *cobra.Command {
	return newKVVersionsCommand(a, "undelete", "Undelete versions of a secret",
		`Restores soft-deleted versions of the secret at KEY (KV v2 only).`,
		`$ strongbox kv undelete -versions=3 secret/creds
$ strongbox kv undelete -mount=secret -versions=3,4 creds`)
}

func newKVDestroyCommand(a *app) *cobra.Command {
	return newKVVersionsCommand(a, "destroy", "Permanently remove versions of a secret",
		`Destroys versions of the secret at KEY (KV v2 only): their data is removed
for good, the metadata remains and marks them destroyed.`,
		`$ strongbox kv destroy -versions=3 secret/creds
$ strongbox kv destroy -mount=secret -versions=1,2 creds`)
}

// newKVVersionsCommand builds undelete and destroy, which share their shape:
// POST <mount>/<op>/<path> {"versions": […]}.
func newKVVersionsCommand(a *app, op, short, long, example string) *cobra.Command {
	var mount string
	var versions []string
	opTitle := map[string]string{"undelete": "Undelete", "destroy": "Destroy"}[op]
	cmd := &cobra.Command{
		Use:     op + " [options] KEY",
		Short:   short,
		Long:    long,
		Example: example,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			vs, err := kvVersions(versions)
			if err != nil {
				return usageErrorf("%s", err)
			}
			if len(vs) == 0 {
				return usageErrorf("No versions provided, use the \"-versions\" flag to specify the version to %s.", op)
			}
			client, t, err := a.kvClient(mount, args[0])
			if err != nil {
				return err
			}
			if !t.v2 {
				return usageErrorf("%s not supported on KV Version 1", opTitle)
			}
			fullPath := t.apiPath(op)
			secret, err := client.Logical().WriteWithContext(a.ctx, fullPath, map[string]any{"versions": vs})
			return a.reportWrite(fullPath, secret, err)
		},
	}
	cmd.Flags().StringVar(&mount, "mount", "", mountUsage)
	cmd.Flags().StringArrayVar(&versions, "versions", nil, "Versions to "+op+", comma-separated or repeated. Required.")
	return cmd
}
