package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/targets/docker"
)

func imageCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "image",
		Usage: "the container image of the docker runtime",
		Subcommands: []*cli.Command{{
			Name:  "build",
			Usage: "build the FROM-scratch image of this chaosctl (reused when present)",
			Description: "Builds, through the Docker API, an image holding only this binary (which must be\n" +
				"static: CGO_ENABLED=0, as `make build` makes it), tagged chaosctl:<version>, or\n" +
				"chaosctl:dev-<hash of the binary> for a development build. Nothing is pulled. An\n" +
				"image already present is reused.",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "binary", Usage: "the static chaosctl to put in the image (default: this executable)"},
			},
			Action: func(c *cli.Context) error {
				bin := c.String("binary")
				if bin == "" {
					exe, err := os.Executable()
					if err != nil {
						return withCode(exitEnvironment, err)
					}
					bin = exe
				}
				cli, err := docker.Connect(c.Context)
				if err != nil {
					return withCode(exitEnvironment, err)
				}
				defer cli.Close()
				ref, built, err := docker.EnsureImage(c.Context, cli, bin, chaosctlVersion())
				if err != nil {
					if errors.Is(err, docker.ErrNoEngine) {
						return withCode(exitEnvironment, err)
					}
					return withCode(exitEnvironment, fmt.Errorf("image: %w", err))
				}
				state := "reused"
				if built {
					state = "built"
				}
				_, err = fmt.Fprintf(e.stdout, "%s %s\n", ref, state)
				return err
			},
		}, {
			Name:  "prune",
			Usage: "remove the images chaosctl built, but this version's and those in use",
			Description: "Development builds get an image per binary (chaosctl:dev-<hash>); this removes every\n" +
				"image labelled io.chaosctl.image except this chaosctl's own and those a container\n" +
				"still uses. Images chaosctl did not build are never touched.",
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "all", Usage: "remove this version's image too"},
			},
			Action: func(c *cli.Context) error {
				cli, err := docker.Connect(c.Context)
				if err != nil {
					return withCode(exitEnvironment, err)
				}
				defer cli.Close()
				keep := ""
				if !c.Bool("all") {
					exe, err := os.Executable()
					if err != nil {
						return withCode(exitEnvironment, err)
					}
					if keep, err = docker.ImageRefFor(exe, chaosctlVersion()); err != nil {
						return withCode(exitEnvironment, err)
					}
				}
				removed, err := docker.PruneImages(c.Context, cli, keep, docker.ImageRepo+":")
				for _, r := range removed {
					fmt.Fprintf(e.stdout, "removed %s\n", r)
				}
				if len(removed) == 0 {
					fmt.Fprintln(e.stdout, "no image to remove")
				}
				if err != nil {
					return withCode(exitEnvironment, err)
				}
				return nil
			},
		}},
	}
}
