package testcluster

import (
	"fmt"
	"slices"
	"testing"

	"github.com/strongbox/strongbox/internal/config"
)

// TestPlannedConfigsParse renders every node's HCL and reads it back with
// the server's own config package, so a generated file is one the server
// accepts and says what the harness means.
func TestPlannedConfigsParse(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		proxied bool
	}{
		{"file, one node", Options{Storage: "file"}, false},
		{"raft, three nodes", Options{Storage: "raft"}, false},
		{"raft, five nodes behind proxies", Options{Storage: "raft", Nodes: 5, ExtraConfig: `cluster_name = "t"`}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts.withDefaults()
			ports := make([]int, 2*opts.Nodes)
			for i := range ports {
				ports[i] = 20000 + i
			}
			cfgs := plan(opts, "/tmp/tc", ports)
			if len(cfgs) != opts.Nodes {
				t.Fatalf("%d configs for %d nodes", len(cfgs), opts.Nodes)
			}
			for i, nc := range cfgs {
				if tc.proxied {
					nc.AdvertisedCluster = fmt.Sprintf("127.0.0.1:%d", 30000+i)
				}
				cfg, err := config.Parse(nc.ID+".hcl", []byte(nc.HCL()))
				if err != nil {
					t.Fatalf("parse:\n%s\n%v", nc.HCL(), err)
				}
				if err := cfg.Validate(); err != nil {
					t.Fatalf("validate:\n%s\n%v", nc.HCL(), err)
				}
				checkPlanned(t, opts, nc, cfg, cfgs)
			}
		})
	}
}

func checkPlanned(t *testing.T, opts Options, nc nodeConfig, cfg *config.Config, all []nodeConfig) {
	t.Helper()
	if cfg.Storage.Type != opts.Storage || cfg.Storage.Config["path"] != nc.DataDir {
		t.Errorf("%s: storage %s %v", nc.ID, cfg.Storage.Type, cfg.Storage.Config)
	}
	if len(cfg.Listeners) != 1 {
		t.Fatalf("%s: %d listeners", nc.ID, len(cfg.Listeners))
	}
	l := cfg.Listeners[0]
	if l.Address != fmt.Sprintf("127.0.0.1:%d", nc.APIPort) || l.ClusterAddress != fmt.Sprintf("127.0.0.1:%d", nc.ClusterPort) || !l.TLSDisable {
		t.Errorf("%s: listener %s cluster %s tls_disable %v", nc.ID, l.Address, l.ClusterAddress, l.TLSDisable)
	}
	if cfg.APIAddr != nc.apiAddr() || cfg.ClusterAddr != "https://"+nc.AdvertisedCluster || !cfg.DisableMlock {
		t.Errorf("%s: api_addr %s cluster_addr %s disable_mlock %v", nc.ID, cfg.APIAddr, cfg.ClusterAddr, cfg.DisableMlock)
	}
	if opts.ExtraConfig != "" && cfg.ClusterName != "t" {
		t.Errorf("%s: extra config lost: cluster_name %q", nc.ID, cfg.ClusterName)
	}
	if opts.Storage != "raft" {
		if len(cfg.Storage.RetryJoin) != 0 {
			t.Errorf("%s: retry_join on %s storage", nc.ID, opts.Storage)
		}
		return
	}
	if cfg.Storage.Config["node_id"] != nc.ID {
		t.Errorf("%s: node_id %q", nc.ID, cfg.Storage.Config["node_id"])
	}
	var joins, want []string
	for _, rj := range cfg.Storage.RetryJoin {
		joins = append(joins, rj.LeaderAPIAddr)
	}
	for _, other := range all {
		if other.ID != nc.ID {
			want = append(want, other.apiAddr())
		}
	}
	if !slices.Equal(joins, want) {
		t.Errorf("%s: retry_join %v, want every other node %v", nc.ID, joins, want)
	}
}

func TestOptionsDefaults(t *testing.T) {
	if o := (Options{}).withDefaults(); o.Storage != "file" || o.Nodes != 1 || o.KeyShares != 3 || o.KeyThreshold != 2 {
		t.Errorf("zero options = %+v", o)
	}
	if o := (Options{Storage: "raft"}).withDefaults(); o.Nodes != 3 {
		t.Errorf("raft default nodes = %d, want 3", o.Nodes)
	}
}
