package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/docker/docker/client"
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
				cli, ref, built, err := ensureImage(c)
				if err != nil {
					return err
				}
				defer cli.Close()
				state := "reused"
				if built {
					state = "built"
				}
				_, err = fmt.Fprintf(e.stdout, "%s %s\n", ref, state)
				return err
			},
		}, {
			Name:      "export",
			Usage:     "write this chaosctl's image as an archive (for docker load, ctr images import, kind load)",
			ArgsUsage: "FILE",
			Description: "Builds the image if the engine lacks it, then writes it as a `docker save` tar archive,\n" +
				"for machines and clusters without a registry:\n\n" +
				"   chaosctl image export chaosctl.tar\n" +
				"   docker load -i chaosctl.tar          # another engine\n" +
				"   ctr -n k8s.io images import chaosctl.tar\n" +
				"   kind load image-archive chaosctl.tar",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "binary", Usage: "the static chaosctl to put in the image (default: this executable)"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return usageError(errors.New("image export takes one file: chaosctl image export FILE"))
				}
				cli, ref, _, err := ensureImage(c)
				if err != nil {
					return err
				}
				defer cli.Close()
				path := c.Args().First()
				if err := docker.ExportImageToFile(c.Context, cli, ref, path); err != nil {
					return withCode(exitEnvironment, err)
				}
				_, err = fmt.Fprintf(e.stdout, "%s written to %s\n", ref, path)
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

// ensureImage connects to the engine and makes sure it has the image of
// --binary (default: this executable); the caller closes the client. Every
// failure is an environment error (exit 5).
func ensureImage(c *cli.Context) (_ *client.Client, ref string, built bool, err error) {
	bin := c.String("binary")
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return nil, "", false, withCode(exitEnvironment, err)
		}
	}
	engine, err := docker.Connect(c.Context)
	if err != nil {
		return nil, "", false, withCode(exitEnvironment, err)
	}
	if ref, built, err = docker.EnsureImage(c.Context, engine, bin, chaosctlVersion()); err != nil {
		_ = engine.Close()
		return nil, "", false, withCode(exitEnvironment, fmt.Errorf("image: %w", err))
	}
	return engine, ref, built, nil
}
