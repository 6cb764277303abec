package config

import (
	"strings"
	"testing"
)

func TestApplyEnv(t *testing.T) {
	base := func() *Config {
		return &Config{
			Storage:      &Storage{Type: "raft", Config: map[string]string{"path": "/file", "node_id": "file-node"}},
			APIAddr:      "https://file:8200",
			ClusterAddr:  "https://file:8201",
			LogLevel:     "info",
			DisableMlock: false,
		}
	}
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c *Config)
	}{
		{"nothing set keeps the file", nil, func(t *testing.T, c *Config) {
			if c.APIAddr != "https://file:8200" || c.ClusterAddr != "https://file:8201" || c.LogLevel != "info" {
				t.Errorf("changed without env: %+v", c)
			}
		}},
		{"VAULT_API_ADDR overrides api_addr", map[string]string{"VAULT_API_ADDR": "https://env:8200"}, func(t *testing.T, c *Config) {
			if c.APIAddr != "https://env:8200" {
				t.Errorf("APIAddr = %q", c.APIAddr)
			}
		}},
		{"VAULT_REDIRECT_ADDR when no VAULT_API_ADDR", map[string]string{"VAULT_REDIRECT_ADDR": "https://redirect:8200"}, func(t *testing.T, c *Config) {
			if c.APIAddr != "https://redirect:8200" {
				t.Errorf("APIAddr = %q", c.APIAddr)
			}
		}},
		{"VAULT_API_ADDR beats VAULT_REDIRECT_ADDR", map[string]string{"VAULT_API_ADDR": "https://api:8200", "VAULT_REDIRECT_ADDR": "https://redirect:8200", "VAULT_ADVERTISE_ADDR": "https://adv:8200"}, func(t *testing.T, c *Config) {
			if c.APIAddr != "https://api:8200" {
				t.Errorf("APIAddr = %q", c.APIAddr)
			}
		}},
		{"VAULT_ADVERTISE_ADDR last", map[string]string{"VAULT_ADVERTISE_ADDR": "https://adv:8200"}, func(t *testing.T, c *Config) {
			if c.APIAddr != "https://adv:8200" {
				t.Errorf("APIAddr = %q", c.APIAddr)
			}
		}},
		{"VAULT_ beats STRONGBOX_, as in the CLI", map[string]string{"VAULT_API_ADDR": "https://vault:8200", "STRONGBOX_API_ADDR": "https://sb:8200", "VAULT_CLUSTER_ADDR": "https://vault:8201", "STRONGBOX_CLUSTER_ADDR": "https://sb:8201"}, func(t *testing.T, c *Config) {
			if c.APIAddr != "https://vault:8200" || c.ClusterAddr != "https://vault:8201" {
				t.Errorf("APIAddr = %q, ClusterAddr = %q", c.APIAddr, c.ClusterAddr)
			}
		}},
		{"cluster, log level and format", map[string]string{"VAULT_CLUSTER_ADDR": "https://env:8201", "VAULT_LOG_LEVEL": "trace", "VAULT_LOG_FORMAT": "json"}, func(t *testing.T, c *Config) {
			if c.ClusterAddr != "https://env:8201" || c.LogLevel != "trace" || c.LogFormat != "json" {
				t.Errorf("got %q %q %q", c.ClusterAddr, c.LogLevel, c.LogFormat)
			}
		}},
		{"STRONGBOX_LOG_LEVEL alias", map[string]string{"STRONGBOX_LOG_LEVEL": "debug"}, func(t *testing.T, c *Config) {
			if c.LogLevel != "debug" {
				t.Errorf("LogLevel = %q", c.LogLevel)
			}
		}},
		{"disable mlock", map[string]string{"VAULT_DISABLE_MLOCK": "true"}, func(t *testing.T, c *Config) {
			if !c.DisableMlock {
				t.Error("DisableMlock not set")
			}
		}},
		{"raft path and node id", map[string]string{"VAULT_RAFT_PATH": "/env", "STRONGBOX_RAFT_NODE_ID": "env-node"}, func(t *testing.T, c *Config) {
			if c.Storage.Config["path"] != "/env" || c.Storage.Config["node_id"] != "env-node" {
				t.Errorf("storage config = %v", c.Storage.Config)
			}
		}},
		{"blank values are unset", map[string]string{"VAULT_API_ADDR": "  "}, func(t *testing.T, c *Config) {
			if c.APIAddr != "https://file:8200" {
				t.Errorf("APIAddr = %q", c.APIAddr)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			if err := c.ApplyEnv(func(k string) string { return tc.env[k] }); err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestApplyEnvRaftOnly(t *testing.T) {
	c := &Config{Storage: &Storage{Type: "file", Config: map[string]string{"path": "/file"}}}
	if err := c.ApplyEnv(func(k string) string { return map[string]string{"VAULT_RAFT_PATH": "/env"}[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Storage.Config["path"] != "/file" {
		t.Fatalf("VAULT_RAFT_PATH changed file storage: %v", c.Storage.Config)
	}
}

func TestApplyEnvBadBool(t *testing.T) {
	c := &Config{APIAddr: "https://file:8200"}
	err := c.ApplyEnv(func(k string) string {
		return map[string]string{"VAULT_DISABLE_MLOCK": "sure", "VAULT_API_ADDR": "https://env:8200"}[k]
	})
	if err == nil || !strings.Contains(err.Error(), "VAULT_DISABLE_MLOCK") {
		t.Fatalf("ApplyEnv = %v, want an error naming VAULT_DISABLE_MLOCK", err)
	}
	if c.APIAddr != "https://file:8200" {
		t.Fatal("a failed ApplyEnv changed the config")
	}
}
