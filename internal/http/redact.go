package http

// Redaction is a listener's redact_* settings: what sys/seal-status,
// sys/health and sys/leader leave out for callers on that listener. As in
// Vault, a redacted value becomes the empty string.
type Redaction struct {
	Addresses   bool // redact_addresses: leader_address, leader_cluster_address
	ClusterName bool // redact_cluster_name: cluster_name
	Version     bool // redact_version: version, build_date
}

func (r Redaction) apply(body map[string]any) {
	blank := func(keys ...string) {
		for _, k := range keys {
			if _, ok := body[k]; ok {
				body[k] = ""
			}
		}
	}
	if r.Addresses {
		blank("leader_address", "leader_cluster_address")
	}
	if r.ClusterName {
		blank("cluster_name")
	}
	if r.Version {
		blank("version", "build_date")
	}
}
