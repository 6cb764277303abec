package command

import (
	"sort"
	"strings"

	"github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"
)

func newTokenCommand(a *app) *cobra.Command {
	return newGroup("token", "Interact with tokens",
		`Creates, looks up, renews and revokes tokens, and checks their capabilities.`,
		newTokenCreateCommand(a),
		newTokenLookupCommand(a),
		newTokenRenewCommand(a),
		newTokenRevokeCommand(a),
		newTokenCapabilitiesCommand(a),
	)
}

type tokenCreateCmd struct {
	a               *app
	id              string
	displayName     string
	ttl             durationFlag
	explicitMaxTTL  durationFlag
	period          durationFlag
	renewable       bool
	orphan          bool
	noDefaultPolicy bool
	useLimit        int
	policies        []string
	metadata        mapFlag
	role            string
	tokenType       string
	entityAlias     string
}

func newTokenCreateCommand(a *app) *cobra.Command {
	c := &tokenCreateCmd{a: a}
	cmd := &cobra.Command{
		Use:   "create [options]",
		Short: "Create a new token",
		Long: `Creates a token. By default it is a child of the current token, with its
policies (or a subset given with -policy), and is revoked with its parent.
-orphan makes a token without a parent.`,
		Example: `$ strongbox token create
$ strongbox token create -policy=my-policy -policy=other-policy -ttl=1h
$ strongbox token create -period=24h -orphan
$ strongbox token create -field=token -policy=ci -use-limit=5
$ strongbox token create -metadata=user=alice -display-name=alice`,
		RunE: func(cmd *cobra.Command, args []string) error { return c.run(cmd, args) },
	}
	fs := cmd.Flags()
	fs.StringVar(&c.id, "id", "", "Value for the token instead of a generated one (root only).")
	fs.StringVar(&c.displayName, "display-name", "", "Name associated with the token, shown in audit logs.")
	fs.Var(&c.ttl, "ttl", "Initial TTL of the token (e.g. \"1h\"). The default is the role's or system's.")
	fs.Var(&c.explicitMaxTTL, "explicit-max-ttl", "Hard maximum lifetime: the token can't be renewed past it.")
	fs.Var(&c.period, "period", "Make a periodic token: every renewal extends it by this period, without a maximum.")
	fs.BoolVar(&c.renewable, "renewable", true, "Allow the token to be renewed up to its maximum TTL.")
	fs.BoolVar(&c.orphan, "orphan", false, "Create the token with no parent, so it outlives the current token.")
	fs.BoolVar(&c.noDefaultPolicy, "no-default-policy", false, "Do not attach the \"default\" policy.")
	fs.IntVar(&c.useLimit, "use-limit", 0, "Number of uses after which the token is revoked; 0 is unlimited.")
	fs.StringArrayVar(&c.policies, "policy", nil, "Policy to attach to the token. Repeatable or comma-separated.")
	fs.Var(&c.metadata, "metadata", "Metadata as key=value, shown in audit logs. Repeatable.")
	fs.StringVar(&c.role, "role", "", "Create the token through this token role.")
	fs.StringVar(&c.tokenType, "type", "", "Token type: \"service\" or \"batch\".")
	fs.StringVar(&c.entityAlias, "entity-alias", "", "Name of the entity alias to associate the token with (requires -role).")
	return cmd
}

func (c *tokenCreateCmd) run(cmd *cobra.Command, args []string) error {
	a := c.a
	if err := argCount(args, 0, 0); err != nil {
		return err
	}
	fs := cmd.Flags()
	body := map[string]any{}
	set := func(flag, key string, v any) {
		if fs.Changed(flag) {
			body[key] = v
		}
	}
	set("id", "id", c.id)
	set("display-name", "display_name", c.displayName)
	set("ttl", "ttl", c.ttl.raw)
	set("explicit-max-ttl", "explicit_max_ttl", c.explicitMaxTTL.raw)
	set("period", "period", c.period.raw)
	set("renewable", "renewable", c.renewable)
	set("no-default-policy", "no_default_policy", c.noDefaultPolicy)
	set("use-limit", "num_uses", c.useLimit)
	set("type", "type", c.tokenType)
	set("entity-alias", "entity_alias", c.entityAlias)
	if ps := commaList(c.policies); len(ps) > 0 {
		body["policies"] = ps
	}
	if len(c.metadata.m) > 0 {
		body["meta"] = c.metadata.m
	}
	path := "auth/token/create"
	switch {
	case c.role != "":
		path = "auth/token/create/" + c.role
	case c.orphan:
		path = "auth/token/create-orphan"
	}
	client, err := a.apiClient()
	if err != nil {
		return err
	}
	secret, err := client.Logical().WriteWithContext(a.ctx, path, body)
	if err != nil {
		return apiError(err, "Error creating token")
	}
	return a.outputSecret(secret)
}

func newTokenLookupCommand(a *app) *cobra.Command {
	var accessor, self bool
	cmd := &cobra.Command{
		Use:   "lookup [options] [TOKEN | ACCESSOR]",
		Short: "Display information about a token",
		Long: `Prints information about a token: its policies, TTL, metadata. Without an
argument (or with -self) the token the CLI uses is looked up; with -accessor
the argument is a token accessor.`,
		Example: `$ strongbox token lookup
$ strongbox token lookup s.3Y6e0M7i2Xq9LsZ4tN1bC8dH
$ strongbox token lookup -accessor 9793c9b3-e04a-46f3-e7b8-748d7da248da
$ strongbox token lookup -format=json -self`,
		RunE: func(_ *cobra.Command, args []string) error {
			switch {
			case accessor && len(args) < 1:
				return usageErrorf("Not enough arguments with -accessor (expected 1, got %d)", len(args))
			case accessor && len(args) > 1:
				return usageErrorf("Too many arguments with -accessor (expected 1, got %d)", len(args))
			case self && len(args) > 0:
				return usageErrorf("Too many arguments with -self (expected 0, got %d)", len(args))
			case len(args) > 1:
				return usageErrorf("Too many arguments (expected 0-1, got %d)", len(args))
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			var secret *api.Secret
			switch {
			case accessor:
				secret, err = client.Auth().Token().LookupAccessorWithContext(a.ctx, strings.TrimSpace(args[0]))
			case len(args) == 0:
				secret, err = client.Auth().Token().LookupSelfWithContext(a.ctx)
			default:
				secret, err = client.Auth().Token().LookupWithContext(a.ctx, strings.TrimSpace(args[0]))
			}
			if err != nil {
				return apiError(err, "Error looking up token")
			}
			if secret == nil {
				return apiErrorf("Error looking up token: no token found")
			}
			return a.outputSecret(secret)
		},
	}
	cmd.Flags().BoolVar(&accessor, "accessor", false, "Treat the argument as an accessor instead of a token.")
	cmd.Flags().BoolVar(&self, "self", false, "Look up the token the CLI uses (the default without an argument).")
	return cmd
}

func newTokenRenewCommand(a *app) *cobra.Command {
	var accessor bool
	var increment durationFlag
	cmd := &cobra.Command{
		Use:   "renew [options] [TOKEN]",
		Short: "Renew a token lease",
		Long: `Extends a token's TTL, up to its maximum. Without an argument the token the
CLI uses is renewed.`,
		Example: `$ strongbox token renew
$ strongbox token renew -increment=30m s.3Y6e0M7i2Xq9LsZ4tN1bC8dH
$ strongbox token renew -accessor 9793c9b3-e04a-46f3-e7b8-748d7da248da`,
		RunE: func(_ *cobra.Command, args []string) error {
			switch {
			case accessor && len(args) != 1:
				return usageErrorf("Expected one argument with -accessor (got %d)", len(args))
			case len(args) > 1:
				return usageErrorf("Too many arguments (expected 0-1, got %d)", len(args))
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			inc := int(increment.d.Seconds())
			var secret *api.Secret
			switch {
			case accessor:
				secret, err = client.Auth().Token().RenewAccessorWithContext(a.ctx, strings.TrimSpace(args[0]), inc)
			case len(args) == 0:
				secret, err = client.Auth().Token().RenewSelfWithContext(a.ctx, inc)
			default:
				secret, err = client.Auth().Token().RenewWithContext(a.ctx, strings.TrimSpace(args[0]), inc)
			}
			if err != nil {
				return apiError(err, "Error renewing token")
			}
			return a.outputSecret(secret)
		},
	}
	cmd.Flags().BoolVar(&accessor, "accessor", false, "Treat the argument as an accessor instead of a token.")
	cmd.Flags().VarP(&increment, "increment", "i", "Requested extension of the TTL (e.g. \"30m\"); the server may grant less.")
	return cmd
}

func newTokenRevokeCommand(a *app) *cobra.Command {
	var accessor, self bool
	var mode string
	cmd := &cobra.Command{
		Use:   "revoke [options] [TOKEN | ACCESSOR]",
		Short: "Revoke a token and its children",
		Long: `Revokes a token and, by default, all tokens created from it and their
leases. -mode=orphan revokes only the token, leaving its children as orphans;
-mode=path revokes every token created under the path given.`,
		Example: `$ strongbox token revoke s.3Y6e0M7i2Xq9LsZ4tN1bC8dH
$ strongbox token revoke -self
$ strongbox token revoke -accessor 9793c9b3-e04a-46f3-e7b8-748d7da248da
$ strongbox token revoke -mode=orphan s.3Y6e0M7i2Xq9LsZ4tN1bC8dH
$ strongbox token revoke -mode=path auth/userpass/`,
		RunE: func(_ *cobra.Command, args []string) error {
			switch mode {
			case "", "orphan", "path":
			default:
				return usageErrorf("Invalid -mode %q: must be \"orphan\" or \"path\"", mode)
			}
			switch {
			case self && accessor:
				return usageErrorf("Cannot use -self with -accessor")
			case self && mode != "":
				return usageErrorf("Cannot use -self with -mode")
			case accessor && mode != "":
				return usageErrorf("Cannot use -mode with -accessor")
			case self && len(args) > 0:
				return usageErrorf("Too many arguments with -self (expected 0, got %d)", len(args))
			case !self && len(args) < 1:
				return usageErrorf("Not enough arguments (expected 1, got %d)", len(args))
			case !self && len(args) > 1:
				return usageErrorf("Too many arguments (expected 1, got %d)", len(args))
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			tokenAuth := client.Auth().Token()
			switch {
			case self:
				err = tokenAuth.RevokeSelfWithContext(a.ctx, "")
			case accessor:
				err = tokenAuth.RevokeAccessorWithContext(a.ctx, strings.TrimSpace(args[0]))
			case mode == "path":
				err = client.Sys().RevokePrefixWithContext(a.ctx, sanitizePath(args[0]))
			case mode == "orphan":
				err = tokenAuth.RevokeOrphanWithContext(a.ctx, strings.TrimSpace(args[0]))
			default:
				err = tokenAuth.RevokeTreeWithContext(a.ctx, strings.TrimSpace(args[0]))
			}
			if err != nil {
				return apiError(err, "Error revoking token")
			}
			a.info("Success! Revoked token (if it existed)")
			return nil
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&accessor, "accessor", false, "Treat the argument as an accessor instead of a token.")
	fs.BoolVar(&self, "self", false, "Revoke the token the CLI uses.")
	fs.StringVar(&mode, "mode", "", "\"orphan\" revokes only the token; \"path\" revokes all tokens created under the path. The default revokes the token and its children.")
	return cmd
}

func newTokenCapabilitiesCommand(a *app) *cobra.Command {
	var accessor bool
	cmd := &cobra.Command{
		Use:   "capabilities [options] [TOKEN | ACCESSOR] PATH",
		Short: "Print capabilities of a token on a path",
		Long: `Prints what a token may do on PATH (read, create, update, delete, list, sudo,
deny, root). With only PATH, the token the CLI uses is checked.`,
		Example: `$ strongbox token capabilities secret/data/foo
$ strongbox token capabilities s.3Y6e0M7i2Xq9LsZ4tN1bC8dH secret/data/foo
$ strongbox token capabilities -accessor 9793c9b3-e04a-46f3-e7b8-748d7da248da secret/data/foo`,
		RunE: func(_ *cobra.Command, args []string) error {
			if accessor && len(args) != 2 {
				return usageErrorf("Expected two arguments with -accessor (got %d)", len(args))
			}
			if err := argCount(args, 1, 2); err != nil {
				return err
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			var caps []string
			switch {
			case accessor:
				caps, err = client.Sys().CapabilitiesAccessorWithContext(a.ctx, args[0], args[1])
			case len(args) == 1:
				caps, err = client.Sys().CapabilitiesSelfWithContext(a.ctx, args[0])
			default:
				caps, err = client.Sys().CapabilitiesWithContext(a.ctx, args[0], args[1])
			}
			if err != nil {
				return apiError(err, "Error listing capabilities")
			}
			if caps == nil {
				caps = []string{}
			}
			if !a.isTable() {
				return a.outputData(caps)
			}
			sort.Strings(caps)
			a.info("%s", strings.Join(caps, ", "))
			return nil
		},
	}
	cmd.Flags().BoolVar(&accessor, "accessor", false, "Treat the first argument as an accessor instead of a token.")
	return cmd
}
