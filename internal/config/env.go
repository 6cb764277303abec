package config

import (
	"fmt"
	"strconv"
	"strings"
)

// ApplyEnv applies environment overrides, which win over the files, as in
// Vault. Each setting has Vault's name(s) and a STRONGBOX_ alias; when both
// are set Vault's wins, as it does in the CLI, so an environment prepared
// for Vault behaves the same. Pass os.Getenv.
//
//	api_addr          VAULT_API_ADDR, STRONGBOX_API_ADDR, VAULT_REDIRECT_ADDR, VAULT_ADVERTISE_ADDR
//	cluster_addr      VAULT_CLUSTER_ADDR, STRONGBOX_CLUSTER_ADDR
//	log_level         VAULT_LOG_LEVEL, STRONGBOX_LOG_LEVEL
//	log_format        VAULT_LOG_FORMAT, STRONGBOX_LOG_FORMAT
//	disable_mlock     VAULT_DISABLE_MLOCK, STRONGBOX_DISABLE_MLOCK
//	raft path         VAULT_RAFT_PATH, STRONGBOX_RAFT_PATH       (raft storage only)
//	raft node_id      VAULT_RAFT_NODE_ID, STRONGBOX_RAFT_NODE_ID (raft storage only)
//
// Vault reads VAULT_REDIRECT_ADDR and VAULT_ADVERTISE_ADDR only when
// VAULT_API_ADDR is empty; so does this. The error is for a variable whose
// value cannot be parsed; nothing is changed then.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	first := func(names ...string) (string, string) {
		for _, n := range names {
			if v := strings.TrimSpace(getenv(n)); v != "" {
				return n, v
			}
		}
		return "", ""
	}
	mlockVar, mlock := first("VAULT_DISABLE_MLOCK", "STRONGBOX_DISABLE_MLOCK")
	var disableMlock bool
	if mlockVar != "" {
		b, err := strconv.ParseBool(mlock)
		if err != nil {
			return fmt.Errorf("config: %s=%q: expected a boolean", mlockVar, mlock)
		}
		disableMlock = b
	}

	if _, v := first("VAULT_API_ADDR", "STRONGBOX_API_ADDR", "VAULT_REDIRECT_ADDR", "VAULT_ADVERTISE_ADDR"); v != "" {
		c.APIAddr = v
	}
	if _, v := first("VAULT_CLUSTER_ADDR", "STRONGBOX_CLUSTER_ADDR"); v != "" {
		c.ClusterAddr = v
	}
	if _, v := first("VAULT_LOG_LEVEL", "STRONGBOX_LOG_LEVEL"); v != "" {
		c.LogLevel = v
	}
	if _, v := first("VAULT_LOG_FORMAT", "STRONGBOX_LOG_FORMAT"); v != "" {
		c.LogFormat = v
	}
	if mlockVar != "" {
		c.DisableMlock = disableMlock
	}
	if c.Storage != nil && c.Storage.Type == "raft" {
		if c.Storage.Config == nil {
			c.Storage.Config = map[string]string{}
		}
		if _, v := first("VAULT_RAFT_PATH", "STRONGBOX_RAFT_PATH"); v != "" {
			c.Storage.Config["path"] = v
		}
		if _, v := first("VAULT_RAFT_NODE_ID", "STRONGBOX_RAFT_NODE_ID"); v != "" {
			c.Storage.Config["node_id"] = v
		}
	}
	return nil
}
