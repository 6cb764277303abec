package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

const okBase = `
storage "inmem" {}
listener "tcp" {
  tls_disable = true
}
`

func TestValidateOK(t *testing.T) {
	for name, src := range map[string]string{
		"base": okBase,
		"tls": `storage "file" { path = "/d" }
listener "tcp" {
  tls_cert_file = "/c"
  tls_key_file = "/k"
  tls_min_version = "tls12"
  tls_max_version = "tls13"
}`,
		"raft": `storage "raft" { path = "/r" }
cluster_addr = "https://a:8201"
listener "tcp" { tls_disable = 1 }`,
		"unix": `storage "inmem" {}
listener "unix" {
  address = "/run/s.sock"
  tls_disable = true
}`,
		"seal migration": okBase + `seal "transit" {
  disabled = true
}
seal "shamir" {}`,
		"xff": okBase + `listener "tcp" {
  address = "0.0.0.0:8300"
  tls_disable = true
  x_forwarded_for_authorized_addrs = "10.0.0.0/8,::1"
  x_forwarded_for_reject_not_authorized = true
}`,
		"ttls": okBase + "default_lease_ttl = \"1h\"\nmax_lease_ttl = \"2h\"\nlog_level = \"WARN\"\nlog_format = \"json\"\n",
	} {
		c := mustParse(t, name+".hcl", src)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", name, err)
		}
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"no storage", "listener \"tcp\" {\n tls_disable = true\n}\n", []string{"a storage stanza is required"}},
		{"unknown storage", "storage \"consul\" {}\nlistener \"tcp\" {\n tls_disable = true\n}\n", []string{`c.hcl:1: unknown storage type "consul" (known: file, inmem, raft)`}},
		{"unknown ha_storage", okBase + "ha_storage \"consul\" {}\n", []string{`c.hcl:6: ha_storage "consul": a separate HA backend is not built into Strongbox yet`}},
		{"no listener", "storage \"inmem\" {}\n", []string{"at least one listener is required"}},
		{"unknown listener type", "storage \"inmem\" {}\nlistener \"udp\" {\n tls_disable = true\n}\n", []string{`c.hcl:2: listener "udp": unknown listener type (known: tcp, unix)`}},
		{"tls without cert", "storage \"inmem\" {}\nlistener \"tcp\" {}\n", []string{`c.hcl:2: listener "tcp": tls_cert_file and tls_key_file are required unless tls_disable = true`}},
		{"tls without key", "storage \"inmem\" {}\nlistener \"tcp\" {\n tls_cert_file = \"/c\"\n}\n", []string{"tls_key_file are required"}},
		{"bad tls version", okBase + "listener \"tcp\" {\n address = \"a:1\"\n tls_disable = true\n tls_min_version = \"tls14\"\n}\n", []string{`c.hcl:6: listener "tcp": tls_min_version "tls14" is not one of tls10, tls11, tls12, tls13`}},
		{"bad tls max", okBase + "listener \"tcp\" {\n address = \"a:1\"\n tls_disable = true\n tls_max_version = \"ssl3\"\n}\n", []string{`tls_max_version "ssl3"`}},
		{"tls min above max", okBase + "listener \"tcp\" {\n address = \"a:1\"\n tls_disable = true\n tls_min_version = \"tls13\"\n tls_max_version = \"tls12\"\n}\n", []string{"tls_min_version tls13 is above tls_max_version tls12"}},
		{"contradicting client certs", okBase + "listener \"tcp\" {\n address = \"a:1\"\n tls_disable = true\n tls_require_and_verify_client_cert = true\n tls_disable_client_certs = true\n}\n", []string{"contradict"}},
		{"bad address", "storage \"inmem\" {}\nlistener \"tcp\" {\n address = \"8200\"\n tls_disable = true\n}\n", []string{`address "8200" is not host:port`}},
		{"bad cluster address", "storage \"inmem\" {}\nlistener \"tcp\" {\n cluster_address = \"x\"\n tls_disable = true\n}\n", []string{`cluster_address "x" is not host:port`}},
		{"unix without path", "storage \"inmem\" {}\nlistener \"unix\" {\n tls_disable = true\n}\n", []string{"address (the socket path) is required"}},
		{"proxy protocol without addrs", "storage \"inmem\" {}\nlistener \"tcp\" {\n tls_disable = true\n proxy_protocol_behavior = \"deny_unauthorized\"\n}\n", []string{"needs proxy_protocol_authorized_addrs"}},
		{"bad proxy protocol", "storage \"inmem\" {}\nlistener \"tcp\" {\n tls_disable = true\n proxy_protocol_behavior = \"sometimes\"\n}\n", []string{`proxy_protocol_behavior "sometimes"`}},
		{"xff without addrs", "storage \"inmem\" {}\nlistener \"tcp\" {\n tls_disable = true\n x_forwarded_for_reject_not_present = true\n}\n", []string{"need x_forwarded_for_authorized_addrs"}},
		{"bad xff addr", "storage \"inmem\" {}\nlistener \"tcp\" {\n tls_disable = true\n x_forwarded_for_authorized_addrs = \"10.0.0.0/33\"\n}\n", []string{`"10.0.0.0/33" is not an IP address or CIDR block`}},
		{"negative hop skips", "storage \"inmem\" {}\nlistener \"tcp\" {\n tls_disable = true\n x_forwarded_for_authorized_addrs = \"10.0.0.1\"\n x_forwarded_for_hop_skips = -1\n}\n", []string{"x_forwarded_for_hop_skips must not be negative"}},
		{"raft without cluster_addr", "storage \"raft\" {\n path = \"/r\"\n}\nlistener \"tcp\" {\n tls_disable = true\n}\n", []string{"c.hcl:1: raft storage needs cluster_addr"}},
		{"raft without clustering", "cluster_addr = \"https://a:8201\"\ndisable_clustering = true\nstorage \"raft\" {}\nlistener \"tcp\" {\n tls_disable = true\n}\n", []string{"c.hcl:3: disable_clustering cannot be true with raft storage"}},
		{"raft with ha_storage", "cluster_addr = \"https://a:8201\"\nstorage \"raft\" {}\nha_storage \"postgresql\" {}\nlistener \"tcp\" {\n tls_disable = true\n}\n", []string{"c.hcl:3: ha_storage cannot be used with raft storage"}},
		{"retry_join outside raft", "storage \"file\" {\n retry_join {\n  leader_api_addr = \"a\"\n }\n}\nlistener \"tcp\" {\n tls_disable = true\n}\n", []string{`retry_join belongs in raft storage, not "file"`}},
		{"two enabled seals", okBase + "seal \"transit\" {}\nseal \"awskms\" {}\n", []string{"c.hcl:7: two seal stanzas mean a seal migration"}},
		{"two disabled seals", okBase + "seal \"transit\" {\n disabled = true\n}\nseal \"awskms\" {\n disabled = true\n}\n", []string{"exactly one must have disabled = true"}},
		{"three seals", okBase + "seal \"a\" {}\nseal \"b\" {}\nseal \"c\" {}\n", []string{"c.hcl:8: at most two seal stanzas"}},
		{"bad log level", okBase + "log_level = \"loud\"\n", []string{`log_level "loud"`}},
		{"bad log format", okBase + "log_format = \"xml\"\n", []string{`log_format "xml"`}},
		{"default ttl above max", okBase + "default_lease_ttl = \"2h\"\nmax_lease_ttl = \"1h\"\n", []string{"default_lease_ttl (2h0m0s) is longer than max_lease_ttl (1h0m0s)"}},
		{"default ttl above system max", okBase + "default_lease_ttl = \"800h\"\n", []string{"max_lease_ttl (768h0m0s)"}},
		{"several at once", "listener \"udp\" {}\nlog_level = \"x\"\n", []string{"storage stanza is required", `listener "udp"`, `log_level "x"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := mustParse(t, "c.hcl", tc.src).Validate()
			if err == nil {
				t.Fatal("Validate succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("%v is not a *config.Error", err)
			}
		})
	}
}

func TestDevConfig(t *testing.T) {
	c := DevConfig("")
	if err := c.Validate(); err != nil {
		t.Fatalf("DevConfig does not validate: %v", err)
	}
	if c.Storage.Type != "inmem" || c.UI || !c.DisableMlock || len(c.Listeners) != 1 {
		t.Fatalf("DevConfig = %s", dump(t, c))
	}
	l := c.Listeners[0]
	if l.Address != DefaultListenAddress || !l.TLSDisable || l.Type != "tcp" {
		t.Fatalf("dev listener = %+v", l)
	}
	if got := DevConfig("127.0.0.1:18200").Listeners[0].Address; got != "127.0.0.1:18200" {
		t.Fatalf("DevConfig(addr) listens on %q", got)
	}
	// Each call is independent: no shared state between configs.
	a, b := DevConfig(""), DevConfig("")
	a.Storage.Config["x"] = "y"
	if len(b.Storage.Config) != 0 {
		t.Fatal("DevConfig results share maps")
	}
}

// TestVaultExamples parses configurations from Vault's documentation.
func TestVaultExamples(t *testing.T) {
	tests := []struct {
		file        string
		validateErr string // "" when Validate must pass
		check       func(t *testing.T, c *Config)
	}{
		{"docs-example.hcl", "docs-example.hcl:2: ui = true: the web UI is not built into Strongbox yet", func(t *testing.T, c *Config) {
			if c.Storage.Config["node_id"] != "raft_node_id" || c.Telemetry.StatsiteAddress != "127.0.0.1:8125" || !c.Telemetry.DisableHostname {
				t.Errorf("got %s", dump(t, c))
			}
		}},
		{"docs-consul.hcl", `unknown storage type "consul"`, func(t *testing.T, c *Config) {
			if c.Storage.Config["address"] != "127.0.0.1:8500" || !c.Listeners[0].TLSDisable {
				t.Errorf("got %s", dump(t, c))
			}
		}},
		{"raft-retry-join.hcl", "raft-retry-join.hcl:40: ui = true", func(t *testing.T, c *Config) {
			rj := c.Storage.RetryJoin
			if len(rj) != 3 || rj[0].LeaderClientKeyFile != "/etc/vault.d/ssl/tls.key" || rj[1].LeaderTLSServerName != "vault.example.com" ||
				!strings.Contains(rj[2].AutoJoin, `label_selector="app.kubernetes.io/name=vault,component=server"`) {
				t.Errorf("retry_join = %s", dump(t, c))
			}
			if c.Storage.Config["performance_multiplier"] != "1" || c.Storage.Config["autopilot_redundancy_zone"] != "zone-a" {
				t.Errorf("storage config = %v", c.Storage.Config)
			}
		}},
		{"custom-headers.hcl", "custom-headers.hcl:5: ui = true", func(t *testing.T, c *Config) {
			h := c.Listeners[0].CustomResponseHeaders
			if len(h) != 3 || h["default"]["X-Custom-Header"][0] != "Vault created header to meet security requirements" || len(h["3xx"]) != 1 {
				t.Errorf("headers = %v", h)
			}
		}},
		{"seal-transit.hcl", "", func(t *testing.T, c *Config) {
			if len(c.Seals) != 1 || c.Seals[0].Config["key_name"] != "transit_key_name" || c.Seals[0].Config["tls_skip_verify"] != "false" {
				t.Errorf("seal = %s", dump(t, c))
			}
		}},
		{"legacy.json", "legacy.json:18: plugin_directory", func(t *testing.T, c *Config) {
			if c.Storage.Type != "file" || c.ClusterName != "Vault" || c.MaxLeaseTTL.Hours() != 720 || c.Listeners[0].TLSDisable {
				t.Errorf("got %s", dump(t, c))
			}
		}},
		{"seal-migration.hcl", "seal-migration.hcl:21: service_registration: this Vault setting is not built into Strongbox yet", func(t *testing.T, c *Config) {
			if !c.Seals[0].Disabled || c.Storage.Config["max_parallel"] != "128" || c.Listeners[0].Type != "unix" || len(c.Ignored) != 1 {
				t.Errorf("got %s, ignored %q", dump(t, c), c.Ignored)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			c, err := Load(filepath.Join("testdata", "vault", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
			err = c.Validate()
			switch {
			case tc.validateErr == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.validateErr != "" && (err == nil || !strings.Contains(err.Error(), tc.validateErr)):
				t.Errorf("Validate = %v, want %q", err, tc.validateErr)
			}
		})
	}
}
