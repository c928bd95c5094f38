package member

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo"
)

// WatchParent calls stop when the process named by CHAOSCTL_PARENT_PID is no
// longer this process's parent. The parent-death signal covers most cases; this
// covers the rest (a parent that died before the child set the signal up, or a
// signal tied to a parent thread that never fired). It returns at once when the
// variable is unset, else when ctx ends.
func WatchParent(ctx context.Context, stop context.CancelFunc) {
	parent, err := strconv.Atoi(os.Getenv(demo.EnvParentPID))
	if err != nil {
		return
	}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if os.Getppid() != parent {
				stop()
				return
			}
		}
	}
}
