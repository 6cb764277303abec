package command

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"

	"github.com/strongbox/strongbox/internal/command/format"
)

// loginMethod authenticates with one auth method type. mount is the path
// the method is enabled at (no trailing slash); cfg holds the K=V
// arguments.
type loginMethod func(a *app, client *api.Client, mount string, cfg map[string]string) (*api.Secret, error)

// loginMethodFor returns the handler for a `login -method` type.
func loginMethodFor(method string) (loginMethod, bool) {
	switch method {
	case "token":
		return tokenLogin, true
	case "userpass":
		return passwordLogin, true
	case "ldap":
		return ldapLogin, true
	case "approle", "cert":
		return bodyLogin, true
	}
	return nil, false
}

type loginCmd struct {
	a         *app
	method    string
	path      string
	noStore   bool
	noPrint   bool
	tokenOnly bool
}

func newLoginCommand(a *app) *cobra.Command {
	c := &loginCmd{a: a}
	cmd := &cobra.Command{
		Use:   "login [options] [AUTH K=V...]",
		Short: "Authenticate locally",
		Long: `Authenticates to the server and stores the resulting token in the token
helper (the file ~/.vault-token), so later commands use it. VAULT_TOKEN, when
set, still takes precedence over the stored token.

The default method is "token": give the token as the argument, or "-" to read
it from stdin; with neither, the command asks for it on the terminal without
echo (or reads a line from stdin when it is a pipe). The token is verified
with a lookup of itself.

Other methods take K=V arguments and log in at auth/<path>/login:

  userpass, ldap   username=… password=… (asks for the password if missing;
                   ldap's username defaults to $LOGNAME, else $USER)
  approle          role_id=… secret_id=…
  cert             name=… (the client certificate comes from -client-cert)

-path names where the method is enabled when it isn't at its type's name.`,
		Example: `$ strongbox login
$ strongbox login s.3Y6e0M7i2Xq9LsZ4tN1bC8dH
$ echo "$TOKEN" | strongbox login -
$ strongbox login -method=userpass username=alice
$ strongbox login -method=approle role_id=$ROLE_ID secret_id=$SECRET_ID
$ strongbox login -method=userpass -path=corp-users username=alice
$ strongbox login -token-only -method=userpass username=alice password=secret`,
		RunE: func(cmd *cobra.Command, args []string) error { return c.run(cmd, args) },
	}
	fs := cmd.Flags()
	fs.StringVar(&c.method, "method", "token", "Type of authentication: token, userpass, ldap, approle or cert. This is the TYPE, not the path; use -path for that.")
	fs.StringVar(&c.path, "path", "", "Path where the auth method is enabled. The default is the method's type (userpass -> userpass/).")
	fs.BoolVar(&c.noStore, "no-store", false, "Do not store the token in the token helper; only print it.")
	fs.BoolVar(&c.noPrint, "no-print", false, "Do not print the token; only store it.")
	fs.BoolVar(&c.tokenOnly, "token-only", false, "Print only the token, without storing it: a shortcut for \"-field=token -no-store\".")
	return cmd
}

func (c *loginCmd) run(_ *cobra.Command, args []string) error {
	a := c.a
	if c.tokenOnly {
		c.noStore = true
		a.g.field = "token"
	}
	if c.noStore && c.noPrint {
		return usageErrorf("-no-store and -no-print cannot be used together")
	}
	method := sanitizePath(c.method)
	if method == "" {
		method = "token"
	}
	handler, ok := loginMethodFor(method)
	if !ok {
		return usageErrorf("%s", format.WrapAtLength(fmt.Sprintf(
			"Unknown auth method: %s. Use \"strongbox auth list\" to see the complete list of "+
				"auth methods. Additionally, some auth methods are only available via the HTTP API.", method)))
	}
	authPath := c.path
	if authPath == "" {
		authPath = method
	}
	if method == "token" && len(args) > 0 && !strings.Contains(args[0], "=") {
		args = append([]string{"token=" + args[0]}, args[1:]...)
	}
	cfg, err := parseArgsDataString(a, args)
	if err != nil {
		return localError(err, "Error parsing configuration")
	}
	client, err := a.apiClient()
	if err != nil {
		return err
	}
	// A stored token is irrelevant (and may be stale) for other methods.
	if method != "token" {
		client.ClearToken()
	}
	secret, err := handler(a, client, sanitizePath(authPath), cfg)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return err
		}
		return apiError(err, "Error authenticating")
	}
	client.SetWrappingLookupFunc(func(string, string) string { return "" })

	secret, wrapped, err := a.extractToken(client, secret, !c.tokenOnly && !c.noStore)
	if err != nil {
		return apiError(err, "Error extracting token")
	}
	if wrapped {
		if c.tokenOnly {
			return a.outputField(secret, "wrapping_token")
		}
		return a.outputSecret(secret)
	}
	if secret.Auth == nil {
		return apiErrorf("Strongbox returned a secret, but the secret has no authentication information attached.")
	}

	if !c.noStore {
		helper, err := a.tokenHelper()
		if err != nil {
			return localError(err, "Error initializing token helper")
		}
		if err := helper.Store(secret.Auth.ClientToken); err != nil {
			a.warn("Error storing token: %s", err)
			a.warn("%s\n", format.WrapAtLength("Authentication was successful, but the token was not persisted. The resulting token is shown below for your records."))
			_ = a.outputSecret(secret)
			return exitWith(exitAPI)
		}
		if a.env.get(envToken) != "" {
			a.warn("%s\n", format.WrapAtLength("WARNING! The VAULT_TOKEN environment variable is set! The value of this "+
				"variable will take precedence; if this is unwanted please unset VAULT_TOKEN or update its value accordingly."))
		}
	} else if !c.tokenOnly {
		a.warn("%s\n", format.WrapAtLength("The token was not stored in token helper. Set the VAULT_TOKEN "+
			"environment variable or pass the token below with each request to Strongbox."))
	}
	if c.noPrint {
		return nil
	}
	if a.g.field != "" {
		return a.outputField(secret, a.g.field)
	}
	if a.isTable() {
		msg := "Success! You are now authenticated. The token information displayed below is already stored in " +
			"the token helper. You do NOT need to run \"strongbox login\" again. Future Strongbox requests will " +
			"automatically use this token."
		if c.noStore {
			msg = "Success! You are now authenticated. The token information displayed below is not stored " +
				"in the token helper."
		}
		a.info("%s\n", format.WrapAtLength(msg))
	}
	return a.outputSecret(secret)
}

// extractToken returns the secret holding the token, unwrapping a wrapped
// login response when unwrap is set; wrapped reports a response left
// wrapped.
func (a *app) extractToken(client *api.Client, secret *api.Secret, unwrap bool) (*api.Secret, bool, error) {
	for i := 0; ; i++ {
		switch {
		case secret == nil:
			return nil, false, errors.New("empty response from auth helper")
		case secret.Auth != nil:
			return secret, false, nil
		case secret.WrapInfo != nil:
			if secret.WrapInfo.WrappedAccessor == "" {
				return nil, false, errors.New("wrapped response does not contain a token")
			}
			if !unwrap {
				return secret, true, nil
			}
			if i > 4 {
				return nil, false, errors.New("too many levels of wrapping")
			}
			client.SetToken(secret.WrapInfo.Token)
			next, err := client.Logical().UnwrapWithContext(a.ctx, "")
			if err != nil {
				return nil, false, err
			}
			secret = next
		default:
			return nil, false, errors.New("no auth or wrapping info in response")
		}
	}
}

// tokenLogin verifies a token with lookup-self and returns it as a login
// response (lookup=false skips the check).
func tokenLogin(a *app, client *api.Client, _ string, cfg map[string]string) (*api.Secret, error) {
	lookup := true
	if v, ok := cfg["lookup"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, usageErrorf("Failed to parse \"lookup\" as boolean: %s", err)
		}
		lookup = b
	}
	token, ok := cfg["token"]
	if !ok {
		var err error
		token, err = a.readSecret("Token (will be hidden): ", a.stderr)
		if err != nil {
			return nil, localError(err, "%s", format.WrapAtLength(
				"An error occurred attempting to ask for a token. Pass the token as an argument, "+
					"or \"-\" to read it from stdin"))
		}
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, usageErrorf("a token must be passed to auth, please view the help for more information")
	}
	if !lookup {
		return &api.Secret{Auth: &api.SecretAuth{ClientToken: token}}, nil
	}
	client.SetToken(token)
	client.SetWrappingLookupFunc(func(string, string) string { return "" })
	secret, err := client.Auth().Token().LookupSelfWithContext(a.ctx)
	if err != nil {
		return nil, fmt.Errorf("error looking up token: %w", err)
	}
	if secret == nil {
		return nil, errors.New("empty response from lookup-self")
	}
	id, err := secret.TokenID()
	if err != nil {
		return nil, fmt.Errorf("error accessing token ID: %w", err)
	}
	accessor, err := secret.TokenAccessor()
	if err != nil {
		return nil, fmt.Errorf("error accessing token accessor: %w", err)
	}
	if _, err := secret.TokenPolicies(); err != nil { // fills secret.Auth
		return nil, fmt.Errorf("error accessing token policies: %w", err)
	}
	metadata, err := secret.TokenMetadata()
	if err != nil {
		return nil, fmt.Errorf("error accessing token metadata: %w", err)
	}
	ttl, err := secret.TokenTTL()
	if err != nil {
		return nil, fmt.Errorf("error converting token TTL: %w", err)
	}
	renewable, err := secret.TokenIsRenewable()
	if err != nil {
		return nil, fmt.Errorf("error checking if token is renewable: %w", err)
	}
	if id == "" {
		id = token
	}
	auth := &api.SecretAuth{
		ClientToken:   id,
		Accessor:      accessor,
		Metadata:      metadata,
		LeaseDuration: int(ttl.Seconds()),
		Renewable:     renewable,
	}
	if secret.Auth != nil {
		auth.Policies = secret.Auth.Policies
		auth.TokenPolicies = secret.Auth.TokenPolicies
		auth.IdentityPolicies = secret.Auth.IdentityPolicies
	}
	return &api.Secret{Auth: auth}, nil
}

// ldapLogin is passwordLogin with Vault's LDAP default for a missing
// username: $LOGNAME, else $USER.
func ldapLogin(a *app, client *api.Client, mount string, cfg map[string]string) (*api.Secret, error) {
	if _, ok := cfg["username"]; !ok {
		for _, name := range []string{"LOGNAME", "USER"} {
			if v, ok := a.env(name); ok && v != "" {
				cfg["username"] = v
				break
			}
		}
		if cfg["username"] == "" {
			return nil, usageErrorf("'username' not supplied and neither 'LOGNAME' nor 'USER' env vars set")
		}
	}
	return passwordLogin(a, client, mount, cfg)
}

// passwordLogin logs in at auth/<mount>/login/<username> (userpass, ldap),
// asking for the password when it isn't given.
func passwordLogin(a *app, client *api.Client, mount string, cfg map[string]string) (*api.Secret, error) {
	username := cfg["username"]
	if username == "" {
		return nil, usageErrorf("'username' must be specified")
	}
	password, ok := cfg["password"]
	if !ok {
		var err error
		password, err = a.readSecret("Password (will be hidden): ", a.stderr)
		if err != nil {
			return nil, localError(err, "An error occurred attempting to ask for a password")
		}
	}
	body := map[string]any{"password": password}
	for k, v := range cfg {
		if k != "username" && k != "password" && k != "mount" {
			body[k] = v
		}
	}
	return client.Logical().WriteWithContext(a.ctx, fmt.Sprintf("auth/%s/login/%s", mount, username), body)
}

// bodyLogin logs in at auth/<mount>/login with the K=V arguments as the
// body (approle: role_id, secret_id; cert: name).
func bodyLogin(a *app, client *api.Client, mount string, cfg map[string]string) (*api.Secret, error) {
	body := map[string]any{}
	for k, v := range cfg {
		if k != "mount" {
			body[k] = v
		}
	}
	return client.Logical().WriteWithContext(a.ctx, "auth/"+mount+"/login", body)
}
