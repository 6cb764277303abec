package command

import (
	"strings"
	"testing"
)

func mountsResponse() map[string]any {
	return map[string]any{"data": map[string]any{
		"secret/": map[string]any{"type": "kv", "accessor": "kv_1", "description": "", "uuid": "u1",
			"options": map[string]any{"version": "2"}, "config": map[string]any{"default_lease_ttl": 0, "max_lease_ttl": 3600}},
		"sys/": map[string]any{"type": "system", "accessor": "system_1", "description": "system endpoints", "uuid": "u2",
			"config": map[string]any{}},
	}}
}

func TestSecretsEnable(t *testing.T) {
	cases := []struct {
		args []string
		path string
		want map[string]any
		out  string
	}{
		{[]string{"-path=secret", "kv"}, "secret", map[string]any{"type": "kv"},
			"Success! Enabled the kv secrets engine at: secret/\n"},
		{[]string{"-path=secret", "kv-v2"}, "secret", map[string]any{"type": "kv", "version": "2"},
			"Success! Enabled the kv-v2 secrets engine at: secret/\n"},
		{[]string{"kv-v2"}, "kv-v2", map[string]any{"type": "kv", "version": "2"},
			"Success! Enabled the kv-v2 secrets engine at: kv-v2/\n"},
		{[]string{"-path=secret", "-version=2", "kv"}, "secret", map[string]any{"type": "kv", "version": "2"},
			"Success! Enabled the kv secrets engine at: secret/\n"},
		{[]string{"-path=/team/", "-description=team secrets", "-default-lease-ttl=1h", "-max-lease-ttl=1d",
			"-options=foo=bar", "-local", "transit"}, "team",
			map[string]any{"type": "transit", "description": "team secrets", "default_lease_ttl": "1h",
				"max_lease_ttl": "1d", "foo": "bar", "local": true},
			"Success! Enabled the transit secrets engine at: team/\n"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			f := newFakeVault(t)
			f.on("PUT /v1/sys/mounts/"+c.path, 204, nil)
			res := newCLI(t, f.srv.URL).run("", append([]string{"secrets", "enable"}, c.args...)...).want(t, 0)
			if res.stdout != c.out {
				t.Errorf("stdout %q, want %q", res.stdout, c.out)
			}
			b := f.only("PUT /v1/sys/mounts/" + c.path).Body
			opts, _ := b["options"].(map[string]any)
			cfg, _ := b["config"].(map[string]any)
			for k, want := range c.want {
				var got any
				switch k {
				case "version", "foo":
					got = opts[k]
				case "default_lease_ttl", "max_lease_ttl":
					got = cfg[k]
				default:
					got = b[k]
				}
				if got != want {
					t.Errorf("%s = %v, want %v (body %v)", k, got, want, b)
				}
			}
			if _, ok := c.want["version"]; !ok && opts["version"] != nil {
				t.Errorf("version sent unasked: %v", b)
			}
		})
	}
	f := newFakeVault(t)
	f.on("PUT /v1/sys/mounts/kv", 400, map[string]any{"errors": []string{"path is already in use at kv/"}})
	res := newCLI(t, f.srv.URL).run("", "secrets", "enable", "kv").want(t, 2)
	if !strings.HasPrefix(res.stderr, "Error enabling: Error making API request.") || !strings.Contains(res.stderr, "* path is already in use at kv/") {
		t.Errorf("stderr %q", res.stderr)
	}
	newCLI(t, f.srv.URL).run("", "secrets", "enable").want(t, 1)
	newCLI(t, f.srv.URL).run("", "secrets", "enable", "-default-lease-ttl=soon", "kv").want(t, 1)
}

func TestSecretsListDisableTuneMove(t *testing.T) {
	f := newFakeVault(t)
	f.on("GET /v1/sys/mounts", 200, mountsResponse())
	f.on("DELETE /v1/sys/mounts/secret", 204, nil)
	f.on("PUT /v1/sys/mounts/secret/tune", 204, nil)
	f.on("PUT /v1/sys/remount", 200, map[string]any{"data": map[string]any{"migration_id": "m-1"}})
	c := newCLI(t, f.srv.URL)

	res := c.run("", "secrets", "list").want(t, 0)
	want := "Path       Type      Accessor    Description\n----       ----      --------    -----------\nsecret/    kv        kv_1        n/a\nsys/       system    system_1    system endpoints\n"
	if res.stdout != want {
		t.Errorf("list:\n%q\nwant\n%q", res.stdout, want)
	}
	res = c.run("", "secrets", "list", "-detailed").want(t, 0)
	for _, w := range []string{"Default TTL", "Options", "map[version:2]", "system", "3600", "replicated"} {
		if !strings.Contains(res.stdout, w) {
			t.Errorf("detailed list lacks %q:\n%s", w, res.stdout)
		}
	}
	res = c.run("", "secrets", "list", "-format=json").want(t, 0)
	if !strings.Contains(res.stdout, `"secret/": {`) || !strings.Contains(res.stdout, `"accessor": "kv_1"`) {
		t.Errorf("json list: %s", res.stdout)
	}
	if res := c.run("", "secrets", "disable", "secret").want(t, 0); res.stdout != "Success! Disabled the secrets engine (if it existed) at: secret/\n" {
		t.Errorf("disable: %q", res.stdout)
	}
	c.run("", "secrets", "tune", "-max-lease-ttl=2h", "-version=2", "secret/").want(t, 0)
	b := f.only("PUT /v1/sys/mounts/secret/tune").Body
	if b["max_lease_ttl"] != "2h" || b["options"].(map[string]any)["version"] != "2" || b["default_lease_ttl"] != nil {
		t.Errorf("tune body %v", b)
	}
	res = c.run("", "secrets", "move", "secret", "generic").want(t, 0)
	if res.stdout != "Started moving secrets engine secret/ to generic/, with migration ID m-1\n" {
		t.Errorf("move: %q", res.stdout)
	}
	if b := f.only("PUT /v1/sys/remount").Body; b["from"] != "secret/" || b["to"] != "generic/" {
		t.Errorf("move body %v", b)
	}
}

func TestAuthCommands(t *testing.T) {
	f := newFakeVault(t)
	f.on("PUT /v1/sys/auth/corp", 204, nil)
	f.on("PUT /v1/sys/auth/userpass", 204, nil)
	f.on("DELETE /v1/sys/auth/corp", 204, nil)
	f.on("PUT /v1/sys/auth/corp/tune", 204, nil)
	f.on("GET /v1/sys/auth", 200, map[string]any{"data": map[string]any{
		"token/": map[string]any{"type": "token", "accessor": "auth_token_1", "description": "token based credentials",
			"config": map[string]any{"token_type": "default-service"}},
	}})
	c := newCLI(t, f.srv.URL)
	if res := c.run("", "auth", "enable", "userpass").want(t, 0); res.stdout != "Success! Enabled userpass auth method at: userpass/\n" {
		t.Errorf("enable: %q", res.stdout)
	}
	c.run("", "auth", "enable", "-path=corp", "-description=corp users", "-token-type=batch", "userpass").want(t, 0)
	b := f.only("PUT /v1/sys/auth/corp").Body
	if b["type"] != "userpass" || b["description"] != "corp users" || b["config"].(map[string]any)["token_type"] != "batch" {
		t.Errorf("enable body %v", b)
	}
	res := c.run("", "auth", "list").want(t, 0)
	if res.stdout != "Path      Type     Accessor        Description                Version\n----      ----     --------        -----------                -------\ntoken/    token    auth_token_1    token based credentials    n/a\n" {
		t.Errorf("auth list: %q", res.stdout)
	}
	res = c.run("", "auth", "list", "-detailed").want(t, 0)
	if !strings.Contains(res.stdout, "Token Type") || !strings.Contains(res.stdout, "default-service") {
		t.Errorf("detailed auth list: %s", res.stdout)
	}
	if res := c.run("", "auth", "disable", "corp").want(t, 0); res.stdout != "Success! Disabled the auth method (if it existed) at: corp/\n" {
		t.Errorf("disable: %q", res.stdout)
	}
	c.run("", "auth", "tune", "-default-lease-ttl=30m", "corp").want(t, 0)
	if b := f.only("PUT /v1/sys/auth/corp/tune").Body; b["default_lease_ttl"] != "30m" {
		t.Errorf("tune body %v", b)
	}
}

func TestAuditCommands(t *testing.T) {
	f := newFakeVault(t)
	f.on("PUT /v1/sys/audit/file", 204, nil)
	f.on("DELETE /v1/sys/audit/file", 204, nil)
	c := newCLI(t, f.srv.URL)

	f.on("GET /v1/sys/audit", 200, map[string]any{"data": map[string]any{}})
	res := c.run("", "audit", "list").want(t, 2)
	if res.stdout != "No audit devices are enabled.\n" {
		t.Errorf("empty list: %q", res.stdout)
	}
	res = c.run("", "audit", "enable", "file", "file_path=/var/log/strongbox-audit.log", "mode=0600").want(t, 0)
	if res.stdout != "Success! Enabled the file audit device at: file/\n" {
		t.Errorf("enable: %q", res.stdout)
	}
	b := f.only("PUT /v1/sys/audit/file").Body
	opts := b["options"].(map[string]any)
	if b["type"] != "file" || opts["file_path"] != "/var/log/strongbox-audit.log" || opts["mode"] != "0600" {
		t.Errorf("enable body %v", b)
	}
	f.on("GET /v1/sys/audit", 200, map[string]any{"data": map[string]any{
		"file/": map[string]any{"type": "file", "path": "file/", "description": "",
			"options": map[string]any{"file_path": "/var/log/a.log", "mode": "0600"}},
	}})
	res = c.run("", "audit", "list").want(t, 0)
	if res.stdout != "Path     Type    Description\n----     ----    -----------\nfile/    file    n/a\n" {
		t.Errorf("list: %q", res.stdout)
	}
	res = c.run("", "audit", "list", "-detailed").want(t, 0)
	if !strings.Contains(res.stdout, "replicated     file_path=/var/log/a.log mode=0600") {
		t.Errorf("detailed: %q", res.stdout)
	}
	if res := c.run("", "audit", "disable", "file").want(t, 0); res.stdout != "Success! Disabled audit device (if it was enabled) at: file/\n" {
		t.Errorf("disable: %q", res.stdout)
	}
	c.run("", "audit", "enable").want(t, 1)
}
