package agent

import (
	"strings"
	"testing"
	"time"
)

func TestParseFullConfig(t *testing.T) {
	src := `
pid_file = "/run/agent.pid"
exit_after_auth = true
vault {
  address = "https://127.0.0.1:8200"
  ca_cert = "/ca.pem"
  client_cert = "/c.pem"
  client_key = "/k.pem"
  tls_skip_verify = false
  retry {
    num_retries = 5
  }
}
auto_auth {
  method "approle" {
    mount_path = "auth/my-approle"
    min_backoff = "2s"
    max_backoff = 60
    config {
      role_id_file_path = "/r"
      secret_id_file_path = "/s"
      remove_secret_id_file_after_reading = false
    }
  }
  sink "file" {
    config {
      path = "/tmp/a"
    }
  }
  sink "file" {
    config {
      path = "/tmp/b"
      mode = 0644
    }
  }
}
`
	c, err := Parse("agent.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.PidFile != "/run/agent.pid" || !c.ExitAfterAuth {
		t.Errorf("top level: %+v", c)
	}
	v := c.Vault
	if v.Address != "https://127.0.0.1:8200" || v.CACert != "/ca.pem" || v.ClientCert != "/c.pem" || v.ClientKey != "/k.pem" || v.NumRetries != 5 {
		t.Errorf("vault: %+v", v)
	}
	m := c.AutoAuth.Method
	if m.Type != "approle" || m.MountPath != "auth/my-approle" || m.MinBackoff != 2*time.Second || m.MaxBackoff != time.Minute ||
		m.RoleIDFile != "/r" || m.SecretIDFile != "/s" || m.RemoveSecretIDAfterRead {
		t.Errorf("method: %+v", m)
	}
	if len(c.AutoAuth.Sinks) != 2 || c.AutoAuth.Sinks[0] != (FileSink{Path: "/tmp/a", Mode: 0o640}) || c.AutoAuth.Sinks[1] != (FileSink{Path: "/tmp/b", Mode: 0o644}) {
		t.Errorf("sinks: %+v", c.AutoAuth.Sinks)
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := Parse("a.hcl", []byte(`auto_auth { method "approle" { config { role_id_file_path = "/r" } } }`))
	if err != nil {
		t.Fatal(err)
	}
	m := c.AutoAuth.Method
	if m.MountPath != "auth/approle" || !m.RemoveSecretIDAfterRead || m.MinBackoff != time.Second || m.MaxBackoff != 5*time.Minute {
		t.Errorf("method defaults: %+v", m)
	}
	if c.Vault.NumRetries != 12 {
		t.Errorf("num_retries default = %d, want 12", c.Vault.NumRetries)
	}
	c, err = Parse("a.hcl", []byte("vault {\n retry { num_retries = -1 }\n}\nauto_auth { method \"token_file\" { config { token_file_path = \"/t\" } } }"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Vault.NumRetries != 0 || c.AutoAuth.Method.TokenFilePath != "/t" {
		t.Errorf("num_retries -1 / token_file: %+v", c)
	}
}

func TestParseRefusesWithFileAndLine(t *testing.T) {
	const aa = "auto_auth {\n  method \"approle\" {\n    config { role_id_file_path = \"/r\" }\n  }\n}\n"
	cases := []struct {
		name, src, want string
	}{
		{"unknown top key", "exit_afterauth = true\n" + aa, `a.hcl:1: unknown key "exit_afterauth"`},
		{"not yet supported", aa + "telemetry {}\n", `a.hcl:6: "telemetry" is not supported by strongbox agent`},
		{"use_auto_auth_token twice", aa + "cache {\n  use_auto_auth_token = true\n}\napi_proxy {\n  use_auto_auth_token = \"force\"\n}\n", "a.hcl:9: use_auto_auth_token is set in both"},
		{"use_auto_auth_token value", aa + "api_proxy {\n  use_auto_auth_token = \"always\"\n}\n", "a.hcl:7: api_proxy: use_auto_auth_token must be"},
		{"listener tls files", aa + "listener \"tcp\" {\n  address = \"127.0.0.1:0\"\n}\n", "a.hcl:6: listener \"tcp\": tls_cert_file and tls_key_file are required"},
		{"unknown vault key", "vault {\n  adress = \"x\"\n}\n" + aa, `a.hcl:2: vault: unknown key "adress"`},
		{"unknown method config key", "auto_auth {\n  method \"approle\" {\n    config {\n      role_id_file_path = \"/r\"\n      role_id = \"x\"\n    }\n  }\n}\n", `a.hcl:5: method "approle" config: unknown key "role_id"`},
		{"wrap_ttl on sink", aa[:len(aa)-2] + "  sink \"file\" {\n    wrap_ttl = \"5m\"\n    config { path = \"/x\" }\n  }\n}\n", `a.hcl:6: sink "file": "wrap_ttl" is not supported`},
		{"sink without path", aa[:len(aa)-2] + "  sink \"file\" {\n    config { mode = 0600 }\n  }\n}\n", `sink "file" config: path is required`},
		{"bad mode", aa[:len(aa)-2] + "  sink \"file\" {\n    config {\n      path = \"/x\"\n      mode = \"rw\"\n    }\n  }\n}\n", `a.hcl:8: sink "file" config: mode: expected a file mode`},
		{"ldap without password file", "auto_auth {\n  method \"ldap\" {\n    config { username = \"a\" }\n  }\n}\n", `a.hcl:3: method "ldap" config: username and password_file_path are required`},
		{"cert without client cert", "auto_auth {\n  method \"cert\" {}\n}\n", `a.hcl:1: auto_auth: method "cert" needs vault { client_cert, client_key }`},
		{"cert method ca_cert", "vault {\n  client_cert = \"/c\"\n  client_key = \"/k\"\n}\nauto_auth {\n  method \"cert\" {\n    config { ca_cert = \"/x\" }\n  }\n}\n", `a.hcl:7: method "cert" config: "ca_cert" is not supported`},
		{"exec without env_template", aa + "exec {\n  command = [\"true\"]\n}\n", "a.hcl:6: exec needs at least one env_template"},
		{"env_template without exec", aa + "env_template \"A\" {\n  contents = \"x\"\n}\n", "env_template needs an exec stanza"},
		{"exec restart value", aa + "env_template \"A\" {\n  contents = \"x\"\n}\nexec {\n  command = \"true\"\n  restart_on_secret_changes = \"sometimes\"\n}\n", `a.hcl:9: exec: restart_on_secret_changes must be`},
		{"exec with template", aa + "env_template \"A\" {\n  contents = \"x\"\n}\nexec {\n  command = [\"true\"]\n}\ntemplate {\n  contents = \"y\"\n  destination = \"/z\"\n}\n", "exec and env_template cannot be combined with template"},
		{"unsupported method", "auto_auth {\n  method \"kubernetes\" {}\n}\n", `a.hcl:2: auto_auth: method "kubernetes" is not supported`},
		{"missing role id file", "auto_auth {\n  method \"approle\" {\n    config {}\n  }\n}\n", `role_id_file_path is required`},
		{"no auto_auth", "pid_file = \"/p\"\n", "auto_auth is required"},
		{"two methods", "auto_auth {\n  method \"approle\" { config { role_id_file_path = \"/r\" } }\n  method \"token_file\" { config { token_file_path = \"/t\" } }\n}\n", `a.hcl:3: auto_auth: only one method`},
		{"bad duration", "auto_auth {\n  method \"approle\" {\n    min_backoff = \"soon\"\n    config { role_id_file_path = \"/r\" }\n  }\n}\n", `a.hcl:3: method "approle": min_backoff: expected a duration`},
		{"bad bool", "exit_after_auth = \"maybe\"\n" + aa, `a.hcl:1: exit_after_auth: expected true or false`},
		{"num_retries below -1", "vault {\n  retry {\n    num_retries = -2\n  }\n}\n" + aa, "num_retries must be"},
		{"cert without key", "vault {\n  client_cert = \"/c\"\n}\n" + aa, "client_cert and client_key must be set together"},
		{"scalar twice", "pid_file = \"/a\"\npid_file = \"/b\"\n" + aa, "a.hcl:2: syntax error"},
		{"syntax", "vault {", "syntax error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("a.hcl", []byte(c.src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestParseJSON(t *testing.T) {
	c, err := Parse("a.json", []byte(`{"exit_after_auth": true, "auto_auth": {"method": {"approle": {"config": {"role_id_file_path": "/r"}}}, "sink": {"file": {"config": {"path": "/s", "mode": "0600"}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !c.ExitAfterAuth || c.AutoAuth.Method.RoleIDFile != "/r" || len(c.AutoAuth.Sinks) != 1 || c.AutoAuth.Sinks[0].Mode != 0o600 {
		t.Errorf("json: %+v", c)
	}
}

// FuzzParse: any input either fails with an error or yields a config
// with a supported method and sinks that all have a path.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`auto_auth { method "approle" { config { role_id_file_path = "/r" } } sink "file" { config { path = "/s" } } }`))
	f.Add([]byte(`{"auto_auth": {"method": {"token_file": {"config": {"token_file_path": "/t"}}}}}`))
	f.Add([]byte("vault {\n retry { num_retries = 3 }\n}"))
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := Parse("f.hcl", src)
		if err != nil {
			return
		}
		if c.AutoAuth.Method.Type != "approle" && c.AutoAuth.Method.Type != "token_file" {
			t.Fatalf("accepted method %q", c.AutoAuth.Method.Type)
		}
		for _, s := range c.AutoAuth.Sinks {
			if s.Path == "" || s.Mode > 0o777 {
				t.Fatalf("accepted sink %+v", s)
			}
		}
	})
}

func TestParseTemplates(t *testing.T) {
	const aa = "auto_auth {\n  method \"approle\" {\n    config { role_id_file_path = \"/r\" }\n  }\n}\n"
	c, err := Parse("a.hcl", []byte(aa+`
template {
  source = "/in.ctmpl"
  destination = "/out"
  perms = 0600
  command = "systemctl reload app"
  error_on_missing_key = true
  backup = true
}
template {
  contents = "{{ .x }}"
  destination = "/out2"
}
template_config {
  static_secret_render_interval = "10m"
  exit_on_retry_failure = true
}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Template{
		{Source: "/in.ctmpl", Destination: "/out", Perms: 0o600, Command: "systemctl reload app", ErrorOnMissingKey: true, Backup: true},
		{Contents: "{{ .x }}", Destination: "/out2"},
	}
	if len(c.Templates) != 2 || c.Templates[0] != want[0] || c.Templates[1] != want[1] {
		t.Errorf("templates: %+v", c.Templates)
	}
	if c.TemplateConfig != (TemplateConfig{StaticSecretRenderInterval: 10 * time.Minute, ExitOnRetryFailure: true}) {
		t.Errorf("template_config: %+v", c.TemplateConfig)
	}
	for src, want := range map[string]string{
		"template {\n  source = \"/a\"\n  contents = \"b\"\n  destination = \"/c\"\n}\n":      "a.hcl:6: template: exactly one of source and contents",
		"template {\n  source = \"/a\"\n}\n":                                                  "a.hcl:6: template: destination is required",
		"template {\n  source = \"/a\"\n  destination = \"/c\"\n  wait { min = \"1s\" }\n}\n": `a.hcl:9: template: "wait" is not supported`,
		"template_config {\n  max_connections_per_host = 3\n}\n":                              `a.hcl:7: template_config: "max_connections_per_host" is not supported`,
	} {
		if _, err := Parse("a.hcl", []byte(aa+src)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", src, err, want)
		}
	}
}

func TestParseProxyRefusesAgentSettings(t *testing.T) {
	const base = "auto_auth {\n  method \"approle\" {\n    config { role_id_file_path = \"/r\" }\n  }\n}\nlistener \"tcp\" {\n  address = \"127.0.0.1:8100\"\n  tls_disable = true\n}\n"
	c, err := ParseProxy("p.hcl", []byte(base+"api_proxy {\n  use_auto_auth_token = \"force\"\n}\ncache {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Cache || c.UseAutoAuthToken != "force" || len(c.Listeners) != 1 || c.Listeners[0].Address != "127.0.0.1:8100" {
		t.Errorf("proxy config: %+v", c)
	}
	for _, extra := range []string{"exit_after_auth = true\n", "template {\n  contents = \"x\"\n  destination = \"/y\"\n}\n"} {
		_, err := ParseProxy("p.hcl", []byte(base+extra))
		if err == nil || !strings.Contains(err.Error(), "p.hcl:10:") || !strings.Contains(err.Error(), "strongbox proxy does not take it") {
			t.Errorf("%q: err = %v", extra, err)
		}
	}
	// A proxy needs no auto_auth when it adds no token.
	if _, err := ParseProxy("p.hcl", []byte("listener \"unix\" {\n  address = \"/tmp/s\"\n  tls_disable = true\n}\n")); err != nil {
		t.Errorf("proxy without auto_auth: %v", err)
	}
}
