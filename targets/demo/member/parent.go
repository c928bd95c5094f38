package member

import (
	"context"
	"fmt"
	"net"
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
	ln, err := inheritedListener(cfg)
	if err != nil {
		return err
	}
	return Run(ctx, cfg, Options{ControlToken: os.Getenv(demo.EnvControlToken), Log: log, Listener: ln})
}

// inheritedListener returns the listener the parent handed over in the
// descriptor named by demo.EnvListenFD, or nil when there is none. It must be
// listening on cfg.Listen: a member never serves another address than the
// one its peers were told.
func inheritedListener(cfg demo.MemberConfig) (net.Listener, error) {
	v := os.Getenv(demo.EnvListenFD)
	if v == "" {
		return nil, nil
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("member %s: %s=%q: want a descriptor number of 3 or more", cfg.ID, demo.EnvListenFD, v)
	}
	f := os.NewFile(uintptr(fd), "listener")
	defer f.Close() // FileListener holds its own duplicate
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("member %s: the listener handed over in descriptor %d: %w", cfg.ID, fd, err)
	}
	if got := ln.Addr().String(); got != cfg.Listen {
		_ = ln.Close()
		return nil, fmt.Errorf("member %s: the listener handed over is on %s, not on its address %s", cfg.ID, got, cfg.Listen)
	}
	return ln, nil
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
