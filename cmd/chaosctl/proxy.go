package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/internal/httpcall"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// proxyCommand serves toxiproxy's API: the fault plane of the docker runtime
// runs it in a container of chaosctl's own image.
func proxyCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:   "proxy",
		Usage:  "serve a toxiproxy API behind the run's token, with a dead-man lease (the docker and kubernetes fault planes)",
		Hidden: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8474", Usage: "address of the toxiproxy API"},
		},
		Action: func(c *cli.Context) error {
			// Signals first: once the port answers, a stop signal must stop
			// the plane cleanly, not kill it.
			ctx, stop := signal.NotifyContext(c.Context, stopSignals...)
			defer stop()
			// The token comes from the environment: a command line is
			// readable by every local user.
			token := os.Getenv(demo.EnvControlToken)
			if token == "" {
				// Locked: a random token no one knows; only GET /version
				// answers (a service to probe, never a door).
				token = httpcall.NewToken()
				e.log.Warnf("proxy: %s is not set: the API answers only GET /version, every other request 401", demo.EnvControlToken)
			}
			ln, err := net.Listen("tcp", c.String("listen"))
			if err != nil {
				return usageError(fmt.Errorf("proxy --listen %s: %w", c.String("listen"), err))
			}
			e.log.WithField("addr", ln.Addr().String()).Info("fault plane API serving")
			return faultplane.Serve(ctx, ln, token, e.log.WithField("component", "faultplane"))
		},
	}
}
