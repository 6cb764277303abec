package server

import (
	"errors"
	"fmt"
	"syscall"
)

// errMlock explains how to proceed when memory cannot be locked.
var errMlock = errors.New(`failed to lock memory (mlockall). Strongbox locks memory so that secrets are never swapped to disk.
Give the process the IPC_LOCK capability (e.g. setcap cap_ipc_lock=+ep $(readlink -f $(which strongbox))),
raise its RLIMIT_MEMLOCK, or set disable_mlock = true in the configuration (fine when swap is disabled or encrypted)`)

// lockMemory locks current and future pages of the process in RAM.
func lockMemory() error {
	if err := syscall.Mlockall(syscall.MCL_CURRENT | syscall.MCL_FUTURE); err != nil {
		return fmt.Errorf("%w: %v", errMlock, err)
	}
	return nil
}
