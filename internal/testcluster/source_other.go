//go:build !linux

package testcluster

import (
	"fmt"
	"net"
)

// canIdentifySources is false where there is no /proc socket table:
// Cluster.Partition is then unavailable, Cut and Delay still work.
func canIdentifySources() bool { return false }

func socketOwner(addr net.Addr, _ []int) (int, error) {
	return 0, fmt.Errorf("socket owner of %v: %w", addr, ErrNoFaults)
}
