package testcluster

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel kill a node when the test binary dies (a
// panic, a -timeout), so no server outlives its test even when t.Cleanup
// never runs.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
