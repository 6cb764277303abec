package command

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"

	"github.com/strongbox/strongbox/internal/command/format"
)

type operatorInitCmd struct {
	a                 *app
	keyShares         int
	keyThreshold      int
	pgpKeys           []string
	rootTokenPGPKey   string
	recoveryShares    int
	recoveryThreshold int
	recoveryPGPKeys   []string
	status            bool
}

func newOperatorInitCommand(a *app) *cobra.Command {
	c := &operatorInitCmd{a: a}
	cmd := &cobra.Command{
		Use:   "init [options]",
		Short: "Initialize a server",
		Long: `Initializes a new server: generates the root key, splits it into unseal key
shares (Shamir's secret sharing) and creates the initial root token. This
happens once per cluster; the shares and token are printed only now.

With -status, only reports whether the server is initialized: exit code 0
when it is, 2 when it is not, 1 on error.`,
		Example: `$ strongbox operator init
$ strongbox operator init -key-shares=5 -key-threshold=3 > keys.txt
$ strongbox operator init -format=json
$ strongbox operator init -key-shares=3 -key-threshold=2 -pgp-keys="alice.asc,bob.asc,carol.asc"
$ strongbox operator init -status`,
		RunE: func(cmd *cobra.Command, args []string) error { return c.run(cmd, args) },
	}
	fs := cmd.Flags()
	fs.IntVar(&c.keyShares, "key-shares", 5, "Number of key shares to split the root key into.")
	fs.IntVar(&c.keyThreshold, "key-threshold", 3, "Number of key shares needed to reconstruct the root key; at most -key-shares.")
	fs.StringArrayVar(&c.pgpKeys, "pgp-keys", nil, "Comma-separated paths to files with public PGP keys (binary or base64), one per key share; each share is encrypted with its key.")
	fs.StringVar(&c.rootTokenPGPKey, "root-token-pgp-key", "", "Path to a file with a public PGP key to encrypt the initial root token with.")
	fs.IntVar(&c.recoveryShares, "recovery-shares", 5, "Number of recovery key shares (auto-unseal only).")
	fs.IntVar(&c.recoveryThreshold, "recovery-threshold", 3, "Number of recovery key shares needed (auto-unseal only).")
	fs.StringArrayVar(&c.recoveryPGPKeys, "recovery-pgp-keys", nil, "Like -pgp-keys, for the recovery key shares (auto-unseal only).")
	fs.BoolVar(&c.status, "status", false, "Only print whether the server is initialized: exit code 0 if so, 2 if not, 1 on error.")
	return cmd
}

func (c *operatorInitCmd) run(cmd *cobra.Command, args []string) error {
	a := c.a
	if err := argCount(args, 0, 0); err != nil {
		return err
	}
	client, err := a.apiClient()
	if err != nil {
		return err
	}
	if c.status {
		inited, err := client.Sys().InitStatusWithContext(a.ctx)
		if err != nil {
			// 2 means "not initialized" here, so an error is 1, as in Vault.
			return &exitError{code: exitLocal, msg: "Error checking init status: " + err.Error(), err: err}
		}
		if a.isTable() {
			if inited {
				a.info("Strongbox is initialized")
			} else {
				a.info("Strongbox is not initialized")
			}
		} else if err := a.outputData(api.InitStatusResponse{Initialized: inited}); err != nil {
			return err
		}
		if !inited {
			return exitWith(exitAPI)
		}
		return nil
	}

	fs := cmd.Flags()
	// Like Vault's CLI: an auto-unseal server takes recovery settings, not
	// key shares, so ask the server which seal it has first.
	recovery := false
	if st, err := client.Sys().SealStatusWithContext(a.ctx); err == nil && st.RecoverySeal {
		recovery = true
	}
	body := map[string]any{}
	if !recovery || fs.Changed("key-shares") || fs.Changed("key-threshold") {
		body["secret_shares"], body["secret_threshold"] = c.keyShares, c.keyThreshold
	}
	if recovery && !fs.Changed("recovery-shares") && !fs.Changed("recovery-threshold") {
		body["recovery_shares"], body["recovery_threshold"] = c.recoveryShares, c.recoveryThreshold
	}
	if fs.Changed("pgp-keys") {
		keys, err := readPGPKeys(commaList(c.pgpKeys))
		if err != nil {
			return localError(err, "Error reading -pgp-keys")
		}
		body["pgp_keys"] = keys
	}
	if c.rootTokenPGPKey != "" {
		keys, err := readPGPKeys([]string{c.rootTokenPGPKey})
		if err != nil {
			return localError(err, "Error reading -root-token-pgp-key")
		}
		body["root_token_pgp_key"] = keys[0]
	}
	// Recovery settings mean something only to auto-unseal servers; they are
	// sent when given so a Shamir server never sees fields it didn't ask for.
	if fs.Changed("recovery-shares") || fs.Changed("recovery-threshold") || fs.Changed("recovery-pgp-keys") {
		body["recovery_shares"] = c.recoveryShares
		body["recovery_threshold"] = c.recoveryThreshold
	}
	if fs.Changed("recovery-pgp-keys") {
		keys, err := readPGPKeys(commaList(c.recoveryPGPKeys))
		if err != nil {
			return localError(err, "Error reading -recovery-pgp-keys")
		}
		body["recovery_pgp_keys"] = keys
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return localError(err, "Error encoding request")
	}
	// Not Logical().WriteRawWithContext: it cancels its context before
	// returning, so reading the body afterwards can fail with "context
	// canceled" when the body comes after the headers (HTTP/2, a busy
	// server). RawRequestWithContext leaves the body readable.
	req := client.NewRequest(http.MethodPut, "/v1/sys/init")
	req.BodyBytes = raw
	resp, err := client.RawRequestWithContext(a.ctx, req) //nolint:staticcheck // the body must stay readable
	if resp != nil {
		defer resp.Body.Close()
	}
	if err != nil {
		return apiError(err, "Error initializing")
	}
	var out api.InitResponse
	if err := resp.DecodeJSON(&out); err != nil {
		return apiError(err, "Error initializing: decode response")
	}

	if !a.isTable() {
		return a.outputData(newMachineInit(c, &out))
	}
	for i, key := range out.Keys {
		if len(out.KeysB64) == len(out.Keys) {
			key = out.KeysB64[i]
		}
		a.info("Unseal Key %d: %s", i+1, key)
	}
	for i, key := range out.RecoveryKeys {
		if len(out.RecoveryKeysB64) == len(out.RecoveryKeys) {
			key = out.RecoveryKeysB64[i]
		}
		a.info("Recovery Key %d: %s", i+1, key)
	}
	a.info("")
	a.info("Initial Root Token: %s", out.RootToken)
	if len(out.Keys) > 0 {
		a.info("")
		a.info("%s", format.WrapAtLength(fmt.Sprintf(
			"Strongbox initialized with %d key shares and a key threshold of %d. Please "+
				"securely distribute the key shares printed above. When Strongbox is "+
				"re-sealed, restarted, or stopped, you must supply at least %d of "+
				"these keys to unseal it before it can start servicing requests.",
			c.keyShares, c.keyThreshold, c.keyThreshold)))
		a.info("")
		a.info("%s", format.WrapAtLength(fmt.Sprintf(
			"Strongbox does not store the generated root key. Without at least %d "+
				"keys to reconstruct the root key, Strongbox will remain permanently sealed!",
			c.keyThreshold)))
		a.info("")
		a.info("%s", format.WrapAtLength(
			"It is possible to generate new unseal keys, provided you have a quorum "+
				"of existing unseal keys shares. See \"strongbox operator rekey\" for "+
				"more information."))
	} else {
		a.info("")
		a.info("Success! Strongbox is initialized")
	}
	if len(out.RecoveryKeys) > 0 {
		a.info("")
		a.info("%s", format.WrapAtLength(fmt.Sprintf(
			"Recovery key initialized with %d key shares and a key threshold of %d. "+
				"Please securely distribute the key shares printed above.",
			c.recoveryShares, c.recoveryThreshold)))
	}
	return nil
}

// machineInit is `operator init -format=json` output, with Vault's names.
type machineInit struct {
	UnsealKeysB64     []string `json:"unseal_keys_b64"`
	UnsealKeysHex     []string `json:"unseal_keys_hex"`
	UnsealShares      int      `json:"unseal_shares"`
	UnsealThreshold   int      `json:"unseal_threshold"`
	RecoveryKeysB64   []string `json:"recovery_keys_b64"`
	RecoveryKeysHex   []string `json:"recovery_keys_hex"`
	RecoveryShares    int      `json:"recovery_keys_shares"`
	RecoveryThreshold int      `json:"recovery_keys_threshold"`
	RootToken         string   `json:"root_token"`
}

func newMachineInit(c *operatorInitCmd, r *api.InitResponse) *machineInit {
	orEmpty := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	m := &machineInit{
		UnsealKeysB64:   orEmpty(r.KeysB64),
		UnsealKeysHex:   orEmpty(r.Keys),
		UnsealShares:    c.keyShares,
		UnsealThreshold: c.keyThreshold,
		RecoveryKeysB64: orEmpty(r.RecoveryKeysB64),
		RecoveryKeysHex: orEmpty(r.RecoveryKeys),
		RootToken:       r.RootToken,
	}
	if len(r.Keys) == 0 {
		// The seal stores the root key itself (auto-unseal).
		m.UnsealShares, m.UnsealThreshold = 1, 1
	}
	if len(r.RecoveryKeys) > 0 {
		m.RecoveryShares, m.RecoveryThreshold = c.recoveryShares, c.recoveryThreshold
	}
	return m
}

// readPGPKeys loads public keys from files and returns them base64-encoded,
// as the API wants: a file already holding base64 is passed as is.
func readPGPKeys(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("no key files given")
	}
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		if strings.HasPrefix(p, "keybase:") {
			return nil, fmt.Errorf("%s: keybase lookups are not supported; give a key file", p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		s := strings.TrimSpace(string(b))
		if _, err := base64.StdEncoding.DecodeString(s); err == nil && s != "" {
			out = append(out, s)
			continue
		}
		out = append(out, base64.StdEncoding.EncodeToString(b))
	}
	return out, nil
}
