package main

import (
	"fmt"

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
			if err := member.RunChild(c.Context, cfg, e.log.WithField("component", "member")); err != nil {
				return fmt.Errorf("node %s: %w", cfg.ID, err)
			}
			return nil
		},
	}
}
