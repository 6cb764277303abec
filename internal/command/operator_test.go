package command

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sealStatus(sealed bool, progress int) map[string]any {
	return map[string]any{
		"type": "shamir", "initialized": true, "sealed": sealed, "t": 3, "n": 5,
		"progress": progress, "nonce": "", "version": "1.0.0", "build_date": "2024-01-01T00:00:00Z",
		"migration": false, "recovery_seal": false, "storage_type": "file",
	}
}

func TestStatus(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   map[string]any
		leader func(w http.ResponseWriter, r *http.Request)
		code   int
		out    []string
	}{
		{"unsealed", 200, func() map[string]any {
			s := sealStatus(false, 0)
			s["cluster_name"], s["cluster_id"] = "c1", "id1"
			return s
		}(), func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, 200, map[string]any{"ha_enabled": false})
		}, 0, []string{"Sealed          false", "Cluster Name    c1", "HA Enabled      false", "Storage Type    file"}},
		{"sealed", 200, sealStatus(true, 1), func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, 503, map[string]any{"errors": []string{"Vault is sealed"}})
		}, 2, []string{"Sealed             true", "Unseal Progress    1/3", "Unseal Nonce       n/a"}},
		{"error", 500, map[string]any{"errors": []string{"boom"}}, nil, 1, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeVault(t)
			f.on("GET /v1/sys/seal-status", c.status, c.body)
			if c.leader != nil {
				f.onFunc("GET /v1/sys/leader", c.leader)
			}
			res := newCLI(t, f.srv.URL).run("", "status").want(t, c.code)
			for _, want := range c.out {
				if !strings.Contains(res.stdout, want) {
					t.Errorf("status output lacks %q:\n%s", want, res.stdout)
				}
			}
			if c.code == 1 && !strings.Contains(res.stderr, "Error checking seal status") {
				t.Errorf("stderr %q", res.stderr)
			}
		})
	}

	f := newFakeVault(t)
	f.on("GET /v1/sys/seal-status", 200, sealStatus(true, 0))
	f.on("GET /v1/sys/leader", 200, map[string]any{"ha_enabled": false})
	res := newCLI(t, f.srv.URL).run("", "status", "-format=json").want(t, 2)
	var got map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
		t.Fatalf("json: %v\n%s", err, res.stdout)
	}
	if got["sealed"] != true || got["t"] != float64(3) || got["ha_enabled"] != false || got["storage_type"] != "file" {
		t.Errorf("json status %v", got)
	}
}

func TestOperatorInit(t *testing.T) {
	f := newFakeVault(t)
	f.on("PUT /v1/sys/init", 200, map[string]any{
		"keys":        []string{"aa", "bb", "cc"},
		"keys_base64": []string{"qg==", "uw==", "zA=="},
		"root_token":  "hvs.root",
	})
	c := newCLI(t, f.srv.URL)
	res := c.run("", "operator", "init", "-key-shares=3", "-key-threshold=2").want(t, 0)
	body := f.requests("PUT /v1/sys/init")[0].Body
	if body["secret_shares"] != num("3") || body["secret_threshold"] != num("2") {
		t.Errorf("init body %v", body)
	}
	for _, k := range []string{"recovery_shares", "recovery_threshold", "pgp_keys"} {
		if _, ok := body[k]; ok {
			t.Errorf("%s sent without being asked for: %v", k, body)
		}
	}
	for _, want := range []string{"Unseal Key 1: qg==\n", "Unseal Key 3: zA==\n", "\nInitial Root Token: hvs.root\n",
		"initialized with 3 key shares and a key threshold of 2"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("init output lacks %q:\n%s", want, res.stdout)
		}
	}

	res = c.run("", "operator", "init", "-format=json").want(t, 0)
	var m machineInit
	if err := json.Unmarshal([]byte(res.stdout), &m); err != nil {
		t.Fatal(err)
	}
	if m.RootToken != "hvs.root" || len(m.UnsealKeysB64) != 3 || m.UnsealKeysHex[0] != "aa" || m.UnsealShares != 5 || m.UnsealThreshold != 3 {
		t.Errorf("json init %+v", m)
	}

	dir := t.TempDir()
	keyA, keyB := filepath.Join(dir, "a.asc"), filepath.Join(dir, "b.asc")
	os.WriteFile(keyA, []byte{0x99, 0x01, 0x02}, 0o600)
	os.WriteFile(keyB, []byte("bW9yZQ==\n"), 0o600)
	c.run("", "operator", "init", "-key-shares=2", "-key-threshold=2", "-pgp-keys="+keyA+","+keyB,
		"-recovery-shares=4", "-recovery-threshold=2").want(t, 0)
	body = f.requests("PUT /v1/sys/init")[2].Body
	keys, _ := body["pgp_keys"].([]any)
	if len(keys) != 2 || keys[0] != "mQEC" || keys[1] != "bW9yZQ==" {
		t.Errorf("pgp_keys %v", body["pgp_keys"])
	}
	if body["recovery_shares"] != num("4") || body["recovery_threshold"] != num("2") {
		t.Errorf("recovery settings %v", body)
	}
	res = c.run("", "operator", "init", "-pgp-keys=keybase:alice").want(t, 1)
	if !strings.Contains(res.stderr, "keybase") {
		t.Errorf("stderr %q", res.stderr)
	}
}

func TestOperatorInitStatus(t *testing.T) {
	for _, c := range []struct {
		status int
		body   any
		code   int
		out    string
	}{
		{200, map[string]any{"initialized": true}, 0, "Strongbox is initialized\n"},
		{200, map[string]any{"initialized": false}, 2, "Strongbox is not initialized\n"},
		{500, map[string]any{"errors": []string{"boom"}}, 1, ""},
	} {
		f := newFakeVault(t)
		f.on("GET /v1/sys/init", c.status, c.body)
		res := newCLI(t, f.srv.URL).run("", "operator", "init", "-status").want(t, c.code)
		if res.stdout != c.out {
			t.Errorf("stdout %q, want %q", res.stdout, c.out)
		}
	}
}

func TestOperatorUnseal(t *testing.T) {
	f := newFakeVault(t)
	var keys []string
	f.onFunc("PUT /v1/sys/unseal", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		if body["reset"] == true {
			keys = nil
			writeJSON(w, 200, sealStatus(true, 0))
			return
		}
		keys = append(keys, body["key"].(string))
		writeJSON(w, 200, sealStatus(len(keys) < 3, len(keys)%3))
	})
	f.on("GET /v1/sys/leader", 200, map[string]any{"ha_enabled": false})
	c := newCLI(t, f.srv.URL)

	res := c.run("", "operator", "unseal", "key-one").want(t, 0)
	if !strings.Contains(res.stdout, "Unseal Progress    1/3") {
		t.Errorf("progress:\n%s", res.stdout)
	}
	// Piped stdin: one line is the key, nothing is prompted.
	res = c.run("key-two\nignored\n", "operator", "unseal").want(t, 0)
	if strings.Contains(res.stdout, "will be hidden") {
		t.Error("no prompt when stdin is a pipe")
	}
	// A terminal: prompt on stdout, read without echo.
	c.terminal, c.password = true, " key-three \n"
	res = c.run("", "operator", "unseal").want(t, 0)
	if !strings.HasPrefix(res.stdout, "Unseal Key (will be hidden): \n") || c.prompted != 1 {
		t.Errorf("prompt missing: %q (prompted %d)", res.stdout, c.prompted)
	}
	if !strings.Contains(res.stdout, "Sealed          false") {
		t.Errorf("should be unsealed:\n%s", res.stdout)
	}
	if strings.Join(keys, ",") != "key-one,key-two,key-three" {
		t.Errorf("keys sent %q", keys)
	}
	c.run("", "operator", "unseal", "-non-interactive").want(t, 1)

	c.terminal = false
	c.run("", "operator", "unseal", "-reset").want(t, 0)
	if keys != nil {
		t.Errorf("reset not sent: %v", keys)
	}
	res = c.run("", "operator", "unseal").want(t, 1)
	if !strings.Contains(res.stderr, "unseal key") {
		t.Errorf("empty stdin: %q", res.stderr)
	}
	c.run("", "operator", "unseal", "a", "b").want(t, 1)
}

func TestOperatorSealRotateStepDownKeyStatus(t *testing.T) {
	f := newFakeVault(t)
	f.on("PUT /v1/sys/seal", 204, nil)
	f.on("POST /v1/sys/rotate", 204, nil)
	f.on("PUT /v1/sys/step-down", 204, nil)
	f.on("GET /v1/sys/key-status", 200, map[string]any{"data": map[string]any{
		"term": 2, "install_time": "2024-05-06T07:08:09Z", "encryptions": 42}})
	c := newCLI(t, f.srv.URL)
	if res := c.run("", "operator", "seal").want(t, 0); res.stdout != "Success! Strongbox is sealed.\n" {
		t.Errorf("seal: %q", res.stdout)
	}
	res := c.run("", "operator", "rotate").want(t, 0)
	want := "Success! Rotated key\n\nKey Term            2\nInstall Time        06 May 24 07:08 UTC\nEncryption Count    42\n"
	if res.stdout != want {
		t.Errorf("rotate:\n%q\nwant\n%q", res.stdout, want)
	}
	f.only("POST /v1/sys/rotate")
	res = c.run("", "operator", "key-status", "-format=json").want(t, 0)
	if !strings.Contains(res.stdout, `"term": 2`) || !strings.Contains(res.stdout, `"encryptions": 42`) {
		t.Errorf("key-status json: %s", res.stdout)
	}
	if res := c.run("", "operator", "step-down").want(t, 0); res.stdout != "Success! Stepped down: "+f.srv.URL+"\n" {
		t.Errorf("step-down: %q", res.stdout)
	}
	f.on("PUT /v1/sys/seal", 403, map[string]any{"errors": []string{"permission denied"}})
	res = c.run("", "operator", "seal").want(t, 2)
	if !strings.HasPrefix(res.stderr, "Error sealing: Error making API request.") {
		t.Errorf("stderr %q", res.stderr)
	}
}

// TestOperatorInitAutoSeal: against an auto-unseal server, init sends
// recovery settings (Vault's 5/3 defaults) and no key shares.
func TestOperatorInitAutoSeal(t *testing.T) {
	f := newFakeVault(t)
	f.on("GET /v1/sys/seal-status", 200, map[string]any{"type": "pkcs11", "initialized": false, "sealed": true, "recovery_seal": true})
	f.on("PUT /v1/sys/init", 200, map[string]any{
		"keys": []string{}, "keys_base64": []string{}, "root_token": "hvs.root",
		"recovery_keys": []string{"aa"}, "recovery_keys_base64": []string{"qg=="},
	})
	c := newCLI(t, f.srv.URL)
	c.run("", "operator", "init").want(t, 0)
	body := f.requests("PUT /v1/sys/init")[0].Body
	if body["recovery_shares"] != num("5") || body["recovery_threshold"] != num("3") {
		t.Errorf("init body %v, want recovery 5/3", body)
	}
	if _, ok := body["secret_shares"]; ok {
		t.Errorf("secret_shares sent to an auto-unseal server: %v", body)
	}
}
