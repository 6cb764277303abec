package command

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"

	"github.com/strongbox/strongbox/internal/command/format"
)

// raftAutopilotConfigPath is the endpoint set-config writes.
const raftAutopilotConfigPath = "sys/storage/raft/autopilot/configuration"

// formatPretty is the autopilot state's own human format (Vault's
// "pretty"): the state nests too deeply for a Key/Value table.
const formatPretty = "pretty"

func newOperatorRaftAutopilotCommand(a *app) *cobra.Command {
	return newGroup("autopilot", "Manage the autopilot subsystem of the Raft storage",
		`Groups subcommands for the autopilot subsystem of the integrated Raft storage:
show the cluster's state as autopilot sees it, read and change autopilot's
configuration (dead server cleanup, server stabilization, health thresholds,
automated upgrades).`,
		newOperatorRaftAutopilotStateCommand(a),
		newOperatorRaftAutopilotGetConfigCommand(a),
		newOperatorRaftAutopilotSetConfigCommand(a),
	)
}

// drClient is the API client, authenticated with -dr-token when given.
func drClient(a *app, drToken string) (*api.Client, error) {
	client, err := a.apiClient()
	if err != nil {
		return nil, err
	}
	if drToken != "" {
		client.SetToken(drToken)
	}
	return client, nil
}

func newOperatorRaftAutopilotStateCommand(a *app) *cobra.Command {
	var drToken string
	cmd := &cobra.Command{
		Use:   "state [options]",
		Short: "Displays the state of the raft cluster under integrated storage as seen by autopilot",
		Long: `Displays the state of the Raft cluster as autopilot sees it: overall health and
failure tolerance, the leader and voters, each server's health, last contact,
term, index, status and node type, redundancy zones and the progress of an
automated upgrade. The default format is "pretty"; -format=json prints the
whole state.`,
		Example: `$ strongbox operator raft autopilot state
$ strongbox operator raft autopilot state -format=json`,
		// The state has its own default format, "pretty", which the other
		// commands do not know: resolve the global options here.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.g.resolve(cmd.Flags(), a.env); err != nil {
				return err
			}
			if a.g.format != formatPretty && !format.Valid(a.g.format) {
				return usageErrorf("Invalid output format: %s", a.g.format)
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 0, 0); err != nil {
				return err
			}
			client, err := drClient(a, drToken)
			if err != nil {
				return err
			}
			state, err := client.Sys().RaftAutopilotStateWithContext(a.ctx)
			if err != nil {
				return apiError(err, "Error checking autopilot state")
			}
			if state == nil {
				return nil
			}
			if a.g.field != "" {
				return a.outputField(stateFields(state), a.g.field)
			}
			if a.isTable() || a.g.format == formatPretty {
				fmt.Fprint(a.stdout, prettyAutopilotState(state))
				return nil
			}
			return a.outputData(state)
		},
	}
	cmd.Flags().StringVar(&drToken, "dr-token", "", "DR operation token used to authorize this request (if a DR secondary node).")
	return cmd
}

// stateFields are the state's top-level fields for -field.
func stateFields(s *api.AutopilotState) map[string]any {
	return map[string]any{
		"healthy": s.Healthy, "failure_tolerance": s.FailureTolerance, "leader": s.Leader,
		"voters": s.Voters, "non_voters": s.NonVoters,
		"optimistic_failure_tolerance": s.OptimisticFailureTolerance,
	}
}

// prettyAutopilotState lays the state out as Vault's pretty format does.
func prettyAutopilotState(s *api.AutopilotState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-33s%t\n", "Healthy:", s.Healthy)
	fmt.Fprintf(&b, "%-33s%d\n", "Failure Tolerance:", s.FailureTolerance)
	fmt.Fprintf(&b, "%-33s%s\n", "Leader:", s.Leader)
	b.WriteString("Voters:\n")
	for _, v := range s.Voters {
		fmt.Fprintf(&b, "   %s\n", v)
	}
	if len(s.NonVoters) > 0 {
		b.WriteString("Non Voters:\n")
		for _, v := range s.NonVoters {
			fmt.Fprintf(&b, "   %s\n", v)
		}
	}
	if s.OptimisticFailureTolerance > 0 {
		fmt.Fprintf(&b, "%-33s%d\n", "Optimistic Failure Tolerance:", s.OptimisticFailureTolerance)
	}
	b.WriteString("Servers:\n")
	ids := make([]string, 0, len(s.Servers))
	for id := range s.Servers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		srv := s.Servers[id]
		fmt.Fprintf(&b, "   %s\n", srv.ID)
		row := func(k, v string) { fmt.Fprintf(&b, "      %-19s%s\n", k+":", v) }
		row("Name", srv.Name)
		row("Address", srv.Address)
		row("Status", srv.Status)
		row("Node Status", srv.NodeStatus)
		row("Healthy", fmt.Sprint(srv.Healthy))
		row("Last Contact", srv.LastContact)
		row("Last Term", fmt.Sprint(srv.LastTerm))
		row("Last Index", fmt.Sprint(srv.LastIndex))
		row("Version", srv.Version)
		if srv.UpgradeVersion != "" {
			row("Upgrade Version", srv.UpgradeVersion)
		}
		if srv.RedundancyZone != "" {
			row("Redundancy Zone", srv.RedundancyZone)
		}
		if srv.NodeType != "" {
			row("Node Type", srv.NodeType)
		}
	}
	if len(s.RedundancyZones) > 0 {
		b.WriteString("Redundancy Zones:\n")
		for _, name := range sortedKeys(s.RedundancyZones) {
			z := s.RedundancyZones[name]
			servers, voters := append([]string(nil), z.Servers...), append([]string(nil), z.Voters...)
			sort.Strings(servers)
			sort.Strings(voters)
			fmt.Fprintf(&b, "   %s\n", name)
			fmt.Fprintf(&b, "      Servers: %s\n", strings.Join(servers, ", "))
			fmt.Fprintf(&b, "      Voters: %s\n", strings.Join(voters, ", "))
			fmt.Fprintf(&b, "      Failure Tolerance: %d\n", z.FailureTolerance)
		}
	}
	if u := s.Upgrade; u != nil {
		b.WriteString("Upgrade Info:\n")
		fmt.Fprintf(&b, "   Status: %s\n", u.Status)
		fmt.Fprintf(&b, "   Target Version: %s\n", u.TargetVersion)
		fmt.Fprintf(&b, "   Target Version Voters: %s\n", strings.Join(u.TargetVersionVoters, ", "))
		fmt.Fprintf(&b, "   Target Version Non-Voters: %s\n", strings.Join(u.TargetVersionNonVoters, ", "))
		fmt.Fprintf(&b, "   Other Version Voters: %s\n", strings.Join(u.OtherVersionVoters, ", "))
		fmt.Fprintf(&b, "   Other Version Non-Voters: %s\n", strings.Join(u.OtherVersionNonVoters, ", "))
		if len(u.RedundancyZones) > 0 {
			b.WriteString("   Redundancy Zones:\n")
			for _, name := range sortedKeys(u.RedundancyZones) {
				z := u.RedundancyZones[name]
				fmt.Fprintf(&b, "      %s\n", name)
				fmt.Fprintf(&b, "         Target Version Voters: %s\n", strings.Join(z.TargetVersionVoters, ", "))
				fmt.Fprintf(&b, "         Target Version Non-Voters: %s\n", strings.Join(z.TargetVersionNonVoters, ", "))
				fmt.Fprintf(&b, "         Other Version Voters: %s\n", strings.Join(z.OtherVersionVoters, ", "))
				fmt.Fprintf(&b, "         Other Version Non-Voters: %s\n", strings.Join(z.OtherVersionNonVoters, ", "))
			}
		}
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func newOperatorRaftAutopilotGetConfigCommand(a *app) *cobra.Command {
	var drToken string
	cmd := &cobra.Command{
		Use:   "get-config [options]",
		Short: "Returns the configuration of the autopilot subsystem under integrated storage",
		Long: `Returns autopilot's configuration: dead server cleanup, the health and
dead server thresholds, min quorum, server stabilization time and whether
automated upgrades are disabled.`,
		Example: `$ strongbox operator raft autopilot get-config
$ strongbox operator raft autopilot get-config -format=json`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 0, 0); err != nil {
				return err
			}
			client, err := drClient(a, drToken)
			if err != nil {
				return err
			}
			conf, err := client.Sys().RaftAutopilotConfigurationWithContext(a.ctx)
			if err != nil {
				return apiError(err, "Error reading the autopilot configuration")
			}
			if conf == nil {
				return nil
			}
			if a.g.field != "" {
				return a.outputField(map[string]any{
					"cleanup_dead_servers": conf.CleanupDeadServers, "last_contact_threshold": conf.LastContactThreshold.String(),
					"dead_server_last_contact_threshold": conf.DeadServerLastContactThreshold.String(),
					"max_trailing_logs":                  conf.MaxTrailingLogs, "min_quorum": conf.MinQuorum,
					"server_stabilization_time": conf.ServerStabilizationTime.String(),
					"disable_upgrade_migration": conf.DisableUpgradeMigration,
				}, a.g.field)
			}
			if !a.isTable() {
				return a.outputData(conf)
			}
			a.info("%s", format.Table([][]string{
				{"Key", "Value"},
				{"Cleanup Dead Servers", fmt.Sprint(conf.CleanupDeadServers)},
				{"Last Contact Threshold", conf.LastContactThreshold.String()},
				{"Dead Server Last Contact Threshold", conf.DeadServerLastContactThreshold.String()},
				{"Server Stabilization Time", conf.ServerStabilizationTime.String()},
				{"Min Quorum", fmt.Sprint(conf.MinQuorum)},
				{"Max Trailing Logs", fmt.Sprint(conf.MaxTrailingLogs)},
				{"Disable Upgrade Migration", fmt.Sprint(conf.DisableUpgradeMigration)},
			}))
			return nil
		},
	}
	cmd.Flags().StringVar(&drToken, "dr-token", "", "DR operation token used to authorize this request (if a DR secondary node).")
	return cmd
}

func newOperatorRaftAutopilotSetConfigCommand(a *app) *cobra.Command {
	var (
		cleanup, disableUpgrade              bool
		lastContact, deadContact, stabilized durationFlag
		maxTrailing                          uint64
		minQuorum                            uint
		drToken                              string
	)
	cmd := &cobra.Command{
		Use:   "set-config [options]",
		Short: "Modify the configuration of the autopilot subsystem under integrated storage",
		Long: `Changes autopilot's configuration. Only the options given are changed; the
others keep their current values. Dead server cleanup requires -min-quorum of
at least 3.`,
		Example: `$ strongbox operator raft autopilot set-config -server-stabilization-time=30s
$ strongbox operator raft autopilot set-config \
    -cleanup-dead-servers=true -min-quorum=3 -dead-server-last-contact-threshold=1h`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := argCount(args, 0, 0); err != nil {
				return err
			}
			data := map[string]any{}
			fs := cmd.Flags()
			if fs.Changed("cleanup-dead-servers") {
				data["cleanup_dead_servers"] = cleanup
			}
			if maxTrailing > 0 {
				data["max_trailing_logs"] = maxTrailing
			}
			if minQuorum > 0 {
				data["min_quorum"] = minQuorum
			}
			for name, d := range map[string]durationFlag{
				"last_contact_threshold": lastContact, "dead_server_last_contact_threshold": deadContact,
				"server_stabilization_time": stabilized,
			} {
				if d.d > 0 {
					data[name] = d.d.String()
				}
			}
			if fs.Changed("disable-upgrade-migration") {
				data["disable_upgrade_migration"] = disableUpgrade
			}
			if drToken != "" {
				data["dr_operation_token"] = drToken
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			secret, err := client.Logical().WriteWithContext(a.ctx, raftAutopilotConfigPath, data)
			if err != nil {
				return apiError(err, "Error setting the autopilot configuration")
			}
			if secret == nil {
				return nil
			}
			return a.outputSecret(secret)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&cleanup, "cleanup-dead-servers", false, "Controls whether to remove dead servers from the Raft peer list periodically or when a new server joins.")
	f.Var(&lastContact, "last-contact-threshold", "Limit on the amount of time a server can go without leader contact before being considered unhealthy.")
	f.Var(&deadContact, "dead-server-last-contact-threshold", "Limit on the amount of time a server can go without leader contact before being considered failed. This takes effect only when cleanup_dead_servers is set.")
	f.Uint64Var(&maxTrailing, "max-trailing-logs", 0, "Amount of entries in the Raft Log that a server can be behind before being considered unhealthy.")
	f.UintVar(&minQuorum, "min-quorum", 0, "Minimum number of servers allowed in a cluster before autopilot can prune dead servers. This should at least be 3.")
	f.Var(&stabilized, "server-stabilization-time", "Minimum amount of time a server must be in a stable, healthy state before it can be added to the cluster.")
	f.BoolVar(&disableUpgrade, "disable-upgrade-migration", false, "Whether or not to perform automated version upgrades.")
	f.StringVar(&drToken, "dr-token", "", "DR operation token used to authorize this request (if a DR secondary node).")
	return cmd
}
