package command

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/strongbox/strongbox/internal/command/format"
)

// sanitizePath trims whitespace and surrounding slashes from a user path.
func sanitizePath(s string) string {
	return strings.Trim(strings.TrimSpace(s), "/")
}

// ensureTrailingSlash adds "/" to a non-empty path that lacks it.
func ensureTrailingSlash(s string) string {
	s = strings.TrimSpace(s)
	if s != "" && !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s
}

// kvTarget is where a kv command's secret lives: its mount and whether that
// mount is KV version 2 (which puts data under <mount>/data/…).
type kvTarget struct {
	mountPath string // as the server reports it, with a trailing slash
	v2        bool
	secret    string // mount and secret path: "secret/creds"
}

// apiPath is the request path for the secret: for v2 with the given
// sub-path (data, metadata, delete, undelete, destroy) after the mount.
func (t kvTarget) apiPath(prefix string) string {
	if !t.v2 {
		return t.secret
	}
	return addPrefixToKVPath(t.secret, t.mountPath, prefix)
}

// addPrefixToKVPath inserts apiPrefix after the mount: ("secret/foo",
// "secret/", "data") → "secret/data/foo".
func addPrefixToKVPath(p, mountPath, apiPrefix string) string {
	if p == mountPath || p == strings.TrimSuffix(mountPath, "/") {
		return path.Join(mountPath, apiPrefix)
	}
	tp := strings.TrimPrefix(p, mountPath)
	for tp == p {
		// The mount path may carry a namespace the user's path doesn't:
		// drop leading segments until the rest of the mount matches.
		parts := strings.SplitN(mountPath, "/", 2)
		if len(parts) <= 1 || parts[1] == "" {
			break
		}
		mountPath = strings.TrimSuffix(parts[1], "/")
		tp = strings.TrimPrefix(tp, mountPath)
	}
	return path.Join(mountPath, apiPrefix, tp)
}

// kvResolve finds the mount and KV version for a kv command's path, either
// "mount/secret" or, with -mount, the mount and a path inside it.
func (a *app) kvResolve(client *api.Client, mountFlag, arg string) (kvTarget, error) {
	if mountFlag != "" {
		mount := sanitizePath(mountFlag)
		mountPath, v2, err := a.kvPreflight(client, mount)
		if err != nil {
			return kvTarget{}, err
		}
		if mountPath == "" {
			mountPath = ensureTrailingSlash(mount)
		}
		return kvTarget{mountPath: mountPath, v2: v2, secret: path.Join(mountPath, sanitizePath(arg))}, nil
	}
	p := sanitizePath(arg)
	mountPath, v2, err := a.kvPreflight(client, p)
	if err != nil {
		return kvTarget{}, err
	}
	return kvTarget{mountPath: mountPath, v2: v2, secret: p}, nil
}

// kvClient is the API client of a kv command and the target its path
// (mountFlag and arg, as for kvResolve) resolves to.
func (a *app) kvClient(mountFlag, arg string) (*api.Client, kvTarget, error) {
	client, err := a.apiClient()
	if err != nil {
		return nil, kvTarget{}, err
	}
	t, err := a.kvResolve(client, mountFlag, arg)
	if err != nil {
		return nil, kvTarget{}, err
	}
	return client, t, nil
}

// kvPreflight asks sys/internal/ui/mounts/<p> which mount serves p and its
// KV version, as Vault's CLI does. A server without the endpoint (404) is
// treated as KV v1. The request is never wrapped nor turned into a curl
// string: only the command's real request should be.
func (a *app) kvPreflight(client *api.Client, p string) (string, bool, error) {
	defer auxiliaryRequest(client)()
	resp, err := client.Logical().ReadRawWithContext(a.ctx, "sys/internal/ui/mounts/"+p)
	if resp != nil {
		defer resp.Body.Close()
	}
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return "", false, nil
		}
		if resp != nil && resp.StatusCode == http.StatusForbidden {
			return "", false, &exitError{code: exitAPI, err: err, msg: fmt.Sprintf(
				"preflight capability check returned 403, please ensure client's policies grant access to path %q",
				ensureTrailingSlash(p))}
		}
		return "", false, &exitError{code: exitAPI, msg: err.Error(), err: err}
	}
	secret, err := api.ParseSecret(resp.Body)
	if err != nil {
		return "", false, &exitError{code: exitAPI, msg: "preflight request: " + err.Error(), err: err}
	}
	if secret == nil {
		return "", false, apiErrorf("nil response from pre-flight request")
	}
	mountPath, _ := secret.Data["path"].(string)
	var version string
	if opts, ok := secret.Data["options"].(map[string]any); ok && opts["version"] != nil {
		version = fmt.Sprint(opts["version"])
	}
	return mountPath, version == "2", nil
}

// auxiliaryRequest prepares client for a request a command makes on its
// way to the one the user asked for (a preflight, a pre-read): it is
// neither wrapped (-wrap-ttl, VAULT_WRAP_TTL) nor turned into a curl
// string. The returned func restores the client.
func auxiliaryRequest(client *api.Client) (restore func()) {
	wrap := client.CurrentWrappingLookupFunc()
	client.SetWrappingLookupFunc(func(string, string) string { return "" })
	curl := client.OutputCurlString()
	client.SetOutputCurlString(false)
	return func() {
		client.SetWrappingLookupFunc(wrap)
		client.SetOutputCurlString(curl)
	}
}

// kvRead reads a KV path; a 404 that still carries data (a deleted v2
// version's metadata) or warnings is returned, a bare 404 is nil.
func (a *app) kvRead(client *api.Client, p string, params map[string]string) (*api.Secret, error) {
	values := map[string][]string{}
	for k, v := range params {
		values[k] = []string{v}
	}
	resp, err := client.Logical().ReadRawWithDataWithContext(a.ctx, p, values)
	if resp != nil {
		defer resp.Body.Close()
	}
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		secret, perr := api.ParseSecret(resp.Body)
		if errors.Is(perr, io.EOF) || (perr == nil && (secret == nil || (len(secret.Warnings) == 0 && len(secret.Data) == 0))) {
			return nil, nil
		}
		if perr != nil {
			return nil, perr
		}
		return secret, nil
	}
	if err != nil {
		return nil, err
	}
	return api.ParseSecret(resp.Body)
}

// kvPreRead reads a version at fullPath before a command writes there
// (patch -method=rw, rollback). Only the write may become a curl string or
// be wrapped, so the read never is: a wrapped pre-read would hide the data
// the write is computed from.
func (a *app) kvPreRead(client *api.Client, fullPath string, params map[string]string) (*api.Secret, error) {
	defer auxiliaryRequest(client)()
	secret, err := a.kvRead(client, fullPath, params)
	if err != nil {
		return nil, apiError(err, "Error doing pre-read at %s", fullPath)
	}
	return secret, nil
}

// kvWrite writes body to fullPath, a secret's data path, and prints the
// result (put, rollback, patch -method=rw).
func (a *app) kvWrite(client *api.Client, t kvTarget, fullPath string, body map[string]any) error {
	secret, err := client.Logical().WriteWithContext(a.ctx, fullPath, body)
	if err != nil {
		return apiError(err, "Error writing data to %s", fullPath)
	}
	return a.outputKVWrite(t, fullPath, secret)
}

// outputPath prints Vault's "== Secret Path ==" block.
func (a *app) outputPath(p, title string) {
	a.info("%s", format.PadEqualSigns(title, len(p)))
	a.info("%s", p)
	a.info("")
}

// outputKVWrite prints the result of a v2 write (put, patch, rollback): the
// path and the new version's metadata in table format, else the response.
func (a *app) outputKVWrite(t kvTarget, fullPath string, secret *api.Secret) error {
	if secret == nil {
		if a.isTable() {
			a.info("Success! Data written to: %s", fullPath)
		}
		return nil
	}
	if a.g.field != "" {
		return a.outputField(secret, a.g.field)
	}
	if secret.WrapInfo != nil && secret.WrapInfo.TTL != 0 {
		return a.outputSecret(secret)
	}
	if a.isTable() && t.v2 {
		a.outputPath(fullPath, "Secret Path")
		a.info("%s", format.HeaderForMap("Metadata", secret.Data))
		return a.outputData(secret.Data)
	}
	return a.outputSecret(secret)
}

// reportWrite ends a command that wrote to p (write, patch, kv metadata
// put, kv undelete and destroy): err, else the response, else a success line.
func (a *app) reportWrite(p string, secret *api.Secret, err error) error {
	if err != nil {
		return apiError(err, "Error writing data to %s", p)
	}
	return a.kvDone(secret, "Success! Data written to: %s", p)
}

// reportDelete is reportWrite for a command that deleted at p.
func (a *app) reportDelete(p string, secret *api.Secret, err error) error {
	if err != nil {
		return apiError(err, "Error deleting %s", p)
	}
	return a.kvDone(secret, "Success! Data deleted (if it existed) at: %s", p)
}

// kvDone prints msg (a "Success! …" line naming fullPath) when the server
// returned no body, in table format only as Vault does; else the response.
func (a *app) kvDone(secret *api.Secret, msg, fullPath string) error {
	if secret == nil {
		if a.isTable() {
			a.info(msg, fullPath)
		}
		return nil
	}
	return a.outputSecret(secret)
}

// kvVersions flattens -versions flags ("1,2" or repeated) into the list of
// version numbers sent to the server (as strings, as Vault's CLI sends them).
func kvVersions(values []string) ([]string, error) {
	out := commaList(values)
	for _, v := range out {
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			return nil, fmt.Errorf("invalid version %q", v)
		}
	}
	return out, nil
}
