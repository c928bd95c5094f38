package childproc

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/procfs"
)

// procFS is /proc, opened once.
var procFS = sync.OnceValues(procfs.NewDefaultFS)

// StateOf is the state letter of process pid in /proc/PID/stat (R, S, T, t,
// Z, ...), or "" when there is no such process.
func StateOf(pid int) string {
	fs, err := procFS()
	if err != nil {
		return ""
	}
	proc, err := fs.Proc(pid)
	if err != nil {
		return ""
	}
	st, err := proc.Stat()
	if err != nil {
		return ""
	}
	return st.State
}

// WaitStopped waits until process pid is stopped (state T or t: a SIGSTOP
// is delivered asynchronously), polling /proc every millisecond for at most
// within. A process that exits or is a zombie is an error.
func WaitStopped(ctx context.Context, pid int, within time.Duration) error {
	deadline := time.Now().Add(within)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		switch StateOf(pid) {
		case "T", "t":
			return nil
		case "", "Z", "X":
			return fmt.Errorf("pid %d exited instead of stopping", pid)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pid %d is not stopped %s after SIGSTOP", pid, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Status describes process pid as /proc sees it: running unless it is gone
// or a zombie, paused when stopped (state T or t).
func Status(pid int) (running, paused bool, detail string) {
	if pid <= 0 {
		return false, false, "no process"
	}
	st := StateOf(pid)
	switch st {
	case "", "Z", "X":
		if st == "" {
			return false, false, fmt.Sprintf("pid %d: no such process", pid)
		}
		return false, false, fmt.Sprintf("/proc/%d/stat state %s", pid, st)
	case "T", "t":
		return true, true, fmt.Sprintf("/proc/%d/stat state %s", pid, st)
	}
	return true, false, fmt.Sprintf("/proc/%d/stat state %s", pid, st)
}
