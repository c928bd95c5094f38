package main

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/experiments"
)

// setFlag is --set PATH=VALUE of the commands that load experiment files
// or playbooks: repeatable, and a value keeps its commas (a string slice
// flag would split them).
func setFlag() cli.Flag {
	return &cli.GenericFlag{Name: "set", Value: &setValues{},
		Usage: "override one value of the file: `PATH=VALUE`, PATH as problems name it (workload.rate=200, faults[0].duration=5s, target.demo.nodes=5), the value read as the field's type (repeatable; see docs/format.md#variables)"}
}

// setValues collects the --set arguments in order.
type setValues []string

func (s *setValues) Set(v string) error {
	*s = append(*s, v)
	return nil
}

func (s *setValues) String() string {
	if s == nil {
		return ""
	}
	return strings.Join(*s, " ")
}

// decodeOptions are the decode options of a command with setFlag: its
// --set overrides, variables from the environment.
func decodeOptions(c *cli.Context) experiments.DecodeOptions {
	var o experiments.DecodeOptions
	if s, ok := c.Generic("set").(*setValues); ok && s != nil {
		o.Set = append([]string(nil), *s...)
	}
	return o
}
