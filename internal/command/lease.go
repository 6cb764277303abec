package command

import (
	"strings"

	"github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"

	"github.com/strongbox/strongbox/internal/command/format"
)

func newLeaseCommand(a *app) *cobra.Command {
	return newGroup("lease", "Interact with leases",
		`Looks up, renews and revokes leases. Every dynamic secret and every token
with a TTL has a lease: an ID of the form <request path>/<random id> that
the server revokes when its TTL runs out. "list sys/leases/lookup/PREFIX"
lists the lease IDs under a prefix.`,
		newLeaseLookupCommand(a),
		newLeaseRenewCommand(a),
		newLeaseRevokeCommand(a),
	)
}

// leaseIDArg is the single lease ID argument of lookup and renew, with
// Vault's messages when it is missing or followed by more.
func leaseIDArg(args []string) (string, error) {
	switch len(args) {
	case 0:
		return "", usageErrorf("Missing ID!")
	case 1:
		return strings.TrimSpace(args[0]), nil
	default:
		return "", usageErrorf("Too many arguments (expected 1, got %d)", len(args))
	}
}

func newLeaseLookupCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "lookup [options] ID",
		Short: "Look up the lease of a secret",
		Long: `Prints what the server knows about a lease: its ID, when it was issued and
last renewed, when it expires, its remaining TTL and whether it is
renewable. ID is the full lease ID.`,
		Example: `$ strongbox lease lookup database/creds/readonly/2f6a614c4aa2a6cf
$ strongbox lease lookup -format=json auth/token/create/8c1f4a0e2b7d
$ strongbox list sys/leases/lookup/auth/token/create`,
		RunE: func(_ *cobra.Command, args []string) error {
			id, err := leaseIDArg(args)
			if err != nil {
				return err
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			secret, err := client.Sys().LookupWithContext(a.ctx, id)
			if err != nil {
				return apiError(err, "error looking up lease id %s", id)
			}
			return a.outputSecret(secret)
		},
	}
}

func newLeaseRenewCommand(a *app) *cobra.Command {
	var increment durationFlag
	cmd := &cobra.Command{
		Use:   "renew [options] ID",
		Short: "Renew the lease of a secret",
		Long: `Extends the lease of a secret so it can be used longer before the server
revokes it; the secret itself does not change. The server grants at most
what the mount's and the system's maximum TTL allow, and refuses a lease
that is not renewable, already revoked, or past its maximum TTL. ID is the
full lease ID.`,
		Example: `$ strongbox lease renew database/creds/readonly/2f6a614c4aa2a6cf
$ strongbox lease renew -increment=1h database/creds/readonly/2f6a614c4aa2a6cf`,
		RunE: func(_ *cobra.Command, args []string) error {
			id, err := leaseIDArg(args)
			if err != nil {
				return err
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			secret, err := client.Sys().RenewWithContext(a.ctx, id, int(increment.d.Seconds()))
			if err != nil {
				return apiError(err, "Error renewing %s", id)
			}
			return a.outputSecret(secret)
		},
	}
	cmd.Flags().Var(&increment, "increment", "Requested extension of the lease (e.g. \"1h\", or seconds); the server may grant less. The default is the lease's own TTL.")
	return cmd
}

func newLeaseRevokeCommand(a *app) *cobra.Command {
	var force, prefix, sync bool
	cmd := &cobra.Command{
		Use:   "revoke [options] ID",
		Short: "Revoke leases and secrets",
		Long: `Revokes a secret by its lease ID, or with -prefix every lease whose ID starts
with ID (for instance all credentials of a role, or every token logged in
through an auth mount).

Without -sync the server queues the revocation and answers at once; it keeps
retrying a revocation that fails, across restarts. With -sync it revokes
before answering, and a failure is reported to the caller, who must retry.

-force (with -prefix) removes the leases even when the secrets engine fails
to revoke the secrets: for recovery, when the credentials were already
removed by hand. It always runs synchronously.`,
		Example: `$ strongbox lease revoke database/creds/readonly/2f6a614c4aa2a6cf
$ strongbox lease revoke -sync database/creds/readonly/2f6a614c4aa2a6cf
$ strongbox lease revoke -prefix database/creds/readonly
$ strongbox lease revoke -prefix auth/userpass/login
$ strongbox lease revoke -force -prefix database/creds`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			if force && !prefix {
				return usageErrorf("Specifying -force requires also specifying -prefix")
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			id := strings.TrimSpace(args[0])
			if force {
				a.warn("%s", format.WrapAtLength("Warning! Force-removing leases can cause Strongbox to become out of sync with secret engines!"))
			}
			err = client.Sys().RevokeWithOptionsWithContext(a.ctx, &api.RevokeOptions{LeaseID: id, Force: force, Prefix: prefix, Sync: sync})
			switch {
			case err != nil && force:
				return apiError(err, "Error force revoking leases with prefix %s", id)
			case err != nil && prefix:
				return apiError(err, "Error revoking leases with prefix %s", id)
			case err != nil:
				return apiError(err, "Error revoking lease %s", id)
			case force:
				a.info("Success! Force revoked any leases with prefix: %s", id)
			case sync && prefix:
				a.info("Success! Revoked any leases with prefix: %s", id)
			case sync:
				a.info("Success! Revoked lease: %s", id)
			default:
				a.info("All revocation operations queued successfully!")
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&force, "force", "f", false, "Delete the leases even if the secrets engine fails to revoke the secrets: for recovery after the secrets were removed by hand. Requires -prefix.")
	fs.BoolVar(&prefix, "prefix", false, "Treat ID as a prefix and revoke every lease under it.")
	fs.BoolVar(&sync, "sync", false, "Revoke before answering; on failure it is up to the caller to retry. The default queues the revocation on the server.")
	return cmd
}
