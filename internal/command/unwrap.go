package command

import (
	"strings"

	"github.com/spf13/cobra"
)

func newUnwrapCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "unwrap [options] [TOKEN]",
		Short: "Unwrap a wrapped secret",
		Long: `Unwraps a response wrapped in a wrapping token (by -wrap-ttl, VAULT_WRAP_TTL
or sys/wrapping/wrap) and prints it as "read" would have printed the
original. A wrapping token works once: a second unwrap fails.

With TOKEN, the CLI's own token authenticates the request and TOKEN is
unwrapped; without it, the CLI's token (VAULT_TOKEN or the token helper) is
itself the wrapping token.`,
		Example: `$ strongbox unwrap hvs.CAESIHyb3dzd1pHZGVmaGlqa2xtbm9wcXJzdHV2
$ VAULT_TOKEN=hvs.CAESIHyb3dzd1pHZGVmaGlqa2xtbm9wcXJzdHV2 strongbox unwrap
$ strongbox unwrap -field=password hvs.CAESIHyb3dzd1pHZGVmaGlqa2xtbm9wcXJzdHV2
$ strongbox kv get -wrap-ttl=5m -field=wrapping_token secret/creds | xargs strongbox unwrap`,
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErrorf("Too many arguments (expected 0-1, got %d)", len(args))
			}
			token := ""
			if len(args) == 1 {
				token = strings.TrimSpace(args[0])
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			secret, err := client.Logical().UnwrapWithContext(a.ctx, token)
			if err != nil {
				return apiError(err, "Error unwrapping")
			}
			if secret == nil {
				return apiErrorf("Could not find wrapped response")
			}
			if a.g.field != "" {
				return a.outputField(secret, a.g.field)
			}
			// A wrapped LIST response unwraps to its keys: print them as
			// "list" would.
			if _, ok := secret.Data["keys"].([]any); ok {
				return outputError(a.printer().List(secret))
			}
			return a.outputSecret(secret)
		},
	}
}
