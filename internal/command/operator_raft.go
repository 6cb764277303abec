package command

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"

	"github.com/strongbox/strongbox/internal/command/format"
)

// Raft endpoints the commands below call.
const (
	raftConfigurationPath = "sys/storage/raft/configuration"
	raftRemovePeerPath    = "sys/storage/raft/remove-peer"
)

func newOperatorRaftCommand(a *app) *cobra.Command {
	return newGroup("raft", "Interact with Strongbox's raft storage backend",
		`Groups subcommands for operators interacting with Strongbox's integrated Raft
storage backend: join a node to a cluster, list the peers, remove a peer. Most
users will not need these commands.`,
		newOperatorRaftJoinCommand(a),
		newOperatorRaftListPeersCommand(a),
		newOperatorRaftRemovePeerCommand(a),
		newOperatorRaftAutopilotCommand(a),
		newOperatorRaftSnapshotCommand(a),
	)
}

func newOperatorRaftJoinCommand(a *app) *cobra.Command {
	var caCert, clientCert, clientKey string
	var retry, nonVoter, allowHTTP bool
	cmd := &cobra.Command{
		Use:   "join [options] LEADER_API_ADDR",
		Short: "Join a node to the Raft cluster",
		Long: `Joins the node at -address (VAULT_ADDR) to the Raft cluster led by the node at
LEADER_API_ADDR. The joining node must not be initialized yet; no token is
needed. After joining, unseal it with the cluster's unseal keys.

The -leader-* TLS options take PEM data, a path to a PEM file, or "@path".
A cloud auto-join string ("provider=...") is passed to the server as
auto_join.

A leader address with http:// is refused by the joining node unless
-leader-allow-http is given: the join hands the cluster's keys over that
connection, encrypted, but a plaintext leader cannot be authenticated.`,
		Example: `$ strongbox operator raft join https://10.0.0.1:8200
$ strongbox operator raft join -retry -non-voter https://10.0.0.1:8200
$ strongbox operator raft join \
    -leader-ca-cert=@leader_ca.crt \
    -leader-client-cert=@client.crt \
    -leader-client-key=@client.key \
    https://10.0.0.1:8200`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			leader := strings.TrimSpace(args[0])
			if leader == "" {
				return usageErrorf("Leader API address is required")
			}
			req := &api.RaftJoinRequest{Retry: retry, NonVoter: nonVoter}
			if strings.Contains(leader, "provider=") {
				req.AutoJoin = leader
			} else {
				req.LeaderAPIAddr = leader
			}
			var err error
			if req.LeaderCACert, err = readPEMFlag(caCert); err != nil {
				return localError(err, "Failed to parse leader CA certificate")
			}
			if req.LeaderClientCert, err = readPEMFlag(clientCert); err != nil {
				return localError(err, "Failed to parse leader client certificate")
			}
			if req.LeaderClientKey, err = readPEMFlag(clientKey); err != nil {
				return localError(err, "Failed to parse leader client key")
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			var resp *api.RaftJoinResponse
			if allowHTTP {
				resp, err = raftJoinAllowHTTP(a.ctx, client, req)
			} else {
				resp, err = client.Sys().RaftJoinWithContext(a.ctx, req)
			}
			if err != nil {
				return apiError(err, "Error joining the node to the Raft cluster")
			}
			switch {
			case a.g.field != "":
				return a.outputField(map[string]any{"joined": resp.Joined}, a.g.field)
			case !a.isTable():
				return a.outputData(resp)
			}
			a.info("%s", format.Table([][]string{{"Key", "Value"}, {"Joined", fmt.Sprint(resp.Joined)}}))
			return nil
		},
	}
	cmd.Flags().StringVar(&caCert, "leader-ca-cert", "", "CA certificate (PEM, a file path, or @file) to verify the Raft leader's TLS certificate.")
	cmd.Flags().StringVar(&clientCert, "leader-client-cert", "", "Client certificate (PEM, a file path, or @file) to authenticate to the Raft leader.")
	cmd.Flags().StringVar(&clientKey, "leader-client-key", "", "Private key (PEM, a file path, or @file) of -leader-client-cert.")
	cmd.Flags().BoolVar(&retry, "retry", false, "Keep retrying to join the Raft cluster in the background on failures.")
	cmd.Flags().BoolVar(&nonVoter, "non-voter", false, "Join as a non-voter: the node receives the replicated data but takes no part in the Raft quorum.")
	cmd.Flags().BoolVar(&allowHTTP, "leader-allow-http", false, "Allow a leader address with http:// (no TLS); refused otherwise.")
	return cmd
}

// raftJoinAllowHTTP sends a join with leader_allow_http, a field the
// official client's RaftJoinRequest does not carry.
func raftJoinAllowHTTP(ctx context.Context, client *api.Client, req *api.RaftJoinRequest) (*api.RaftJoinResponse, error) {
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	body := map[string]any{}
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, err
	}
	body["leader_allow_http"] = true
	r := client.NewRequest(http.MethodPost, "/v1/sys/storage/raft/join")
	if err := r.SetJSONBody(body); err != nil {
		return nil, err
	}
	//nolint:staticcheck // RawRequest is the client's way to send a body its types lack.
	resp, err := client.RawRequestWithContext(ctx, r)
	if resp != nil {
		defer resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	var out api.RaftJoinResponse
	if err := resp.DecodeJSON(&out); err != nil {
		return nil, err
	}
	return &out, nil
}

// readPEMFlag resolves a -leader-* TLS flag: "" stays empty, "@path" is the
// file's contents, inline PEM is kept as given, and anything else must name
// a readable file. A typo'd path fails here rather than sending the path
// itself to the server as a certificate.
func readPEMFlag(v string) (string, error) {
	switch {
	case v == "":
		return "", nil
	case strings.HasPrefix(v, "@"):
		b, err := os.ReadFile(v[1:])
		if err != nil {
			return "", fmt.Errorf("read %s: %w", v[1:], err)
		}
		return string(b), nil
	case strings.Contains(v, "-----BEGIN"):
		return v, nil
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return "", fmt.Errorf("not PEM data and not a readable file: %w", err)
	}
	return string(b), nil
}

func newOperatorRaftListPeersCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list-peers [options]",
		Short: "Return the Raft peer set",
		Long: `Lists the peers of the Raft cluster: node ID, cluster address, whether it is
the leader or a follower, and whether it votes. -format=json prints the whole
response (data.config.servers and data.config.index).`,
		Example: `$ strongbox operator raft list-peers
$ strongbox operator raft list-peers -format=json`,
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 0, 0); err != nil {
				return err
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			secret, err := client.Logical().ReadWithContext(a.ctx, raftConfigurationPath)
			if err != nil {
				return apiError(err, "Error reading the raft cluster configuration")
			}
			if secret == nil || secret.Data["config"] == nil {
				return apiErrorf("No raft cluster configuration found")
			}
			if a.g.field != "" || !a.isTable() {
				return a.outputSecret(secret)
			}
			rows, err := raftPeerRows(secret.Data["config"])
			if err != nil {
				return apiError(err, "Error parsing the raft cluster configuration")
			}
			a.info("%s", format.Table(rows))
			return nil
		},
	}
}

// raftServer is one entry of data.config.servers in
// sys/storage/raft/configuration.
type raftServer struct {
	NodeID  string `json:"node_id"`
	Address string `json:"address"`
	Leader  bool   `json:"leader"`
	Voter   bool   `json:"voter"`
}

// raftPeerRows are the rows of `list-peers` (header first) for the config
// object of a configuration response, in the server's order. A config of
// the wrong shape is an error, never a panic.
func raftPeerRows(config any) ([][]string, error) {
	b, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	var cfg struct {
		Servers []raftServer `json:"servers"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	rows := [][]string{{"Node", "Address", "State", "Voter"}}
	for _, s := range cfg.Servers {
		state := "follower"
		if s.Leader {
			state = "leader"
		}
		rows = append(rows, []string{s.NodeID, s.Address, state, fmt.Sprint(s.Voter)})
	}
	return rows, nil
}

func newOperatorRaftRemovePeerCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "remove-peer [options] SERVER_ID",
		Short: "Remove a node from the Raft cluster",
		Long: `Removes the node with the given ID (the Node column of "list-peers") from the
Raft cluster's configuration. Run it against a healthy member of the cluster.`,
		Example: "$ strongbox operator raft remove-peer node2",
		RunE: func(_ *cobra.Command, args []string) error {
			if err := argCount(args, 1, 1); err != nil {
				return err
			}
			id := strings.TrimSpace(args[0])
			if id == "" {
				return usageErrorf("Server id is required")
			}
			client, err := a.apiClient()
			if err != nil {
				return err
			}
			// Logical().Write sends PUT, as Vault's CLI does; the server
			// treats PUT and POST alike on this path.
			if _, err := client.Logical().WriteWithContext(a.ctx, raftRemovePeerPath, map[string]any{"server_id": id}); err != nil {
				return apiError(err, "Error removing the peer from raft cluster")
			}
			a.info("Peer removed successfully!")
			return nil
		},
	}
}
