package command

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testPEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

func TestOperatorRaftJoin(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem")
	if err := os.WriteFile(caFile, []byte("CA PEM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, []byte("CLIENT PEM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want map[string]any // body fields
	}{
		{"plain", []string{"https://10.0.0.1:8200"}, map[string]any{
			"leader_api_addr": "https://10.0.0.1:8200", "leader_ca_cert": "", "leader_client_cert": "",
			"leader_client_key": "", "retry": false, "non_voter": false}},
		{"tls and options", []string{"-leader-ca-cert=" + caFile, "-leader-client-cert", "@" + certFile,
			"-leader-client-key=" + testPEM, "-retry", "-non-voter", " https://10.0.0.1:8200 "}, map[string]any{
			"leader_api_addr": "https://10.0.0.1:8200", "leader_ca_cert": "CA PEM\n",
			"leader_client_cert": "CLIENT PEM\n", "leader_client_key": testPEM, "retry": true, "non_voter": true}},
		{"plaintext leader allowed", []string{"-leader-allow-http", "http://10.0.0.1:8200"}, map[string]any{
			"leader_api_addr": "http://10.0.0.1:8200", "leader_allow_http": true, "retry": false, "non_voter": false}},
		{"auto-join", []string{"provider=aws region=eu-west-1"}, map[string]any{
			"leader_api_addr": "", "auto_join": "provider=aws region=eu-west-1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeVault(t)
			f.on("POST /v1/sys/storage/raft/join", 200, map[string]any{"joined": true})
			// No VAULT_TOKEN and no token file: the joining node has none.
			res := newCLI(t, f.srv.URL).run("", append([]string{"operator", "raft", "join"}, c.args...)...).want(t, 0)
			if want := "Key       Value\n---       -----\nJoined    true\n"; res.stdout != want {
				t.Errorf("stdout %q, want %q", res.stdout, want)
			}
			req := f.only("POST /v1/sys/storage/raft/join")
			for k, want := range c.want {
				if got := req.Body[k]; got != want {
					t.Errorf("%s = %#v, want %#v (body %v)", k, got, want, req.Body)
				}
			}
			if tok := req.Header.Get("X-Vault-Token"); tok != "" {
				t.Errorf("join sent a token %q", tok)
			}
		})
	}
}

func TestOperatorRaftJoinOutputFormats(t *testing.T) {
	f := newFakeVault(t)
	f.on("POST /v1/sys/storage/raft/join", 200, map[string]any{"joined": true})
	c := newCLI(t, f.srv.URL)
	res := c.run("", "operator", "raft", "join", "-format=json", "http://10.0.0.1:8200").want(t, 0)
	var got map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
		t.Fatalf("json: %v\n%s", err, res.stdout)
	}
	if len(got) != 1 || got["joined"] != true {
		t.Errorf("json output %v", got)
	}
	if res := c.run("", "operator", "raft", "join", "-format=yaml", "http://10.0.0.1:8200").want(t, 0); res.stdout != "joined: true\n" {
		t.Errorf("yaml output %q", res.stdout)
	}
	if res := c.run("", "operator", "raft", "join", "-field=joined", "http://10.0.0.1:8200").want(t, 0); res.stdout != "true" {
		t.Errorf("field output %q", res.stdout)
	}
}

func TestOperatorRaftJoinErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.pem")
	cases := []struct {
		name   string
		status int // server answer; 0: no request expected
		args   []string
		code   int
		stderr string
	}{
		{"no address", 0, nil, 1, "Not enough arguments (expected 1, got 0)"},
		{"two addresses", 0, []string{"http://a:8200", "http://b:8200"}, 1, "Too many arguments (expected 1, got 2)"},
		{"blank address", 0, []string{"  "}, 1, "Leader API address is required"},
		{"missing ca file", 0, []string{"-leader-ca-cert=" + missing, "http://a:8200"}, 1,
			"Failed to parse leader CA certificate: not PEM data and not a readable file"},
		{"missing @cert file", 0, []string{"-leader-client-cert=@" + missing, "http://a:8200"}, 1,
			"Failed to parse leader client certificate: read " + missing},
		{"missing key file", 0, []string{"-leader-client-key=" + missing, "http://a:8200"}, 1,
			"Failed to parse leader client key"},
		{"unknown flag", 0, []string{"-auto-join-port=1", "http://a:8200"}, 1, "flag provided but not defined: -auto-join-port"},
		{"leader refuses", 400, []string{"http://a:8200"}, 2,
			"Error joining the node to the Raft cluster: Error making API request."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeVault(t)
			f.on("POST /v1/sys/storage/raft/join", c.status, map[string]any{"errors": []string{"node is already initialized"}})
			res := newCLI(t, f.srv.URL).run("", append([]string{"operator", "raft", "join"}, c.args...)...).want(t, c.code)
			if !strings.Contains(res.stderr, c.stderr) {
				t.Errorf("stderr %q lacks %q", res.stderr, c.stderr)
			}
			sent := len(f.requests("POST /v1/sys/storage/raft/join"))
			if c.status == 0 && sent != 0 {
				t.Errorf("a usage error still sent %d requests", sent)
			}
			if c.status != 0 && !strings.Contains(res.stderr, "* node is already initialized") {
				t.Errorf("server error not shown: %q", res.stderr)
			}
		})
	}
}

func raftConfiguration() map[string]any {
	return map[string]any{"request_id": "r1", "data": map[string]any{"config": map[string]any{
		"index": 42,
		"servers": []any{
			map[string]any{"node_id": "node1", "address": "10.0.0.1:8201", "leader": true, "voter": true, "protocol_version": "3"},
			map[string]any{"node_id": "node2", "address": "10.0.0.2:8201", "leader": false, "voter": true, "protocol_version": "3"},
			map[string]any{"node_id": "node3", "address": "10.0.0.3:8201", "leader": false, "voter": false, "protocol_version": "3"},
		},
	}}}
}

func TestOperatorRaftListPeers(t *testing.T) {
	f := newFakeVault(t)
	f.on("GET /v1/sys/storage/raft/configuration", 200, raftConfiguration())
	c := newCLI(t, f.srv.URL)
	c.env["VAULT_TOKEN"] = "hvs.root"
	res := c.run("", "operator", "raft", "list-peers").want(t, 0)
	want := "" +
		"Node     Address          State       Voter\n" +
		"----     -------          -----       -----\n" +
		"node1    10.0.0.1:8201    leader      true\n" +
		"node2    10.0.0.2:8201    follower    true\n" +
		"node3    10.0.0.3:8201    follower    false\n"
	if res.stdout != want {
		t.Errorf("table:\n%s\nwant\n%s", res.stdout, want)
	}
	if tok := f.only("GET /v1/sys/storage/raft/configuration").Header.Get("X-Vault-Token"); tok != "hvs.root" {
		t.Errorf("token header %q", tok)
	}

	res = c.run("", "operator", "raft", "list-peers", "-format=json").want(t, 0)
	var env struct {
		RequestID string `json:"request_id"`
		Data      struct {
			Config struct {
				Index   int          `json:"index"`
				Servers []raftServer `json:"servers"`
			} `json:"config"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &env); err != nil {
		t.Fatalf("json: %v\n%s", err, res.stdout)
	}
	if env.RequestID != "r1" || env.Data.Config.Index != 42 || len(env.Data.Config.Servers) != 3 ||
		env.Data.Config.Servers[0] != (raftServer{NodeID: "node1", Address: "10.0.0.1:8201", Leader: true, Voter: true}) {
		t.Errorf("json envelope %+v", env)
	}
	if !strings.Contains(res.stdout, `"protocol_version": "3"`) {
		t.Errorf("json lacks protocol_version:\n%s", res.stdout)
	}
	c.run("", "operator", "raft", "list-peers", "extra").want(t, 1)
}

func TestOperatorRaftListPeersErrors(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   any
		stderr string
	}{
		{"denied", 403, map[string]any{"errors": []string{"permission denied"}},
			"Error reading the raft cluster configuration: Error making API request."},
		{"not raft storage", 404, map[string]any{"errors": []string{}}, "No raft cluster configuration found"},
		{"empty", 204, nil, "No raft cluster configuration found"},
		{"no config", 200, map[string]any{"data": map[string]any{}}, "No raft cluster configuration found"},
		{"wrong shape", 200, map[string]any{"data": map[string]any{"config": map[string]any{
			"servers": []any{map[string]any{"node_id": "n1", "voter": "yes"}}}}},
			"Error parsing the raft cluster configuration: decode config"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeVault(t)
			f.on("GET /v1/sys/storage/raft/configuration", c.status, c.body)
			res := newCLI(t, f.srv.URL).run("", "operator", "raft", "list-peers").want(t, 2)
			if !strings.Contains(res.stderr, c.stderr) {
				t.Errorf("stderr %q lacks %q", res.stderr, c.stderr)
			}
		})
	}
}

func TestOperatorRaftRemovePeer(t *testing.T) {
	f := newFakeVault(t)
	f.on("PUT /v1/sys/storage/raft/remove-peer", 204, nil)
	c := newCLI(t, f.srv.URL)
	c.env["VAULT_TOKEN"] = "hvs.root"
	res := c.run("", "operator", "raft", "remove-peer", "node2").want(t, 0)
	if res.stdout != "Peer removed successfully!\n" {
		t.Errorf("stdout %q", res.stdout)
	}
	req := f.only("PUT /v1/sys/storage/raft/remove-peer")
	if len(req.Body) != 1 || req.Body["server_id"] != "node2" {
		t.Errorf("body %v", req.Body)
	}

	for _, args := range [][]string{{}, {"a", "b"}, {" "}} {
		c.run("", append([]string{"operator", "raft", "remove-peer"}, args...)...).want(t, 1)
	}
	if n := len(f.requests("PUT /v1/sys/storage/raft/remove-peer")); n != 1 {
		t.Errorf("usage errors sent requests: %d in all", n)
	}

	f.on("PUT /v1/sys/storage/raft/remove-peer", 400, map[string]any{"errors": []string{`server "node9" is not a raft peer`}})
	res = c.run("", "operator", "raft", "remove-peer", "node9").want(t, 2)
	if !strings.HasPrefix(res.stderr, "Error removing the peer from raft cluster: Error making API request.") ||
		!strings.Contains(res.stderr, `* server "node9" is not a raft peer`) {
		t.Errorf("stderr %q", res.stderr)
	}
}

func TestOperatorRaftHelp(t *testing.T) {
	c := newCLI(t, "http://unused.invalid")
	res := c.run("", "operator", "raft").want(t, 0)
	for _, want := range []string{"Usage: strongbox operator raft <subcommand>", "Subcommands:", "join", "list-peers", "remove-peer"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("group help lacks %q:\n%s", want, res.stdout)
		}
	}
	if !strings.Contains(c.run("", "operator", "-help").want(t, 0).stdout, "raft ") {
		t.Error("operator help does not list raft")
	}
	res = c.run("", "operator", "raft", "join", "-help").want(t, 0)
	for _, want := range []string{"Usage: strongbox operator raft join [options] LEADER_API_ADDR", "Examples:",
		"$ strongbox operator raft join https://10.0.0.1:8200", "  -leader-ca-cert=<string>",
		"  -leader-client-cert=<string>", "  -leader-client-key=<string>", "  -retry\n", "  -non-voter\n", "HTTP Options:"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("join help lacks %q:\n%s", want, res.stdout)
		}
	}
	c.run("", "operator", "raft", "frobnicate").want(t, 1)
}

func TestReadPEMFlag(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.pem")
	if err := os.WriteFile(file, []byte(testPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in, want string
		err      bool
	}{
		{"", "", false},
		{testPEM, testPEM, false},
		{file, testPEM, false},
		{"@" + file, testPEM, false},
		{"@" + filepath.Join(dir, "missing"), "", true},
		{filepath.Join(dir, "missing"), "", true},
		{"@", "", true},
		{dir, "", true}, // a directory is not a certificate
	}
	for _, c := range cases {
		got, err := readPEMFlag(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("readPEMFlag(%q) = %q, %v; want %q, error %v", c.in, got, err, c.want, c.err)
		}
	}
}

// FuzzRaftPeerRows feeds arbitrary server JSON to the list-peers table: a
// malformed configuration must be an error, never a panic.
func FuzzRaftPeerRows(f *testing.F) {
	seed, _ := json.Marshal(raftConfiguration()["data"].(map[string]any)["config"])
	f.Add(seed)
	f.Add([]byte(`{"servers":[{"node_id":1,"leader":"x"}]}`))
	f.Add([]byte(`{"servers":{}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var config any
		if json.Unmarshal(data, &config) != nil {
			return
		}
		rows, err := raftPeerRows(config)
		if err != nil {
			return
		}
		if len(rows) == 0 || rows[0][0] != "Node" {
			t.Fatalf("rows without header: %v", rows)
		}
		for _, r := range rows[1:] {
			if len(r) != 4 || (r[2] != "leader" && r[2] != "follower") {
				t.Fatalf("bad row %v", r)
			}
		}
	})
}
