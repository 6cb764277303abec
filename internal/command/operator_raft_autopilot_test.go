package command

import (
	"encoding/json"
	"strings"
	"testing"
)

const autopilotStateRoute = "GET /v1/sys/storage/raft/autopilot/state"

// autopilotStateBody is a state response of two zones mid-upgrade.
func autopilotStateBody() map[string]any {
	return map[string]any{"data": map[string]any{
		"healthy": true, "failure_tolerance": 0, "leader": "node0", "optimistic_failure_tolerance": 1,
		"voters": []string{"node0"}, "non_voters": []string{"node1"},
		"servers": map[string]any{
			"node1": map[string]any{
				"id": "node1", "name": "node1", "address": "127.0.0.1:8203", "node_status": "alive",
				"last_contact": "1.5s", "last_term": 3, "last_index": 61, "healthy": true,
				"stable_since": "2025-01-01T12:00:00Z", "status": "non-voter", "version": "1.0.0",
				"upgrade_version": "1.1.0", "redundancy_zone": "a", "node_type": "zone-standby",
			},
			"node0": map[string]any{
				"id": "node0", "name": "node0", "address": "127.0.0.1:8201", "node_status": "alive",
				"last_contact": "0s", "last_term": 3, "last_index": 63, "healthy": true,
				"stable_since": "2025-01-01T12:00:00Z", "status": "leader", "version": "1.0.0",
				"upgrade_version": "1.0.0", "redundancy_zone": "a", "node_type": "zone-voter",
			},
		},
		"redundancy_zones": map[string]any{
			"a": map[string]any{"servers": []string{"node1", "node0"}, "voters": []string{"node0"}, "failure_tolerance": 1},
		},
		"upgrade_info": map[string]any{
			"status": "await-new-voters", "target_version": "1.1.0",
			"target_version_non_voters": []string{"node1"}, "other_version_voters": []string{"node0"},
			"redundancy_zones": map[string]any{"a": map[string]any{
				"target_version_non_voters": []string{"node1"}, "other_version_voters": []string{"node0"},
			}},
		},
	}}
}

const autopilotStatePretty = `Healthy:                         true
Failure Tolerance:               0
Leader:                          node0
Voters:
   node0
Non Voters:
   node1
Optimistic Failure Tolerance:    1
Servers:
   node0
      Name:              node0
      Address:           127.0.0.1:8201
      Status:            leader
      Node Status:       alive
      Healthy:           true
      Last Contact:      0s
      Last Term:         3
      Last Index:        63
      Version:           1.0.0
      Upgrade Version:   1.0.0
      Redundancy Zone:   a
      Node Type:         zone-voter
   node1
      Name:              node1
      Address:           127.0.0.1:8203
      Status:            non-voter
      Node Status:       alive
      Healthy:           true
      Last Contact:      1.5s
      Last Term:         3
      Last Index:        61
      Version:           1.0.0
      Upgrade Version:   1.1.0
      Redundancy Zone:   a
      Node Type:         zone-standby
Redundancy Zones:
   a
      Servers: node0, node1
      Voters: node0
      Failure Tolerance: 1
Upgrade Info:
   Status: await-new-voters
   Target Version: 1.1.0
   Target Version Voters: 
   Target Version Non-Voters: node1
   Other Version Voters: node0
   Other Version Non-Voters: 
   Redundancy Zones:
      a
         Target Version Voters: 
         Target Version Non-Voters: node1
         Other Version Voters: node0
         Other Version Non-Voters: 
`

func TestOperatorRaftAutopilotState(t *testing.T) {
	f := newFakeVault(t)
	f.on(autopilotStateRoute, 200, autopilotStateBody())
	c := newCLI(t, f.srv.URL)
	c.env["VAULT_TOKEN"] = "hvs.root"
	for _, args := range [][]string{{}, {"-format=pretty"}, {"-format=table"}} {
		res := c.run("", append([]string{"operator", "raft", "autopilot", "state"}, args...)...).want(t, 0)
		if res.stdout != autopilotStatePretty {
			t.Errorf("%v: stdout:\n%s\nwant:\n%s", args, res.stdout, autopilotStatePretty)
		}
	}
	// JSON is the client's state structure, as Vault's CLI prints it.
	res := c.run("", "operator", "raft", "autopilot", "state", "-format=json").want(t, 0)
	var got struct {
		Healthy          bool
		Leader           string
		Servers          map[string]struct{ NodeType, LastContact string }
		RedundancyZones  map[string]struct{ Voters []string }
		Upgrade          struct{ Status string }
		FailureTolerance int
	}
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
		t.Fatalf("json: %v\n%s", err, res.stdout)
	}
	if !got.Healthy || got.Leader != "node0" || got.Servers["node1"].NodeType != "zone-standby" ||
		got.Servers["node1"].LastContact != "1.5s" || got.RedundancyZones["a"].Voters[0] != "node0" || got.Upgrade.Status != "await-new-voters" {
		t.Errorf("json output %+v", got)
	}
	if res := c.run("", "operator", "raft", "autopilot", "state", "-field=leader").want(t, 0); res.stdout != "node0" {
		t.Errorf("-field=leader: %q", res.stdout)
	}
	if tok := f.requests(autopilotStateRoute)[0].Header.Get("X-Vault-Token"); tok != "hvs.root" {
		t.Errorf("token %q", tok)
	}
	c.run("", "operator", "raft", "autopilot", "state", "-dr-token=dr-tok").want(t, 0)
	reqs := f.requests(autopilotStateRoute)
	if tok := reqs[len(reqs)-1].Header.Get("X-Vault-Token"); tok != "dr-tok" {
		t.Errorf("-dr-token sent token %q", tok)
	}

	c.run("", "operator", "raft", "autopilot", "state", "-format=bogus").want(t, 1)
	c.run("", "operator", "raft", "autopilot", "state", "extra").want(t, 1)

	// Autopilot not running: no output, success (Vault's CLI does the same).
	f.on(autopilotStateRoute, 404, map[string]any{"errors": []string{}})
	if res := c.run("", "operator", "raft", "autopilot", "state").want(t, 0); res.stdout != "" {
		t.Errorf("stdout %q", res.stdout)
	}
	f.on(autopilotStateRoute, 500, map[string]any{"errors": []string{"boom"}})
	res = c.run("", "operator", "raft", "autopilot", "state").want(t, 2)
	if !strings.HasPrefix(res.stderr, "Error checking autopilot state: ") || !strings.Contains(res.stderr, "* boom") {
		t.Errorf("stderr %q", res.stderr)
	}
}

func TestOperatorRaftAutopilotGetConfig(t *testing.T) {
	f := newFakeVault(t)
	f.on("GET /v1/sys/storage/raft/autopilot/configuration", 200, map[string]any{"data": map[string]any{
		"cleanup_dead_servers": true, "last_contact_threshold": "10s", "dead_server_last_contact_threshold": "24h0m0s",
		"max_trailing_logs": 1000, "min_quorum": 3, "server_stabilization_time": "10s", "disable_upgrade_migration": false,
	}})
	c := newCLI(t, f.srv.URL)
	c.env["VAULT_TOKEN"] = "hvs.root"
	res := c.run("", "operator", "raft", "autopilot", "get-config").want(t, 0)
	want := "Key                                   Value\n" +
		"---                                   -----\n" +
		"Cleanup Dead Servers                  true\n" +
		"Last Contact Threshold                10s\n" +
		"Dead Server Last Contact Threshold    24h0m0s\n" +
		"Server Stabilization Time             10s\n" +
		"Min Quorum                            3\n" +
		"Max Trailing Logs                     1000\n" +
		"Disable Upgrade Migration             false\n"
	if res.stdout != want {
		t.Errorf("stdout:\n%q\nwant:\n%q", res.stdout, want)
	}
	res = c.run("", "operator", "raft", "autopilot", "get-config", "-format=json").want(t, 0)
	var got map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
		t.Fatalf("json: %v\n%s", err, res.stdout)
	}
	if got["dead_server_last_contact_threshold"] != "24h0m0s" || got["min_quorum"] != float64(3) || got["cleanup_dead_servers"] != true {
		t.Errorf("json %v", got)
	}
	if res := c.run("", "operator", "raft", "autopilot", "get-config", "-field=min_quorum").want(t, 0); res.stdout != "3" {
		t.Errorf("-field: %q", res.stdout)
	}
	f.on("GET /v1/sys/storage/raft/autopilot/configuration", 403, map[string]any{"errors": []string{"permission denied"}})
	res = c.run("", "operator", "raft", "autopilot", "get-config").want(t, 2)
	if !strings.Contains(res.stderr, "permission denied") {
		t.Errorf("stderr %q", res.stderr)
	}
}

func TestOperatorRaftAutopilotSetConfig(t *testing.T) {
	const route = "PUT /v1/sys/storage/raft/autopilot/configuration"
	cases := []struct {
		name string
		args []string
		want map[string]any
	}{
		{"nothing", nil, map[string]any{}},
		{"all", []string{
			"-cleanup-dead-servers=true", "-last-contact-threshold=4s", "-dead-server-last-contact-threshold", "1h",
			"-max-trailing-logs=500", "-min-quorum=3", "-server-stabilization-time=30", "-disable-upgrade-migration",
			"-dr-token=dr",
		}, map[string]any{
			"cleanup_dead_servers": true, "last_contact_threshold": "4s", "dead_server_last_contact_threshold": "1h0m0s",
			"max_trailing_logs": num("500"), "min_quorum": num("3"), "server_stabilization_time": "30s",
			"disable_upgrade_migration": true, "dr_operation_token": "dr",
		}},
		{"explicit false", []string{"-cleanup-dead-servers=false", "-disable-upgrade-migration=false"},
			map[string]any{"cleanup_dead_servers": false, "disable_upgrade_migration": false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeVault(t)
			f.on(route, 204, nil)
			c := newCLI(t, f.srv.URL)
			c.env["VAULT_TOKEN"] = "hvs.root"
			res := c.run("", append([]string{"operator", "raft", "autopilot", "set-config"}, tc.args...)...).want(t, 0)
			if res.stdout != "" {
				t.Errorf("stdout %q", res.stdout)
			}
			body := f.only(route).Body
			if len(body) != len(tc.want) {
				t.Errorf("body %v, want %v", body, tc.want)
			}
			for k, v := range tc.want {
				if body[k] != v {
					t.Errorf("%s = %#v, want %#v", k, body[k], v)
				}
			}
		})
	}

	f := newFakeVault(t)
	c := newCLI(t, f.srv.URL)
	c.env["VAULT_TOKEN"] = "hvs.root"
	for _, args := range [][]string{{"-last-contact-threshold=soon"}, {"-min-quorum=-1"}, {"extra"}} {
		c.run("", append([]string{"operator", "raft", "autopilot", "set-config"}, args...)...).want(t, 1)
	}
	if n := len(f.requests(route)); n != 0 {
		t.Errorf("usage errors sent %d requests", n)
	}
	f.on(route, 400, map[string]any{"errors": []string{"min_quorum must be set when cleanup_dead_servers is set and it should at least be 3"}})
	res := c.run("", "operator", "raft", "autopilot", "set-config", "-cleanup-dead-servers").want(t, 2)
	if !strings.HasPrefix(res.stderr, "Error setting the autopilot configuration: ") || !strings.Contains(res.stderr, "min_quorum must be set") {
		t.Errorf("stderr %q", res.stderr)
	}
	f.on(route, 200, map[string]any{"warnings": []string{"dead_server_last_contact_threshold is 5s, under 1m"}})
	res = c.run("", "operator", "raft", "autopilot", "set-config", "-dead-server-last-contact-threshold=5s").want(t, 0)
	if !strings.Contains(res.stderr+res.stdout, "under 1m") {
		t.Errorf("the warning was not shown: %q %q", res.stdout, res.stderr)
	}
}

func TestOperatorRaftAutopilotHelp(t *testing.T) {
	c := newCLI(t, "http://unused.invalid")
	res := c.run("", "operator", "raft", "autopilot").want(t, 0)
	for _, want := range []string{"state", "get-config", "set-config"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("autopilot help lacks %q:\n%s", want, res.stdout)
		}
	}
	if !strings.Contains(c.run("", "operator", "raft").want(t, 0).stdout, "autopilot") {
		t.Error("raft help does not list autopilot")
	}
	res = c.run("", "operator", "raft", "autopilot", "set-config", "-help").want(t, 0)
	for _, want := range []string{"-cleanup-dead-servers", "-last-contact-threshold=<duration>", "-dead-server-last-contact-threshold",
		"-max-trailing-logs", "-min-quorum", "-server-stabilization-time", "-disable-upgrade-migration", "-dr-token"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("set-config help lacks %q:\n%s", want, res.stdout)
		}
	}
}
