package main

import (
	"fmt"
	"net"
	"os/signal"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// proxyCommand serves toxiproxy's API: the fault plane of the docker runtime
// runs it in a container of chaosctl's own image.
func proxyCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:   "proxy",
		Usage:  "serve a toxiproxy API (the docker runtime's fault-plane container)",
		Hidden: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8474", Usage: "address of the toxiproxy API"},
		},
		Action: func(c *cli.Context) error {
			// Signals first: once the port answers, a stop signal must stop
			// the plane cleanly, not kill it.
			ctx, stop := signal.NotifyContext(c.Context, stopSignals...)
			defer stop()
			ln, err := net.Listen("tcp", c.String("listen"))
			if err != nil {
				return usageError(fmt.Errorf("proxy --listen %s: %w", c.String("listen"), err))
			}
			e.log.WithField("addr", ln.Addr().String()).Info("fault plane API serving")
			return faultplane.Serve(ctx, ln)
		},
	}
}
