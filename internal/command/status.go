package command

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"

	"github.com/strongbox/strongbox/internal/command/format"
)

func newStatusCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "status [options]",
		Short: "Print seal and HA status",
		Long: `Prints the current state of the server: whether it is initialized and
sealed, the unseal progress and HA status.

The exit code reflects the seal status:

  - 0 - unsealed
  - 1 - error
  - 2 - sealed`,
		Example: `$ strongbox status
$ strongbox status -format=json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := argCount(args, 0, 0); err != nil {
				return err
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			status, err := client.Sys().SealStatusWithContext(a.ctx)
			if err != nil {
				// 2 means "sealed" here, so a failed check is 1, as in Vault.
				return &exitError{code: exitLocal, msg: "Error checking seal status: " + err.Error(), err: err}
			}
			if err := a.outputSealStatus(client, status); err != nil {
				return err
			}
			if status.Sealed {
				return exitWith(exitAPI)
			}
			return nil
		},
	}
}

// sealStatusOutput is `status` output: the seal status plus leader fields,
// with Vault's JSON names.
type sealStatusOutput struct {
	api.SealStatusResponse
	HAEnabled                bool      `json:"ha_enabled"`
	IsSelf                   bool      `json:"is_self,omitempty"`
	ActiveTime               time.Time `json:"active_time,omitempty"`
	LeaderAddress            string    `json:"leader_address,omitempty"`
	LeaderClusterAddress     string    `json:"leader_cluster_address,omitempty"`
	PerfStandby              bool      `json:"performance_standby,omitempty"`
	PerfStandbyLastRemoteWAL uint64    `json:"performance_standby_last_remote_wal,omitempty"`
	RaftCommittedIndex       uint64    `json:"raft_committed_index,omitempty"`
	RaftAppliedIndex         uint64    `json:"raft_applied_index,omitempty"`
}

// outputSealStatus prints a seal status with leader information (unseal,
// status). A sealed server can't answer sys/leader; that is not an error.
func (a *app) outputSealStatus(client *api.Client, status *api.SealStatusResponse) error {
	out := sealStatusOutput{SealStatusResponse: *status}
	leader, err := client.Sys().LeaderWithContext(a.ctx)
	switch {
	case err != nil && (status.Sealed || strings.Contains(err.Error(), "is sealed")):
		leader = &api.LeaderResponse{HAEnabled: status.Sealed && strings.Contains(err.Error(), "is sealed")}
	case err != nil:
		return &exitError{code: exitLocal, msg: "Error checking leader status: " + err.Error(), err: err}
	}
	out.HAEnabled = leader.HAEnabled
	out.IsSelf = leader.IsSelf
	out.ActiveTime = leader.ActiveTime
	out.LeaderAddress = leader.LeaderAddress
	out.LeaderClusterAddress = leader.LeaderClusterAddress
	out.PerfStandby = leader.PerfStandby
	out.PerfStandbyLastRemoteWAL = leader.PerfStandbyLastRemoteWAL
	out.RaftCommittedIndex = leader.RaftCommittedIndex
	out.RaftAppliedIndex = leader.RaftAppliedIndex

	if !a.isTable() {
		return a.outputData(out)
	}
	a.info("%s", format.Table(sealStatusRows(out)))
	return nil
}

func sealStatusRows(s sealStatusOutput) [][]string {
	prefix := ""
	if s.RecoverySeal {
		prefix = "Recovery "
	}
	rows := [][]string{
		{"Key", "Value"},
		{prefix + "Seal Type", s.Type},
		{"Initialized", fmt.Sprint(s.Initialized)},
		{"Sealed", fmt.Sprint(s.Sealed)},
		{"Total " + prefix + "Shares", fmt.Sprint(s.N)},
		{"Threshold", fmt.Sprint(s.T)},
	}
	if s.Sealed {
		rows = append(rows,
			[]string{"Unseal Progress", fmt.Sprintf("%d/%d", s.Progress, s.T)},
			[]string{"Unseal Nonce", s.Nonce})
	}
	if s.Migration {
		rows = append(rows, []string{"Seal Migration in Progress", "true"})
	}
	rows = append(rows,
		[]string{"Version", s.Version},
		[]string{"Build Date", s.BuildDate},
		[]string{"Storage Type", s.StorageType})
	if s.ClusterName != "" && s.ClusterID != "" {
		rows = append(rows, []string{"Cluster Name", s.ClusterName}, []string{"Cluster ID", s.ClusterID})
	}
	rows = append(rows, []string{"HA Enabled", fmt.Sprint(s.HAEnabled)})
	if s.HAEnabled && !s.Sealed {
		rows = append(rows, []string{"HA Cluster", s.LeaderClusterAddress})
		mode := "standby"
		if s.IsSelf {
			mode = "active"
		}
		rows = append(rows, []string{"HA Mode", mode})
		if s.IsSelf && !s.ActiveTime.IsZero() {
			rows = append(rows, []string{"Active Since", s.ActiveTime.Format(time.RFC3339Nano)})
		}
		if !s.IsSelf {
			addr := s.LeaderAddress
			if addr == "" {
				addr = "<none>"
			}
			rows = append(rows, []string{"Active Node Address", addr})
		}
		if s.PerfStandby {
			rows = append(rows,
				[]string{"Performance Standby Node", "true"},
				[]string{"Performance Standby Last Remote WAL", fmt.Sprint(s.PerfStandbyLastRemoteWAL)})
		}
	}
	if s.RaftCommittedIndex > 0 {
		rows = append(rows, []string{"Raft Committed Index", fmt.Sprint(s.RaftCommittedIndex)})
	}
	if s.RaftAppliedIndex > 0 {
		rows = append(rows, []string{"Raft Applied Index", fmt.Sprint(s.RaftAppliedIndex)})
	}
	if len(s.Warnings) > 0 {
		rows = append(rows, []string{"Warnings", fmt.Sprint(s.Warnings)})
	}
	return rows
}

func newVersionCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the Strongbox version",
		Long:    "Prints the version of this Strongbox binary. The server's version is in \"strongbox status\".",
		Example: "$ strongbox version",
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 0, 0); err != nil {
				return err
			}
			a.info("Strongbox v%s", version)
			return nil
		},
	}
}

func newPrintCommand(a *app) *cobra.Command {
	token := &cobra.Command{
		Use:   "token",
		Short: "Print the token the CLI would use",
		Long: `Prints the token the CLI uses for requests: VAULT_TOKEN when set, else the
one stored by "strongbox login" in the token helper file ~/.vault-token.`,
		Example: `$ strongbox print token
$ curl -H "X-Vault-Token: $(strongbox print token)" $VAULT_ADDR/v1/sys/mounts`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 0, 0); err != nil {
				return err
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			a.info("%s", client.Token())
			return nil
		},
	}
	return newGroup("print", "Print runtime configuration",
		"Prints values the CLI uses at run time.", token)
}
