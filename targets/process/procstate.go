package process

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"time"
)

// procState is the state letter of /proc/PID/stat (R, S, T, Z, ...), or 0
// when the process is gone.
func procState(pid int) byte {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}

// WaitStopped waits until process pid is stopped (a SIGSTOP is delivered
// asynchronously), polling /proc for at most within.
func WaitStopped(ctx context.Context, pid int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		switch procState(pid) {
		case 'T', 't':
			return nil
		case 0, 'Z', 'X':
			return fmt.Errorf("pid %d exited instead of stopping", pid)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pid %d is not stopped %s after SIGSTOP", pid, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}
