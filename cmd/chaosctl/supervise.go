package main

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/supervisor"
)

// superviseCommand runs a demo member as a child process with a control API
// to kill, start, stop, pause and resume it: the entry point of member pods
// on the kubernetes runtime.
func superviseCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "supervise",
		Usage:     "run a member under a control API (the kubernetes runtime's member pods)",
		ArgsUsage: "-- CHAOSCTL-ARGS...",
		Hidden:    true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:7001", Usage: "address of the control API"},
		},
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) == 0 {
				return usageError(errors.New("supervise: give the member's chaosctl arguments after --"))
			}
			token := os.Getenv(demo.EnvControlToken)
			if token == "" {
				return usageError(fmt.Errorf("supervise: %s is not set", demo.EnvControlToken))
			}
			exe, err := os.Executable()
			if err != nil {
				return withCode(exitEnvironment, fmt.Errorf("find own executable: %w", err))
			}
			sup, err := supervisor.New(supervisor.Options{Argv: append([]string{exe}, args...), Token: token, Log: e.log.WithField("component", "supervisor")})
			if err != nil {
				return usageError(err)
			}
			ln, err := net.Listen("tcp", c.String("listen"))
			if err != nil {
				return usageError(fmt.Errorf("supervise --listen %s: %w", c.String("listen"), err))
			}
			ctx, stop := supervisor.NotifyContext(c.Context)
			defer stop()
			err = sup.Run(ctx, ln)
			var exit *supervisor.ExitError
			if errors.As(err, &exit) {
				return withCode(exit.Code, err)
			}
			return err
		},
	}
}
