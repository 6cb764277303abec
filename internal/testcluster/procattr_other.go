//go:build !linux

package testcluster

import "os/exec"

// setProcAttr has nothing to set where the kernel offers no parent-death
// signal; t.Cleanup alone kills the nodes there.
func setProcAttr(*exec.Cmd) {}
