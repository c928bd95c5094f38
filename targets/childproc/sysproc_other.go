//go:build !linux

package childproc

import "syscall"

// sysProcAttr puts the child in a process group of its own. Outside Linux
// there is no parent-death signal: a child of a chaosctl that was killed
// runs on until `chaosctl recover` ends its group.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
