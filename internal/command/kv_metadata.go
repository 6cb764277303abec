package command

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"

	"github.com/strongbox/strongbox/internal/command/format"
)

func newKVMetadataCommand(a *app) *cobra.Command {
	return newGroup("metadata", "Interact with KV v2 metadata",
		`Reads and changes the metadata of KV v2 secrets: version history, the number
of versions kept, check-and-set requirements, custom metadata.`,
		newKVMetadataGetCommand(a),
		newKVMetadataPutCommand(a),
		newKVMetadataDeleteCommand(a),
	)
}

// kvMetadataPath is the API client of a kv metadata command and the
// metadata path of its key (KV v2 only).
func (a *app) kvMetadataPath(mountFlag, arg string) (*api.Client, string, error) {
	client, t, err := a.kvClient(mountFlag, arg)
	if err != nil {
		return nil, "", err
	}
	if !t.v2 {
		return nil, "", usageErrorf("Metadata not supported on KV Version 1")
	}
	return client, t.apiPath("metadata"), nil
}

func newKVMetadataGetCommand(a *app) *cobra.Command {
	var mount string
	cmd := &cobra.Command{
		Use:   "get [options] KEY",
		Short: "Retrieve a secret's metadata and versions",
		Long:  `Prints the metadata of the secret at KEY and of each of its versions (KV v2 only).`,
		Example: `$ strongbox kv metadata get secret/creds
$ strongbox kv metadata get -mount=secret creds`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			client, fullPath, err := a.kvMetadataPath(mount, args[0])
			if err != nil {
				return err
			}
			secret, err := client.Logical().ReadWithContext(a.ctx, fullPath)
			if err != nil {
				return apiError(err, "Error reading %s", fullPath)
			}
			if secret == nil {
				return apiErrorf("No value found at %s", fullPath)
			}
			if a.g.field != "" {
				return a.outputField(secret, a.g.field)
			}
			if secret.WrapInfo != nil || !a.isTable() {
				return a.outputSecret(secret)
			}
			versions, ok := secret.Data["versions"].(map[string]any)
			if !ok {
				if err := a.outputSecret(secret); err != nil {
					return err
				}
				return apiErrorf("No value found at %s", fullPath)
			}
			delete(secret.Data, "versions")
			a.outputPath(fullPath, "Metadata Path")
			a.info("%s", format.HeaderForMap("Metadata", secret.Data))
			if err := a.outputSecret(secret); err != nil {
				return err
			}
			nums := make([]int, 0, len(versions))
			for k := range versions {
				n, err := strconv.Atoi(k)
				if err != nil {
					return apiErrorf("Version %q is not a number", k)
				}
				nums = append(nums, n)
			}
			sort.Ints(nums)
			for _, n := range nums {
				v, _ := versions[strconv.Itoa(n)].(map[string]any)
				a.info("\n%s", format.HeaderForMap(fmt.Sprintf("Version %d", n), v))
				if err := a.outputData(v); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&mount, "mount", "", mountUsage)
	return cmd
}

func newKVMetadataPutCommand(a *app) *cobra.Command {
	var mount string
	var maxVersions int
	var casRequired bool
	var deleteAfter durationFlag
	custom := &mapFlag{}
	cmd := &cobra.Command{
		Use:   "put [options] KEY",
		Short: "Set or update a secret's metadata",
		Long: `Changes the metadata of the secret at KEY (KV v2 only); creates it if the
secret doesn't exist yet. Only the flags given are changed.`,
		Example: `$ strongbox kv metadata put -max-versions=5 secret/creds
$ strongbox kv metadata put -cas-required secret/creds
$ strongbox kv metadata put -delete-version-after=3h25m19s secret/creds
$ strongbox kv metadata put -custom-metadata=owner=ops -custom-metadata=tier=1 secret/creds`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			client, fullPath, err := a.kvMetadataPath(mount, args[0])
			if err != nil {
				return err
			}
			body := map[string]any{}
			fs := cmd.Flags()
			if fs.Changed("max-versions") {
				body["max_versions"] = maxVersions
			}
			if fs.Changed("cas-required") {
				body["cas_required"] = casRequired
			}
			if fs.Changed("delete-version-after") {
				body["delete_version_after"] = deleteAfter.raw
			}
			if len(custom.m) > 0 {
				body["custom_metadata"] = custom.m
			}
			secret, err := client.Logical().WriteWithContext(a.ctx, fullPath, body)
			return a.reportWrite(fullPath, secret, err)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&mount, "mount", "", mountUsage)
	fs.IntVar(&maxVersions, "max-versions", -1, "The number of versions to keep; 0 uses the engine's setting.")
	fs.BoolVar(&casRequired, "cas-required", false, "Require check-and-set (-cas) on every write of this secret.")
	fs.Var(&deleteAfter, "delete-version-after", "Delete versions this long after they are written (e.g. \"3h25m19s\"); 0 keeps them.")
	fs.Var(custom, "custom-metadata", "Custom metadata as key=value. Repeatable.")
	return cmd
}

func newKVMetadataDeleteCommand(a *app) *cobra.Command {
	var mount string
	cmd := &cobra.Command{
		Use:   "delete [options] KEY",
		Short: "Delete a secret's metadata and all its versions",
		Long:  `Deletes the secret at KEY entirely: its metadata and every version (KV v2 only).`,
		Example: `$ strongbox kv metadata delete secret/creds
$ strongbox kv metadata delete -mount=secret creds`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			client, fullPath, err := a.kvMetadataPath(mount, args[0])
			if err != nil {
				return err
			}
			secret, err := client.Logical().DeleteWithContext(a.ctx, fullPath)
			return a.reportDelete(fullPath, secret, err)
		},
	}
	cmd.Flags().StringVar(&mount, "mount", "", mountUsage)
	return cmd
}
