package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/experiments"
)

// helpCommand replaces the library's help command (the same name, aliases
// and usage, so the command list reads as before): `help CMD [SUB...]`
// shows the help of the command at that path, and an unknown name is a
// usage error with a did-you-mean (exit 2), where the library's printed "No
// help topic" and ended with an internal error, and showed the parent's help
// for a subcommand it did not know.
func helpCommand() *cli.Command {
	return &cli.Command{
		Name:      "help",
		Aliases:   []string{"h"},
		Usage:     "Shows a list of commands or help for one command",
		ArgsUsage: "[command [subcommand]]",
		Action: func(c *cli.Context) error {
			path := c.Args().Slice()
			if len(path) == 0 {
				return cli.ShowAppHelp(c)
			}
			cmds, where := c.App.Commands, c.App.Name
			for _, name := range path {
				cmd := findCommand(cmds, name)
				if cmd == nil {
					var names []string
					for _, sub := range cmds {
						if !sub.Hidden && sub.Name != "help" {
							names = append(names, sub.Names()...)
						}
					}
					return usageError(fmt.Errorf("help: unknown command %q%s (commands of %s: %s)",
						strings.Join(append(strings.Fields(strings.TrimPrefix(where, c.App.Name)), name), " "),
						experiments.Suggest(name, names), where, strings.Join(names, ", ")))
				}
				cmds, where = cmd.Subcommands, where+" "+cmd.Name
			}
			// The command's own --help, so the text is the one `CMD --help`
			// prints, subcommands included.
			return c.App.RunContext(c.Context, append(append([]string{c.App.Name}, path...), "--help"))
		},
	}
}
