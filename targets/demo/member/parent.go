package member

import (
	"context"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets/demo"
)

// RunChild runs cfg as the member this child process is: Run with the
// control token of demo.EnvControlToken, until ctx ends, SIGINT or SIGTERM
// arrives, or the parent is gone (WatchParent).
func RunChild(ctx context.Context, cfg demo.MemberConfig, log *logrus.Entry) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go WatchParent(ctx, cancel)
	return Run(ctx, cfg, Options{ControlToken: os.Getenv(demo.EnvControlToken), Log: log})
}

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
