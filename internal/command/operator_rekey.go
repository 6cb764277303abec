package command

import (
	"fmt"
	"strings"

	"github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"

	"github.com/strongbox/strongbox/internal/command/format"
	"github.com/strongbox/strongbox/internal/pgp"
)

type operatorRekeyCmd struct {
	a            *app
	init         bool
	cancel       bool
	status       bool
	verify       bool
	keyShares    int
	keyThreshold int
	pgpKeys      []string
	nonce        string
	target       string
	backup       bool
}

func newOperatorRekeyCommand(a *app) *cobra.Command {
	c := &operatorRekeyCmd{a: a}
	cmd := &cobra.Command{
		Use:   "rekey [options] [KEY]",
		Short: "Generate new unseal keys",
		Long: `Replaces the unseal key shares, optionally with a new number of shares and
threshold. The server stays unsealed and no data is re-encrypted, but a
threshold of the CURRENT unseal keys must be given. Afterwards the old shares
no longer unseal.

Start with -init, then each key holder runs the command with their key. The
key can be an argument ("-" reads stdin); without one, the command prompts on
the terminal and shows the operation nonce. With a key argument, -nonce is
required. With -verify at -init, the new shares take effect only once a
threshold of them is given back with -verify.`,
		Example: `$ strongbox operator rekey -init -key-shares=5 -key-threshold=3
$ strongbox operator rekey -init -key-shares=3 -key-threshold=2 -pgp-keys="a.asc,b.asc,c.asc"
$ strongbox operator rekey
$ strongbox operator rekey -nonce=<nonce> <key>
$ strongbox operator rekey -verify -nonce=<verification nonce> <new key>
$ strongbox operator rekey -status
$ strongbox operator rekey -cancel -nonce=<nonce>`,
		RunE: func(cmd *cobra.Command, args []string) error { return c.run(cmd, args) },
	}
	fs := cmd.Flags()
	fs.BoolVar(&c.init, "init", false, "Start a rekey; only one can be in progress. Set the new shares with -key-shares and -key-threshold.")
	fs.BoolVar(&c.cancel, "cancel", false, "Cancel the rekey in progress (needs -nonce for an attempt younger than 10 minutes); with -verify, restart only the verification.")
	fs.BoolVar(&c.status, "status", false, "Print the status of the rekey in progress without giving a key.")
	fs.BoolVar(&c.verify, "verify", false, "With -init: require verification of the new shares. Otherwise: act on the verification (give a NEW key, -status, -cancel).")
	fs.IntVarP(&c.keyShares, "key-shares", "n", 5, "Number of new key shares.")
	fs.IntVarP(&c.keyThreshold, "key-threshold", "t", 3, "Number of new key shares needed to unseal; at most -key-shares.")
	fs.StringArrayVar(&c.pgpKeys, "pgp-keys", nil, "Comma-separated paths to files with public PGP keys (binary or base64), one per new share; each share is encrypted with its key.")
	fs.StringVar(&c.nonce, "nonce", "", "The operation nonce shown at -init; needed with each key given as an argument, and to -cancel.")
	fs.StringVar(&c.target, "target", "barrier", "What to rekey: \"barrier\" (the unseal keys). \"recovery\" needs an auto-unseal seal.")
	fs.BoolVar(&c.backup, "backup", false, "Keep the PGP-encrypted new shares in storage (not supported by this server).")
	return cmd
}

// rekeyAPI is the set of client calls for one -target.
type rekeyAPI struct {
	init         func(*api.RekeyInitRequest) (*api.RekeyStatusResponse, error)
	status       func() (*api.RekeyStatusResponse, error)
	update       func(key, nonce string) (*api.RekeyUpdateResponse, error)
	cancel       func(nonce string) error
	verifyStatus func() (*api.RekeyVerificationStatusResponse, error)
	verifyUpdate func(key, nonce string) (*api.RekeyVerificationUpdateResponse, error)
	verifyCancel func() error
	keyType      string
}

func (c *operatorRekeyCmd) api(client *api.Client) (*rekeyAPI, error) {
	sys := client.Sys()
	switch strings.ToLower(strings.TrimSpace(c.target)) {
	case "barrier":
		return &rekeyAPI{
			init: sys.RekeyInit, status: sys.RekeyStatus, update: sys.RekeyUpdate,
			cancel: sys.RekeyCancelWithNonce, verifyStatus: sys.RekeyVerificationStatus,
			verifyUpdate: sys.RekeyVerificationUpdate, verifyCancel: sys.RekeyVerificationCancel,
			keyType: "Unseal",
		}, nil
	case "recovery", "hsm":
		return &rekeyAPI{
			init: sys.RekeyRecoveryKeyInit, status: sys.RekeyRecoveryKeyStatus, update: sys.RekeyRecoveryKeyUpdate,
			cancel: sys.RekeyRecoveryKeyCancelWithNonce, verifyStatus: sys.RekeyRecoveryKeyVerificationStatus,
			verifyUpdate: sys.RekeyRecoveryKeyVerificationUpdate, verifyCancel: sys.RekeyRecoveryKeyVerificationCancel,
			keyType: "Recovery",
		}, nil
	}
	return nil, usageErrorf("Unknown target: %s", c.target)
}

func (c *operatorRekeyCmd) run(cmd *cobra.Command, args []string) error {
	a := c.a
	if err := argCount(args, 0, 1); err != nil {
		return err
	}
	client, err := a.apiClient()
	if err != nil {
		return err
	}
	ra, err := c.api(client)
	if err != nil {
		return err
	}
	switch {
	case c.cancel:
		return c.runCancel(ra)
	case c.init:
		return c.runInit(cmd, ra)
	case c.status:
		return c.printStatus(ra)
	}
	key := ""
	if len(args) == 1 {
		key = strings.TrimSpace(args[0])
	}
	return c.provide(ra, key)
}

func (c *operatorRekeyCmd) runInit(cmd *cobra.Command, ra *rekeyAPI) error {
	a := c.a
	req := &api.RekeyInitRequest{
		SecretShares: c.keyShares, SecretThreshold: c.keyThreshold,
		Backup: c.backup, RequireVerification: c.verify,
	}
	if cmd.Flags().Changed("pgp-keys") {
		keys, err := readPGPKeys(commaList(c.pgpKeys))
		if err != nil {
			return localError(err, "Error reading -pgp-keys")
		}
		req.PGPKeys = keys
	}
	st, err := ra.init(req)
	if err != nil {
		return apiError(err, "Error initializing rekey")
	}
	if a.isTable() && len(req.PGPKeys) == 0 {
		a.warn("%s\n", format.WrapAtLength(fmt.Sprintf("WARNING! If you lose the keys after they are "+
			"returned, there is no recovery. Consider canceling this operation and re-initializing "+
			"with the -pgp-keys flag to protect the returned %s keys.", strings.ToLower(ra.keyType))))
	}
	return c.outputStatus(st)
}

func (c *operatorRekeyCmd) runCancel(ra *rekeyAPI) error {
	if c.verify {
		if c.nonce != "" {
			return usageErrorf("The -nonce flag is not valid with the -verify flag")
		}
		if err := ra.verifyCancel(); err != nil {
			return apiError(err, "Error canceling rekey verification")
		}
		c.a.info("Success! Restarted rekey verification (if it was started)")
		return nil
	}
	if err := ra.cancel(c.nonce); err != nil {
		return apiError(err, "Error canceling rekey")
	}
	c.a.info("Success! Canceled rekeying (if it was started)")
	return nil
}

// provide gives one key to the rekey (or, with -verify, its verification).
func (c *operatorRekeyCmd) provide(ra *rekeyAPI, key string) error {
	a := c.a
	var started bool
	var nonce string
	var status *api.RekeyStatusResponse
	if c.verify {
		st, err := ra.verifyStatus()
		if err != nil {
			return apiError(err, "Error getting rekey status")
		}
		started, nonce = st.Started, st.Nonce
	} else {
		st, err := ra.status()
		if err != nil {
			return apiError(err, "Error getting rekey status")
		}
		started, nonce, status = st.Started, st.Nonce, st
	}
	if !started {
		return usageErrorf("%s", format.WrapAtLength("No rekey is in progress. Start a rekey process by running \"strongbox operator rekey -init\"."))
	}
	key, nonce, err := c.a.readKeyAndNonce(key, nonce, c.nonce, "Rekey operation nonce", ra.keyType)
	if err != nil {
		return err
	}
	if c.verify {
		res, err := ra.verifyUpdate(key, nonce)
		if err != nil {
			return apiError(err, "Error posting unseal key")
		}
		if !res.Complete {
			return c.printStatus(ra)
		}
		if !a.isTable() {
			return a.outputData(res)
		}
		a.info("%s", format.WrapAtLength("Rekey verification successful. The rekey operation is complete and the new keys are now active."))
		return nil
	}
	res, err := ra.update(key, nonce)
	if err != nil {
		return apiError(err, "Error posting unseal key")
	}
	if !res.Complete {
		return c.printStatus(ra)
	}
	return c.printKeys(ra, status, res)
}

// printKeys shows the new shares; status is the attempt as it was before
// the last key (it knows the new shares and threshold).
func (c *operatorRekeyCmd) printKeys(ra *rekeyAPI, status *api.RekeyStatusResponse, res *api.RekeyUpdateResponse) error {
	a := c.a
	if !a.isTable() {
		return a.outputData(res)
	}
	a.info("")
	for i, key := range res.Keys {
		if len(res.KeysB64) == len(res.Keys) {
			key = res.KeysB64[i]
		}
		if i < len(res.PGPFingerprints) {
			a.info("Key %d fingerprint: %s; value: %s", i+1, res.PGPFingerprints[i], key)
		} else {
			a.info("Key %d: %s", i+1, key)
		}
	}
	a.info("")
	a.info("Operation nonce: %s", res.Nonce)
	a.info("")
	n, t := status.N, status.T
	if !res.VerificationRequired {
		a.info("%s", format.WrapAtLength(fmt.Sprintf("Strongbox %s keys rekeyed with %d key shares and a key "+
			"threshold of %d. Please securely distribute the key shares printed above. When Strongbox is "+
			"re-sealed, restarted, or stopped, you must supply at least %d of these keys to unseal it "+
			"before it can start servicing requests.", strings.ToLower(ra.keyType), n, t, t)))
		return nil
	}
	a.info("%s", format.WrapAtLength(fmt.Sprintf("Strongbox has created a new %s key, split into %d key "+
		"shares and a key threshold of %d. These will not be active until after verification is "+
		"complete. Please securely distribute the key shares printed above.", strings.ToLower(ra.keyType), n, t)))
	a.info("")
	a.warn("%s\n", format.WrapAtLength("Again, these key shares are _not_ valid until verification is "+
		"performed. Do not lose or discard your current key shares until after verification is complete "+
		"or you will be unable to unseal Strongbox. If you cancel the rekey process or seal Strongbox "+
		"before verification is complete the new shares will be discarded and the current shares will "+
		"remain valid."))
	a.warn("%s\n", format.WrapAtLength("The current verification status, including initial nonce, is shown below."))
	c.verify = true
	return c.printStatus(ra)
}

func (c *operatorRekeyCmd) printStatus(ra *rekeyAPI) error {
	if c.verify {
		st, err := ra.verifyStatus()
		if err != nil {
			return apiError(err, "Error reading rekey status")
		}
		if !c.a.isTable() {
			return c.a.outputData(st)
		}
		c.a.info("%s", format.Table([][]string{
			{"Key", "Value"},
			{"Started", fmt.Sprint(st.Started)},
			{"New Shares", fmt.Sprint(st.N)},
			{"New Threshold", fmt.Sprint(st.T)},
			{"Verification Nonce", st.Nonce},
			{"Verification Progress", fmt.Sprintf("%d/%d", st.Progress, st.T)},
		}))
		return nil
	}
	st, err := ra.status()
	if err != nil {
		return apiError(err, "Error reading rekey status")
	}
	return c.outputStatus(st)
}

func (c *operatorRekeyCmd) outputStatus(st *api.RekeyStatusResponse) error {
	if !c.a.isTable() {
		return c.a.outputData(st)
	}
	rows := [][]string{{"Key", "Value"}, {"Nonce", st.Nonce}, {"Started", fmt.Sprint(st.Started)}}
	if st.Started {
		progress := fmt.Sprintf("%d/%d", st.Progress, st.Required)
		if st.VerificationNonce != "" {
			progress = fmt.Sprintf("%d/%d (verification in progress)", st.Required, st.Required)
		}
		rows = append(rows,
			[]string{"Rekey Progress", progress},
			[]string{"New Shares", fmt.Sprint(st.N)},
			[]string{"New Threshold", fmt.Sprint(st.T)},
			[]string{"Verification Required", fmt.Sprint(st.VerificationRequired)})
		if st.VerificationNonce != "" {
			rows = append(rows, []string{"Verification Nonce", st.VerificationNonce})
		}
	}
	if len(st.PGPFingerprints) > 0 {
		rows = append(rows, []string{"PGP Fingerprints", fmt.Sprint(st.PGPFingerprints)}, []string{"Backup", fmt.Sprint(st.Backup)})
	}
	c.a.info("%s", format.Table(rows))
	return nil
}

// readKeyAndNonce gets the key for a rekey or generate-root update: "-"
// reads all of stdin, an argument is used as is (both need -nonce), and
// no argument prompts (showing the operation's nonce, which is then used).
func (a *app) readKeyAndNonce(key, statusNonce, flagNonce, nonceLabel, keyType string) (string, string, error) {
	nonce := flagNonce
	switch key {
	case "-":
		b, err := a.readAllStdin()
		if err != nil {
			return "", "", localError(err, "Failed to read from stdin")
		}
		key = string(b)
	case "":
		nonce = statusNonce
		if a.sys.isTerminal(a.stdin) {
			a.info("%s: %s", nonceLabel, nonce)
		}
		k, err := a.readSecret(keyType+" Key (will be hidden): ", a.stdout)
		if err != nil {
			return "", "", localError(err, "An error occurred attempting to ask for the %s key. "+
				"Run the command from a terminal, pass the key as an argument, or \"-\" to read it from stdin",
				strings.ToLower(keyType))
		}
		key = k
	}
	key = strings.TrimSpace(key)
	if nonce == "" {
		return "", "", usageErrorf("Missing nonce value: specify it via the -nonce flag")
	}
	return key, nonce, nil
}

type operatorGenerateRootCmd struct {
	a           *app
	init        bool
	cancel      bool
	status      bool
	generateOTP bool
	decode      string
	otp         string
	pgpKey      string
	nonce       string
}

func newOperatorGenerateRootCommand(a *app) *cobra.Command {
	c := &operatorGenerateRootCmd{a: a}
	cmd := &cobra.Command{
		Use:   "generate-root [options] [KEY]",
		Short: "Generate a new root token",
		Long: `Generates a new root token from a threshold of unseal keys. Start with -init:
without -otp or -pgp-key the server makes a one-time password (OTP) and shows
it once; with -pgp-key the token is encrypted to that public key. Each key
holder then gives their key (argument, "-" for stdin, or a prompt). The last
one receives the encoded token; -decode with the OTP reveals it.`,
		Example: `$ strongbox operator generate-root -init
$ strongbox operator generate-root -generate-otp
$ strongbox operator generate-root -init -otp="<otp>"
$ strongbox operator generate-root -init -pgp-key=op.asc
$ strongbox operator generate-root
$ strongbox operator generate-root -decode="<encoded token>" -otp="<otp>"
$ strongbox operator generate-root -status
$ strongbox operator generate-root -cancel`,
		RunE: func(_ *cobra.Command, args []string) error { return c.run(args) },
	}
	fs := cmd.Flags()
	fs.BoolVar(&c.init, "init", false, "Start a root token generation; only one can be in progress.")
	fs.BoolVar(&c.cancel, "cancel", false, "Cancel the root token generation and discard the keys given.")
	fs.BoolVar(&c.status, "status", false, "Print the status of the attempt without giving a key.")
	fs.BoolVar(&c.generateOTP, "generate-otp", false, "Print a one-time password of the length the server wants, for -init -otp.")
	fs.StringVar(&c.decode, "decode", "", "Decode this encoded token (\"-\" reads stdin) with -otp.")
	fs.StringVar(&c.otp, "otp", "", "The one-time password, for -init or -decode.")
	fs.StringVar(&c.pgpKey, "pgp-key", "", "Path to a file with a public PGP key (binary or base64) to encrypt the new token with; with -init.")
	fs.StringVar(&c.nonce, "nonce", "", "The nonce shown at -init; needed with each key given as an argument.")
	return cmd
}

func (c *operatorGenerateRootCmd) run(args []string) error {
	a := c.a
	if err := argCount(args, 0, 1); err != nil {
		return err
	}
	if c.decode != "" {
		return c.runDecode()
	}
	client, err := a.apiClient()
	if err != nil {
		return err
	}
	sys := client.Sys()
	switch {
	case c.generateOTP:
		st, err := sys.GenerateRootStatusWithContext(a.ctx)
		if err != nil {
			return apiError(err, "Error getting root generation status")
		}
		otp, err := pgp.GenerateOTP(st.OTPLength)
		if err != nil {
			return localError(err, "Error generating OTP")
		}
		if a.isTable() {
			a.info("%s", otp)
			return nil
		}
		return a.outputData(map[string]any{"otp": otp, "otp_length": len(otp)})
	case c.cancel:
		if err := sys.GenerateRootCancelWithContext(a.ctx); err != nil {
			return apiError(err, "Error canceling root token generation")
		}
		a.info("Success! Root token generation canceled (if it was started)")
		return nil
	case c.init:
		if c.otp != "" && c.pgpKey != "" {
			return usageErrorf("Error initializing: cannot specify both -otp and -pgp-key")
		}
		key := ""
		if c.pgpKey != "" {
			keys, err := readPGPKeys([]string{c.pgpKey})
			if err != nil {
				return localError(err, "Error reading -pgp-key")
			}
			key = keys[0]
		}
		st, err := sys.GenerateRootInitWithContext(a.ctx, c.otp, key)
		if err != nil {
			return apiError(err, "Error initializing root generation")
		}
		return c.output(st)
	case c.status:
		st, err := sys.GenerateRootStatusWithContext(a.ctx)
		if err != nil {
			return apiError(err, "Error getting root generation status")
		}
		return c.output(st)
	}
	st, err := sys.GenerateRootStatusWithContext(a.ctx)
	if err != nil {
		return apiError(err, "Error getting root generation status")
	}
	if !st.Started {
		a.warn("%s", format.WrapAtLength(fmt.Sprintf("If starting root generation using the OTP method "+
			"and generating your own OTP, the length of the OTP string needs to be %d characters in length.", st.OTPLength)))
		return usageErrorf("%s", format.WrapAtLength("No root generation is in progress. Start a root generation by running \"strongbox operator generate-root -init\"."))
	}
	key := ""
	if len(args) == 1 {
		key = strings.TrimSpace(args[0])
	}
	key, nonce, err := a.readKeyAndNonce(key, st.Nonce, c.nonce, "Operation nonce", "Unseal")
	if err != nil {
		return err
	}
	st, err = sys.GenerateRootUpdateWithContext(a.ctx, key, nonce)
	if err != nil {
		return apiError(err, "Error posting unseal key")
	}
	return c.output(st)
}

func (c *operatorGenerateRootCmd) runDecode() error {
	a := c.a
	if c.otp == "" {
		return usageErrorf("Missing otp: use -otp to supply it")
	}
	encoded := c.decode
	if encoded == "-" {
		b, err := a.readAllStdin()
		if err != nil {
			return localError(err, "Failed to read from stdin")
		}
		if encoded = strings.TrimSpace(string(b)); encoded == "" {
			return usageErrorf("Missing encoded value. When using -decode=\"-\" value must be passed via stdin.")
		}
	}
	tok, err := pgp.DecodeToken(encoded, c.otp)
	if err != nil {
		return localError(err, "Error decoding root token")
	}
	if a.isTable() {
		a.info("%s", tok)
		return nil
	}
	return a.outputData(map[string]any{"token": tok})
}

func (c *operatorGenerateRootCmd) output(st *api.GenerateRootStatusResponse) error {
	a := c.a
	if !a.isTable() {
		return a.outputData(st)
	}
	rows := [][]string{
		{"Nonce", st.Nonce},
		{"Started", fmt.Sprint(st.Started)},
		{"Progress", fmt.Sprintf("%d/%d", st.Progress, st.Required)},
		{"Complete", fmt.Sprint(st.Complete)},
	}
	if st.PGPFingerprint != "" {
		rows = append(rows, []string{"PGP Fingerprint", st.PGPFingerprint})
	}
	switch {
	case st.EncodedToken != "":
		rows = append(rows, []string{"Encoded Token", st.EncodedToken})
	case st.EncodedRootToken != "":
		rows = append(rows, []string{"Encoded Root Token", st.EncodedRootToken})
	}
	if st.OTP != "" {
		a.warn("%s", format.WrapAtLength("A One-Time-Password has been generated for you and is shown in the OTP field. "+
			"You will need this value to decode the resulting root token, so keep it safe."))
		rows = append(rows, []string{"OTP", st.OTP})
	}
	if st.OTPLength != 0 {
		rows = append(rows, []string{"OTP Length", fmt.Sprint(st.OTPLength)})
	}
	a.info("%s", format.Columns(rows))
	return nil
}
