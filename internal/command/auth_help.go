package command

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/strongbox/strongbox/internal/command/format"
)

// authMethodHelp is the login help of each method `login -method` knows,
// as Vault's CLI handlers print it for `auth help`.
var authMethodHelp = map[string]string{
	"token": `Usage: strongbox login TOKEN [CONFIG K=V...]

  The token auth method allows logging in directly with a token. This can be
  a token from the "token create" command or API. There are no configuration
  options for this auth method.

  Authenticate using a token:

      $ strongbox login 96ddf4bc-d217-f3ba-f9bd-017055595017

  Authenticate but do not lookup information about the token:

      $ strongbox login token=96ddf4bc-d217-f3ba-f9bd-017055595017 lookup=false

  This token usually comes from a different source such as the API or via the
  built-in "strongbox token create" command.

Configuration:

  token=<string>
      The token to use for authentication. This is usually provided directly
      via the "strongbox login" command.

  lookup=<bool>
      Whether to look up the token's information: false skips the check.`,
	"userpass": `Usage: strongbox login -method=userpass [CONFIG K=V...]

  The userpass auth method allows users to authenticate using a username and
  password combination. The password is asked for, without echo, when it is
  not given and the terminal allows; otherwise it is read from stdin.

  Authenticate as "sally":

      $ strongbox login -method=userpass username=sally
      Password (will be hidden):

  Authenticate as "bob" with the password given:

      $ strongbox login -method=userpass username=bob password=password

  The same login through the API path:

      $ strongbox write auth/userpass/login/bob password=password

Configuration:

  password=<string>
      Password to use for authentication. If not provided, the CLI will prompt
      for this on stdin.

  username=<string>
      Username to use for authentication.`,
	"ldap": `Usage: strongbox login -method=ldap [CONFIG K=V...]

  The LDAP auth method allows users to authenticate using LDAP or Active
  Directory.

  Authenticate as "sally":

      $ strongbox login -method=ldap username=sally
      Password (will be hidden):

Configuration:

  password=<string>
      LDAP password to use for authentication. If not provided, the CLI will
      prompt for this on stdin.

  username=<string>
      LDAP username to use for authentication. If not provided, $LOGNAME
      or else $USER.`,
	"approle": `Usage: strongbox login -method=approle [CONFIG K=V...]

  The AppRole auth method authenticates machines with a role ID and a secret
  ID. The documented way to log in is a write to the login path:

      $ strongbox write auth/approle/login role_id=... secret_id=...

  "login -method=approle" sends the same body and stores the token.

Configuration:

  role_id=<string>
      The role's ID.

  secret_id=<string>
      A secret ID of the role (when the role binds one).`,
	"cert": `Usage: strongbox login -method=cert [CONFIG K=V...]

  The certificate auth method allows users to authenticate with a client
  certificate passed with the request. The -client-cert and -client-key flags
  are included with the "strongbox login" command, NOT as configuration to the
  auth method.

  Authenticate using a local client certificate:

      $ strongbox login -method=cert -client-cert=cert.pem -client-key=key.pem

Configuration:

  name=<string>
      Certificate role to authenticate against.`,
}

func newAuthHelpCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "help [options] TYPE | PATH",
		Short: "Prints usage for an auth method",
		Long: `Prints usage and help for an auth method.

  - If given a TYPE, this command prints the default help for the
    auth method of that type.

  - If given a PATH, this command prints the help output for the
    auth method enabled at that path. This path must already
    exist.

Each auth method produces its own help output.`,
		Example: `$ strongbox auth help userpass
$ strongbox auth help corp-users/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			// A TYPE first; failing that, a PATH enabled on the server.
			authType := strings.TrimSpace(args[0])
			text, ok := authMethodHelp[authType]
			if !ok {
				client, err := a.apiClient()
				if err != nil {
					return err
				}
				auths, err := client.Sys().ListAuthWithContext(a.ctx)
				if err != nil {
					return apiError(err, "Error listing auth methods")
				}
				authPath := ensureTrailingSlash(sanitizePath(args[0]))
				m, found := auths[authPath]
				if !found {
					a.warn("No auth method available on the server at %q", authPath)
					return exitWith(exitLocal)
				}
				if text, ok = authMethodHelp[m.Type]; !ok {
					a.warn("%s", format.WrapAtLength("No method-specific CLI handler available for auth method \""+m.Type+"\""))
					return exitWith(exitAPI)
				}
			}
			a.info("%s", text)
			return nil
		},
	}
}
