package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/internal/atomicfile"
)

func sloCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "slo",
		Usage: "work with an experiment's SLOs as OpenSLO",
		Subcommands: []*cli.Command{{
			Name:      "export",
			Usage:     "write an experiment's Prometheus SLOs (ratio, threshold) as OpenSLO v1 YAML",
			ArgsUsage: "FILE",
			Description: "Validates FILE and writes each of its ratio and threshold SLOs as an OpenSLO v1\n" +
				"SLO document (a ratioMetric or thresholdMetric on a Prometheus source, budgetingMethod\n" +
				"Occurrences) on stdout, or into --out. slos: [{openslo: OUT}] imports them back as the\n" +
				"same SLOs. Availability and latency SLOs are measured by chaosctl's own workload, which\n" +
				"no OpenSLO data source describes: they are named on stderr and left out.\n\n" +
				"   chaosctl slo export examples/openslo/checkout.yaml --out slos.yaml",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "out", Usage: "write the OpenSLO `FILE` here instead of stdout"},
				setFlag(),
			},
			Action: func(c *cli.Context) error { return exportSLOs(c, e) },
		}},
	}
}

func exportSLOs(c *cli.Context, e *env) error {
	if c.NArg() != 1 {
		return usageError(errors.New("slo export takes one experiment file: chaosctl slo export FILE"))
	}
	file := c.Args().First()
	src, err := experiments.ReadFile(file)
	var x *experiments.Experiment
	if err == nil {
		x, err = decodeExperiment(file, src, decodeOptions(c))
	}
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return &exitError{code: exitUsage, err: fmt.Errorf("%s invalid; nothing was exported", file)}
	}
	out, skipped, err := experiments.ExportOpenSLO(x)
	if err != nil {
		return err
	}
	if len(skipped) > 0 {
		e.log.WithField("slos", strings.Join(skipped, ", ")).Warn("availability and latency SLOs are measured by chaosctl's workload and have no OpenSLO form; left out")
	}
	if len(out) == 0 {
		return usageError(fmt.Errorf("%s has no ratio or threshold SLO to export as OpenSLO", file))
	}
	if path := c.String("out"); path != "" {
		if err := atomicfile.Write(path, out, 0o644); err != nil {
			return withCode(exitEnvironment, fmt.Errorf("write %s: %w", path, err))
		}
		return nil
	}
	_, err = e.stdout.Write(out)
	return err
}
