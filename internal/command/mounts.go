package command

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/strongbox/strongbox/internal/command/format"
)

// mountFlags are the options shared by secrets/auth enable and tune.
type mountFlags struct {
	description         string
	defaultLeaseTTL     durationFlag
	maxLeaseTTL         durationFlag
	auditNonHMACRequest []string
	auditNonHMACResp    []string
	listingVisibility   string
	passthroughHeaders  []string
	allowedRespHeaders  []string
	pluginVersion       string
	tokenType           string
	options             mapFlag
	// auth tune only: user lockout
	lockoutThreshold uint
	lockoutDuration  durationFlag
	lockoutReset     durationFlag
	lockoutDisable   bool
	version          int
	// enable only
	path                  string
	local                 bool
	sealWrap              bool
	externalEntropyAccess bool
	forceNoCache          bool
}

// register adds the flags; enable selects the enable-only ones, auth the
// auth-only ones.
func (m *mountFlags) register(fs *pflag.FlagSet, enable, auth bool) {
	thing := mountNoun(auth)
	fs.StringVar(&m.description, "description", "", "Human-friendly description of the "+thing+".")
	fs.Var(&m.defaultLeaseTTL, "default-lease-ttl", "Default lease TTL for this "+thing+". The default is the system default.")
	fs.Var(&m.maxLeaseTTL, "max-lease-ttl", "Maximum lease TTL for this "+thing+". The default is the system default.")
	fs.StringArrayVar(&m.auditNonHMACRequest, "audit-non-hmac-request-keys", nil, "Request keys not HMAC'ed by audit devices. Repeatable.")
	fs.StringArrayVar(&m.auditNonHMACResp, "audit-non-hmac-response-keys", nil, "Response keys not HMAC'ed by audit devices. Repeatable.")
	fs.StringVar(&m.listingVisibility, "listing-visibility", "", "Whether to show this mount in the UI-specific listing endpoint: \"unauth\" or \"hidden\".")
	fs.StringArrayVar(&m.passthroughHeaders, "passthrough-request-headers", nil, "Request headers passed through to the plugin. Repeatable.")
	fs.StringArrayVar(&m.allowedRespHeaders, "allowed-response-headers", nil, "Response headers the plugin may set. Repeatable.")
	fs.StringVar(&m.pluginVersion, "plugin-version", "", "The plugin version to use.")
	fs.Var(&m.options, "options", "Engine-specific option as key=value. Repeatable.")
	if auth {
		fs.StringVar(&m.tokenType, "token-type", "", "Type of token this auth method issues: service, batch, default-service or default-batch.")
	} else {
		fs.IntVar(&m.version, "version", 0, "The KV engine version (1 or 2); sets the \"version\" option.")
	}
	if auth && !enable {
		fs.UintVar(&m.lockoutThreshold, "user-lockout-threshold", 0, "Failed logins after which a user is locked out.")
		fs.Var(&m.lockoutDuration, "user-lockout-duration", "How long a locked-out user stays locked out.")
		fs.Var(&m.lockoutReset, "user-lockout-counter-reset-duration", "Time without a failed login after which the failure count restarts.")
		fs.BoolVar(&m.lockoutDisable, "user-lockout-disable", false, "Turn user lockout off for this auth method.")
	}
	if enable {
		fs.StringVar(&m.path, "path", "", "Place where the "+thing+" is mounted. The default is its type.")
		fs.BoolVar(&m.local, "local", false, "Mark the mount local-only: not replicated.")
		fs.BoolVar(&m.sealWrap, "seal-wrap", false, "Enable seal wrapping of critical values.")
		fs.BoolVar(&m.externalEntropyAccess, "external-entropy-access", false, "Give the mount access to external entropy.")
		if !auth {
			fs.BoolVar(&m.forceNoCache, "force-no-cache", false, "Force the engine to disable caching.")
		}
	}
}

// config is the "config" object of an enable or tune request: the options
// the user set, nothing else.
func (m *mountFlags) config(fs *pflag.FlagSet) map[string]any {
	cfg := map[string]any{}
	if fs.Changed("default-lease-ttl") {
		cfg["default_lease_ttl"] = m.defaultLeaseTTL.raw
	}
	if fs.Changed("max-lease-ttl") {
		cfg["max_lease_ttl"] = m.maxLeaseTTL.raw
	}
	if fs.Changed("audit-non-hmac-request-keys") {
		cfg["audit_non_hmac_request_keys"] = commaList(m.auditNonHMACRequest)
	}
	if fs.Changed("audit-non-hmac-response-keys") {
		cfg["audit_non_hmac_response_keys"] = commaList(m.auditNonHMACResp)
	}
	if fs.Changed("listing-visibility") {
		cfg["listing_visibility"] = m.listingVisibility
	}
	if fs.Changed("passthrough-request-headers") {
		cfg["passthrough_request_headers"] = commaList(m.passthroughHeaders)
	}
	if fs.Changed("allowed-response-headers") {
		cfg["allowed_response_headers"] = commaList(m.allowedRespHeaders)
	}
	if fs.Changed("token-type") {
		cfg["token_type"] = m.tokenType
	}
	if fs.Changed("force-no-cache") {
		cfg["force_no_cache"] = m.forceNoCache
	}
	lockout := map[string]any{}
	if fs.Changed("user-lockout-threshold") {
		lockout["lockout_threshold"] = strconv.FormatUint(uint64(m.lockoutThreshold), 10)
	}
	if fs.Changed("user-lockout-duration") {
		lockout["lockout_duration"] = m.lockoutDuration.raw
	}
	if fs.Changed("user-lockout-counter-reset-duration") {
		lockout["lockout_counter_reset_duration"] = m.lockoutReset.raw
	}
	if fs.Changed("user-lockout-disable") {
		lockout["lockout_disable"] = m.lockoutDisable
	}
	if len(lockout) > 0 {
		cfg["user_lockout_config"] = lockout
	}
	return cfg
}

// enableBody is the body of an enable request for a mount of type typ:
// the config and the enable-only settings the user set, and opts as its
// "options" unless nil.
func (m *mountFlags) enableBody(fs *pflag.FlagSet, typ string, opts map[string]string) map[string]any {
	body := map[string]any{
		"type":        typ,
		"description": m.description,
		"config":      m.config(fs),
	}
	if fs.Changed("local") {
		body["local"] = m.local
	}
	if fs.Changed("seal-wrap") {
		body["seal_wrap"] = m.sealWrap
	}
	if fs.Changed("external-entropy-access") {
		body["external_entropy_access"] = m.externalEntropyAccess
	}
	if fs.Changed("plugin-version") {
		body["plugin_version"] = m.pluginVersion
	}
	if opts != nil {
		body["options"] = opts
	}
	return body
}

// optionsMap is -options plus -version, or nil when neither was given.
func (m *mountFlags) optionsMap() map[string]string {
	opts := map[string]string{}
	for k, v := range m.options.m {
		opts[k] = v
	}
	if m.version > 0 {
		opts["version"] = strconv.Itoa(m.version)
	}
	if len(opts) == 0 {
		return nil
	}
	return opts
}

// mountNoun is what the auth (auth true) or secrets commands manage, as
// their messages name it.
func mountNoun(auth bool) string {
	if auth {
		return "auth method"
	}
	return "secrets engine"
}

// mountAPIPath is the API path of the auth method or secrets engine
// mounted at p: sys/auth/<p> or sys/mounts/<p>.
func mountAPIPath(auth bool, p string) string {
	prefix := "sys/mounts/"
	if auth {
		prefix = "sys/auth/"
	}
	return prefix + strings.TrimSuffix(p, "/")
}

// newMountDisableCommand completes cmd, its texts set, as "auth disable" or
// "secrets disable".
func newMountDisableCommand(a *app, auth bool, cmd *cobra.Command) *cobra.Command {
	cmd.RunE = func(_ *cobra.Command, args []string) error {
		if err := argCount(args, 1, 1); err != nil {
			return err
		}
		p := ensureTrailingSlash(sanitizePath(args[0]))
		client, err := a.apiClient()
		if err != nil {
			return err
		}
		disable := client.Sys().UnmountWithContext
		if auth {
			disable = client.Sys().DisableAuthWithContext
		}
		if err := disable(a.ctx, p); err != nil {
			return apiError(err, "Error disabling %s at %s", mountNoun(auth), p)
		}
		a.info("Success! Disabled the %s (if it existed) at: %s", mountNoun(auth), p)
		return nil
	}
	return cmd
}

// newMountListCommand completes cmd, its texts set, as "auth list" or
// "secrets list".
func newMountListCommand(a *app, auth bool, cmd *cobra.Command) *cobra.Command {
	var detailed bool
	cmd.RunE = func(_ *cobra.Command, args []string) error {
		if err := argCount(args, 0, 0); err != nil {
			return err
		}
		client, err := a.apiClient()
		if err != nil {
			return err
		}
		list, failed := client.Sys().ListMountsWithContext, "Error listing secrets engines"
		if auth {
			list, failed = client.Sys().ListAuthWithContext, "Error listing enabled authentications"
		}
		mounts, err := list(a.ctx)
		if err != nil {
			return apiError(err, "%s", failed)
		}
		return a.printMounts(mounts, detailed, auth)
	}
	cmd.Flags().BoolVar(&detailed, "detailed", false, "Print more information about each "+mountNoun(auth)+".")
	return cmd
}

// newMountTuneCommand completes cmd, its texts set, as "auth tune" or
// "secrets tune": only the options given change.
func newMountTuneCommand(a *app, auth bool, cmd *cobra.Command) *cobra.Command {
	m := &mountFlags{}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := argCount(args, 1, 1); err != nil {
			return err
		}
		p := ensureTrailingSlash(sanitizePath(args[0]))
		fs := cmd.Flags()
		body := m.config(fs)
		if fs.Changed("description") {
			body["description"] = m.description
		}
		if fs.Changed("plugin-version") {
			body["plugin_version"] = m.pluginVersion
		}
		if opts := m.optionsMap(); opts != nil {
			body["options"] = opts
		}
		client, err := a.apiClient()
		if err != nil {
			return err
		}
		if _, err := client.Logical().WriteWithContext(a.ctx, mountAPIPath(auth, p)+"/tune", body); err != nil {
			return apiError(err, "Error tuning %s %s", mountNoun(auth), p)
		}
		a.info("Success! Tuned the %s at: %s", mountNoun(auth), p)
		return nil
	}
	m.register(cmd.Flags(), false, auth)
	return cmd
}

// mountTTL is how `list -detailed` shows a mount's TTL.
func mountTTL(typ string, ttl int) string {
	switch {
	case typ == "system", typ == "cubbyhole":
		return ""
	case ttl != 0:
		return strconv.Itoa(ttl)
	default:
		return "system"
	}
}

func sortedMountPaths(m map[string]*api.MountOutput) []string {
	paths := make([]string, 0, len(m))
	for p := range m {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

// mountRows are the rows of `secrets list` / `auth list`.
func mountRows(mounts map[string]*api.MountOutput, detailed, auth bool) [][]string {
	var rows [][]string
	switch {
	case !detailed && auth:
		rows = append(rows, []string{"Path", "Type", "Accessor", "Description", "Version"})
	case !detailed:
		rows = append(rows, []string{"Path", "Type", "Accessor", "Description"})
	case auth:
		rows = append(rows, []string{"Path", "Plugin", "Accessor", "Default TTL", "Max TTL", "Token Type",
			"Replication", "Seal Wrap", "External Entropy Access", "Options", "Description", "UUID",
			"Version", "Running Version", "Running SHA256", "Deprecation Status"})
	default:
		rows = append(rows, []string{"Path", "Plugin", "Accessor", "Default TTL", "Max TTL", "Force No Cache",
			"Replication", "Seal Wrap", "External Entropy Access", "Options", "Description", "UUID",
			"Version", "Running Version", "Running SHA256", "Deprecation Status"})
	}
	for _, p := range sortedMountPaths(mounts) {
		m := mounts[p]
		if !detailed {
			row := []string{p, m.Type, m.Accessor, m.Description}
			if auth {
				row = append(row, m.PluginVersion)
			}
			rows = append(rows, row)
			continue
		}
		replication := "replicated"
		if m.Local {
			replication = "local"
		}
		plugin := m.Type
		if m.Config.PluginName != "" {
			plugin = m.Config.PluginName
		}
		opts := ""
		if len(m.Options) > 0 {
			opts = fmt.Sprint(m.Options)
		}
		row := []string{p, plugin, m.Accessor,
			mountTTL(m.Type, m.Config.DefaultLeaseTTL), mountTTL(m.Type, m.Config.MaxLeaseTTL)}
		if auth {
			row = append(row, m.Config.TokenType)
		} else {
			row = append(row, fmt.Sprint(m.Config.ForceNoCache))
		}
		row = append(row, replication, fmt.Sprint(m.SealWrap), fmt.Sprint(m.ExternalEntropyAccess), opts,
			m.Description, m.UUID, m.PluginVersion, m.RunningVersion, m.RunningSha256, m.DeprecationStatus)
		rows = append(rows, row)
	}
	return rows
}

// printMounts prints a mount table or, in JSON/YAML, the mounts map.
func (a *app) printMounts(mounts map[string]*api.MountOutput, detailed, auth bool) error {
	if !a.isTable() {
		return a.outputData(mounts)
	}
	a.info("%s", format.Table(mountRows(mounts, detailed, auth)))
	return nil
}
