package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/experiments"
)

func schemaCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "schema",
		Usage: "print a JSON Schema of the experiment format (--gameday: of the GameDay format), for editors",
		Description: "Prints a JSON Schema (draft 2020-12) of the experiment file format, built from the same\n" +
			"field tree the decoder reads, with each field's description, default, enum values and\n" +
			"unit syntax, and no field the decoder does not know. Write it beside your files and name\n" +
			"it in their first line, so an editor running yaml-language-server completes fields and\n" +
			"flags mistakes as you type:\n\n" +
			"   chaosctl schema > chaosctl.schema.json\n" +
			"   # yaml-language-server: $schema=./chaosctl.schema.json\n\n" +
			"The schema checks a file's shape; `chaosctl validate` also checks ranges, names and timing.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "gameday", Usage: "the schema of GameDay playbooks (kind: GameDay) instead"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError(errors.New("schema takes no arguments: chaosctl schema [--gameday] > FILE"))
			}
			gen := experiments.ExperimentSchema
			if c.Bool("gameday") {
				gen = experiments.GameDaySchema
			}
			b, err := gen()
			if err != nil {
				return withCode(exitEnvironment, err)
			}
			_, err = e.stdout.Write(b)
			return err
		},
	}
}
