package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/demo/member"
)

// nodeCommand runs one demo cluster member. It is hidden: chaosctl starts it in
// child processes and containers.
func nodeCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:   "node",
		Usage:  "run one demo cluster member (internal)",
		Hidden: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Required: true, Usage: "member configuration as JSON (demo.MemberConfig)"},
		},
		Action: func(c *cli.Context) error {
			cfg, err := demo.DecodeMemberConfig(c.String("config"))
			if err != nil {
				return usageError(err)
			}
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go member.WatchParent(ctx, cancel)
			err = member.Run(ctx, cfg, member.Options{
				ControlToken: os.Getenv(demo.EnvControlToken),
				Log:          e.log.WithField("component", "member"),
			})
			if err != nil {
				return fmt.Errorf("node %s: %w", cfg.ID, err)
			}
			return nil
		},
	}
}
