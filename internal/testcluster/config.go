package testcluster

import (
	"fmt"
	"net"
	"strings"
)

// nodeConfig is what one node's HCL configuration says.
type nodeConfig struct {
	ID      string
	Storage string // "raft" or "file"
	DataDir string
	// APIPort and ClusterPort are the node's real listeners on 127.0.0.1.
	APIPort, ClusterPort int
	// AdvertisedCluster is host:port of cluster_addr: the node's own
	// cluster listener, or its fault proxy.
	AdvertisedCluster string
	// Peers are the other nodes' api_addr URLs, one retry_join each (raft).
	Peers    []string
	LogLevel string
	Extra    string
	// StorageExtra is HCL placed inside the storage stanza.
	StorageExtra string
}

func (c nodeConfig) apiAddr() string { return fmt.Sprintf("http://127.0.0.1:%d", c.APIPort) }

// HCL renders the configuration the way an operator would write it.
func (c nodeConfig) HCL() string {
	var b strings.Builder
	fmt.Fprintf(&b, "storage %q {\n", c.Storage)
	fmt.Fprintf(&b, "  path = %q\n", c.DataDir)
	if c.StorageExtra != "" {
		b.WriteString("  " + strings.TrimSpace(c.StorageExtra) + "\n")
	}
	if c.Storage == "raft" {
		fmt.Fprintf(&b, "  node_id = %q\n", c.ID)
		for _, p := range c.Peers {
			// Test nodes serve plaintext API listeners: opt in to an
			// http:// leader explicitly, as an operator would have to.
			allow := ""
			if strings.HasPrefix(p, "http://") {
				allow = "    leader_allow_http = true\n"
			}
			fmt.Fprintf(&b, "  retry_join {\n    leader_api_addr = %q\n%s  }\n", p, allow)
		}
	}
	b.WriteString("}\n\n")
	b.WriteString("listener \"tcp\" {\n")
	fmt.Fprintf(&b, "  address         = \"127.0.0.1:%d\"\n", c.APIPort)
	fmt.Fprintf(&b, "  cluster_address = \"127.0.0.1:%d\"\n", c.ClusterPort)
	b.WriteString("  tls_disable     = true\n")
	b.WriteString("}\n\n")
	fmt.Fprintf(&b, "api_addr      = %q\n", c.apiAddr())
	fmt.Fprintf(&b, "cluster_addr  = %q\n", "https://"+c.AdvertisedCluster)
	b.WriteString("disable_mlock = true\n")
	if c.LogLevel != "" {
		fmt.Fprintf(&b, "log_level     = %q\n", c.LogLevel)
	}
	if c.Extra != "" {
		b.WriteString("\n" + c.Extra + "\n")
	}
	return b.String()
}

// freePorts returns n distinct free TCP ports on 127.0.0.1. All listeners
// are held until every port is chosen, so the n are distinct; another
// process can still take one before the node binds it, which the node's
// start then reports.
func freePorts(n int) ([]int, error) {
	lns := make([]net.Listener, 0, n)
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
