package command

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"

	"github.com/strongbox/strongbox/internal/command/format"
)

func newKVCommand(a *app) *cobra.Command {
	return newGroup("kv", "Interact with the KV secrets engine",
		`Reads and writes secrets in KV secrets engines, version 1 or 2. The command
finds the engine's version itself, so "secret/foo" works for both; with KV v2
it adds "data/" (or "metadata/", …) after the mount.

A path can be given as "mount/secret" or, with -mount, as a path inside the
mount: "strongbox kv get -mount=secret creds".`,
		newKVGetCommand(a),
		newKVPutCommand(a),
		newKVPatchCommand(a),
		newKVDeleteCommand(a),
		newKVUndeleteCommand(a),
		newKVDestroyCommand(a),
		newKVListCommand(a),
		newKVRollbackCommand(a),
		newKVMetadataCommand(a),
	)
}

const mountUsage = "The path where the KV engine is mounted. With it, the argument is the secret's path inside the mount; without it, the argument starts with the mount."

func newKVGetCommand(a *app) *cobra.Command {
	var mount string
	var version int
	cmd := &cobra.Command{
		Use:   "get [options] KEY",
		Short: "Retrieve data",
		Long: `Prints the secret at KEY. With KV v2, the latest version unless -version
names another; the table shows the version's metadata and its data.`,
		Example: `$ strongbox kv get secret/creds
$ strongbox kv get -mount=secret creds
$ strongbox kv get -version=1 secret/creds
$ strongbox kv get -field=admin secret/creds
$ strongbox kv get -format=json secret/creds`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			client, t, err := a.kvClient(mount, args[0])
			if err != nil {
				return err
			}
			fullPath := t.apiPath("data")
			var params map[string]string
			if t.v2 && version > 0 {
				params = map[string]string{"version": strconv.Itoa(version)}
			}
			secret, err := a.kvRead(client, fullPath, params)
			if err != nil {
				return apiError(err, "Error reading %s", fullPath)
			}
			if secret == nil {
				return apiErrorf("No value found at %s", fullPath)
			}
			if a.g.field != "" {
				return a.kvGetField(t, fullPath, secret)
			}
			if secret.WrapInfo != nil || !a.isTable() {
				return a.outputSecret(secret)
			}
			a.printer().Warnings(secret)
			if t.v2 {
				a.outputPath(fullPath, "Secret Path")
			}
			if md, ok := secret.Data["metadata"].(map[string]any); ok && md != nil {
				a.info("%s", format.HeaderForMap("Metadata", md))
				if err := a.outputData(md); err != nil {
					return err
				}
				a.info("")
			}
			data := secret.Data
			if t.v2 {
				data, _ = secret.Data["data"].(map[string]any)
			}
			if data != nil {
				a.info("%s", format.HeaderForMap("Data", data))
				return a.outputData(data)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&mount, "mount", "", mountUsage)
	cmd.Flags().IntVar(&version, "version", 0, "The version to read (KV v2). The default is the latest.")
	return cmd
}

// kvGetField prints -field of a kv get: a key of the secret's data (v2:
// the inner data; "data" itself means the data block unless the secret has
// a key named data).
func (a *app) kvGetField(t kvTarget, fullPath string, secret *api.Secret) error {
	// A wrapped response has only wrapping fields (wrapping_token, …).
	if !t.v2 || secret.WrapInfo != nil {
		return a.outputField(secret, a.g.field)
	}
	data, ok := secret.Data["data"].(map[string]any)
	if !ok || data == nil {
		return apiErrorf("No data found at %s", fullPath)
	}
	if a.g.field == "data" {
		if _, ok := data["data"]; ok {
			return a.outputField(data, "data")
		}
		return a.outputField(secret, "data")
	}
	return a.outputField(data, a.g.field)
}

func newKVPutCommand(a *app) *cobra.Command {
	var mount string
	var cas int
	cmd := &cobra.Command{
		Use:   "put [options] KEY [DATA]",
		Short: "Set or update data",
		Long: `Writes DATA to KEY, replacing what was there (with KV v2, as a new version).
DATA is key=value pairs; a value "@file" is read from the file, "-" from
stdin; "@file.json" or "-" alone merge a JSON object.`,
		Example: `$ strongbox kv put secret/creds admin=password
$ strongbox kv put -mount=secret creds admin=password
$ strongbox kv put secret/creds @data.json
$ echo "abcd1234" | strongbox kv put secret/creds passcode=-
$ strongbox kv put -cas=1 secret/creds admin=new-password`,
		RunE: func(_ *cobra.Command, args []string) error {
			switch {
			case len(args) < 1:
				return usageErrorf("Not enough arguments (expected >1, got %d)", len(args))
			case len(args) == 1:
				return usageErrorf("Must supply data")
			}
			data, err := parseArgsData(a, args[1:])
			if err != nil {
				return localError(err, "Failed to parse K=V data")
			}
			client, t, err := a.kvClient(mount, args[0])
			if err != nil {
				return err
			}
			body := data
			if t.v2 {
				body = map[string]any{"data": data, "options": casOptions(cas)}
			}
			return a.kvWrite(client, t, t.apiPath("data"), body)
		},
	}
	cmd.Flags().StringVar(&mount, "mount", "", mountUsage)
	cmd.Flags().IntVar(&cas, "cas", -1, "Check-and-set (KV v2): write only if the current version is this one; 0 writes only if the key doesn't exist. The default (-1) writes unconditionally.")
	return cmd
}

func newKVPatchCommand(a *app) *cobra.Command {
	var mount, method string
	var cas int
	var remove []string
	cmd := &cobra.Command{
		Use:   "patch [options] KEY [DATA]",
		Short: "Update data without replacing it",
		Long: `Merges DATA into the latest version of the secret at KEY (KV v2 only): keys
given are set, others kept. -method=patch (the default) sends an HTTP PATCH;
-method=rw reads the secret and writes the merged data back with
check-and-set. Without -method, a server refusing PATCH gets the rw way.`,
		Example: `$ strongbox kv patch secret/creds admin=new-password
$ strongbox kv patch -mount=secret creds ttl=1h
$ strongbox kv patch -method=rw secret/creds admin=new-password
$ strongbox kv patch -remove-data=old_key secret/creds`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) < 1:
				return usageErrorf("Not enough arguments (expected >1, got %d)", len(args))
			case len(args) == 1 && len(remove) == 0:
				return usageErrorf("Must supply data")
			}
			switch method {
			case "", "patch", "rw":
			default:
				return usageErrorf("Unsupported method provided to -method flag: %s", method)
			}
			data, err := parseArgsData(a, args[1:])
			if err != nil {
				return localError(err, "Failed to parse K=V data")
			}
			client, t, err := a.kvClient(mount, args[0])
			if err != nil {
				return err
			}
			if !t.v2 {
				return apiErrorf("K/V engine mount must be version 2 for patch support")
			}
			fullPath := t.apiPath("data")
			if method == "rw" {
				return a.kvReadThenWrite(client, t, fullPath, data, remove)
			}
			patch := map[string]any{}
			for k, v := range data {
				patch[k] = v
			}
			for _, k := range commaList(remove) {
				patch[k] = nil
			}
			secret, err := client.Logical().JSONMergePatch(a.ctx, fullPath, map[string]any{"data": patch, "options": casOptions(cas)})
			if err != nil {
				var re *api.ResponseError
				specified := cmd.Flags().Changed("method")
				if errors.As(err, &re) && !specified &&
					(re.StatusCode == http.StatusMethodNotAllowed || re.StatusCode == http.StatusForbidden) {
					return a.kvReadThenWrite(client, t, fullPath, data, remove)
				}
				return apiError(err, "Error writing data to %s", fullPath)
			}
			return a.outputKVWrite(t, fullPath, secret)
		},
	}
	cmd.Flags().StringVar(&mount, "mount", "", mountUsage)
	cmd.Flags().IntVar(&cas, "cas", -1, "Check-and-set: patch only if the current version is this one.")
	cmd.Flags().StringVar(&method, "method", "patch", "How to patch: \"patch\" (HTTP PATCH) or \"rw\" (read, then write back).")
	cmd.Flags().StringArrayVar(&remove, "remove-data", nil, "Keys to remove from the secret. Repeatable or comma-separated.")
	return cmd
}

// casOptions are the "options" of a v2 write: check-and-set on version cas,
// unless it is negative (the -cas flag's "unset").
func casOptions(cas int) map[string]any {
	opts := map[string]any{}
	if cas >= 0 {
		opts["cas"] = cas
	}
	return opts
}

// kvReadThenWrite patches by reading the latest version and writing the
// merged data back, check-and-set on the version read.
func (a *app) kvReadThenWrite(client *api.Client, t kvTarget, fullPath string, newData map[string]any, remove []string) error {
	secret, err := a.kvPreRead(client, fullPath, nil)
	if err != nil {
		return err
	}
	meta, data, err := kvVersionParts(secret, fullPath)
	if err != nil {
		return err
	}
	for k, v := range newData {
		data[k] = v
	}
	for _, k := range commaList(remove) {
		delete(data, k)
	}
	return a.kvWrite(client, t, fullPath, map[string]any{
		"data":    data,
		"options": map[string]any{"cas": meta["version"]},
	})
}

// kvVersionParts checks a v2 read has metadata and data and returns both.
func kvVersionParts(secret *api.Secret, fullPath string) (map[string]any, map[string]any, error) {
	if secret == nil || secret.Data == nil {
		return nil, nil, apiErrorf("No value found at %s", fullPath)
	}
	meta, ok := secret.Data["metadata"].(map[string]any)
	if !ok || meta == nil {
		return nil, nil, apiErrorf("No metadata found at %s; patch only works on existing data", fullPath)
	}
	data, ok := secret.Data["data"].(map[string]any)
	if !ok || data == nil {
		return nil, nil, apiErrorf("No data found at %s; patch only works on existing data", fullPath)
	}
	return meta, data, nil
}

// kvVersionMeta checks a v2 read found a version and returns its metadata.
func kvVersionMeta(secret *api.Secret, fullPath string) (map[string]any, error) {
	if secret == nil || secret.Data == nil {
		return nil, apiErrorf("No value found at %s", fullPath)
	}
	meta, _ := secret.Data["metadata"].(map[string]any)
	if meta == nil {
		return nil, apiErrorf("No metadata found at %s", fullPath)
	}
	return meta, nil
}

func newKVRollbackCommand(a *app) *cobra.Command {
	var mount string
	var version int
	cmd := &cobra.Command{
		Use:   "rollback [options] KEY",
		Short: "Roll back to a previous version of data",
		Long: `Writes the data of an earlier version of the secret at KEY as a new version
(KV v2 only). Deleted or destroyed versions can't be rolled back to.`,
		Example: `$ strongbox kv rollback -version=2 secret/creds
$ strongbox kv rollback -mount=secret -version=2 creds`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			if !cmd.Flags().Changed("version") || version <= 0 {
				return usageErrorf("Must specify a version to rollback to with -version")
			}
			client, t, err := a.kvClient(mount, args[0])
			if err != nil {
				return err
			}
			if !t.v2 {
				return usageErrorf("Rollback not supported on KV Version 1")
			}
			fullPath := t.apiPath("data")
			current, err := a.kvPreRead(client, fullPath, nil)
			if err != nil {
				return err
			}
			curMeta, err := kvVersionMeta(current, fullPath)
			if err != nil {
				return err
			}
			old, err := a.kvPreRead(client, fullPath, map[string]string{"version": strconv.Itoa(version)})
			if err != nil {
				return err
			}
			oldMeta, err := kvVersionMeta(old, fullPath)
			if err != nil {
				return err
			}
			if destroyed, _ := oldMeta["destroyed"].(bool); destroyed {
				return apiErrorf("Cannot roll back to a version that has been destroyed")
			}
			if dt := fmt.Sprint(oldMeta["deletion_time"]); oldMeta["deletion_time"] != nil && dt != "" {
				return apiErrorf("Cannot roll back to a version that has been deleted")
			}
			data, _ := old.Data["data"].(map[string]any)
			if data == nil {
				return apiErrorf("No data found at %s", fullPath)
			}
			return a.kvWrite(client, t, fullPath, map[string]any{
				"data":    data,
				"options": map[string]any{"cas": curMeta["version"]},
			})
		},
	}
	cmd.Flags().StringVar(&mount, "mount", "", mountUsage)
	cmd.Flags().IntVar(&version, "version", 0, "The version to roll back to.")
	return cmd
}

func newKVListCommand(a *app) *cobra.Command {
	var mount string
	cmd := &cobra.Command{
		Use:   "list [options] PATH",
		Short: "List data or secrets",
		Long: `Lists the keys under PATH. Folders end in "/". With KV v2 the listing comes
from the metadata, so deleted secrets still show until their metadata is.`,
		Example: `$ strongbox kv list secret/
$ strongbox kv list -mount=secret app/
$ strongbox kv list -format=json secret/`,
		RunE: func(_ *cobra.Command, args []string) error {
			lo := 1
			if mount != "" {
				lo = 0
			}
			if err := argCount(args, lo, 1); err != nil {
				return err
			}
			arg := ""
			if len(args) == 1 {
				arg = args[0]
			}
			client, t, err := a.kvClient(mount, arg)
			if err != nil {
				return err
			}
			fullPath := t.apiPath("metadata")
			return a.runList(client, fullPath, false)
		},
	}
	cmd.Flags().StringVar(&mount, "mount", "", mountUsage)
	return cmd
}

// runList lists p and prints the keys, the way `list` and `kv list` do.
func (a *app) runList(client *api.Client, p string, detailed bool) error {
	secret, err := client.Logical().ListWithContext(a.ctx, p)
	if err != nil {
		return apiError(err, "Error listing %s", p)
	}
	if secret != nil && secret.WrapInfo != nil && secret.WrapInfo.TTL != 0 {
		return a.outputSecret(secret)
	}
	var keys []any
	if secret != nil {
		keys, _ = secret.Data["keys"].([]any)
	}
	if !a.isTable() && (secret == nil || secret.Data == nil || keys == nil) {
		if err := a.outputData(map[string]any{}); err != nil {
			return err
		}
		return exitWith(exitAPI)
	}
	if secret == nil || secret.Data == nil {
		return apiErrorf("No value found at %s", p)
	}
	if keys == nil {
		return apiErrorf("No entries found at %s", p)
	}
	p2 := a.printer()
	p2.Detailed = detailed
	return outputError(p2.List(secret))
}
