package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/experiments"
)

// docs/cli.md names every command, with a section headed "chaosctl NAME"
// (subcommands "chaosctl image export"), and every flag of that command in
// its section; global flags under "Global options".
func TestCLIReferenceDocumentsEveryCommandAndFlag(t *testing.T) {
	b, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := markdownSections(string(b))
	app := newApp(newEnv(nil, io.Discard, io.Discard))
	checkFlags := func(section string, flags []cli.Flag) {
		text, ok := sections[section]
		if !ok {
			t.Errorf("docs/cli.md has no section %q", section)
			return
		}
		for _, f := range flags {
			for _, name := range f.Names() {
				dash := "--"
				if len(name) == 1 {
					dash = "-"
				}
				if !strings.Contains(text, "`"+dash+name+"`") {
					t.Errorf("docs/cli.md, %s: flag %s%s is not documented", section, dash, name)
				}
			}
		}
	}
	checkFlags("Global options", app.Flags)
	commands := 0
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := prefix + " " + c.Name
			if len(c.Subcommands) > 0 {
				walk(name, c.Subcommands)
				continue
			}
			commands++
			checkFlags(name, c.Flags)
		}
	}
	walk("chaosctl", app.Commands)
	if commands < 20 {
		t.Errorf("only %d commands were found", commands)
	}
	for section := range sections {
		if rest, ok := strings.CutPrefix(section, "chaosctl "); ok && findPath(app.Commands, strings.Fields(rest)) == nil {
			t.Errorf("docs/cli.md documents %q, which is no command", section)
		}
	}
}

func findPath(cmds []*cli.Command, words []string) *cli.Command {
	var c *cli.Command
	for _, w := range words {
		if c = findCommand(cmds, w); c == nil {
			return nil
		}
		cmds = c.Subcommands
	}
	return c
}

var headingRE = regexp.MustCompile(`^#{2,3} (.+)$`)

// markdownSections maps each ## or ### heading to the text under it.
func markdownSections(md string) map[string]string {
	out := map[string]string{}
	current := ""
	for _, line := range strings.Split(md, "\n") {
		if m := headingRE.FindStringSubmatch(line); m != nil {
			current = m[1]
			continue
		}
		out[current] += line + "\n"
	}
	return out
}

// The exit codes of docs/cli.md are the program's (exitCodesHelp).
func TestCLIReferenceExitCodes(t *testing.T) {
	b, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	section := markdownSections(string(b))["Exit codes"]
	for _, line := range strings.Split(exitCodesHelp, "\n")[1:] {
		code, meaning, _ := strings.Cut(strings.TrimSpace(line), "  ")
		row := fmt.Sprintf("| %s | %s |", code, strings.TrimSpace(meaning))
		if !strings.Contains(section, row) {
			t.Errorf("docs/cli.md's exit codes lack the row %s", row)
		}
	}
}

// `chaosctl schema` prints the JSON Schemas of the two formats and takes no
// argument.
func TestSchemaCommand(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		title string
		gen   func() ([]byte, error)
	}{
		{[]string{"schema"}, "chaosctl experiment", experiments.ExperimentSchema},
		{[]string{"schema", "--gameday"}, "chaosctl GameDay playbook", experiments.GameDaySchema},
	} {
		stdout, stderr, code := run(t, tc.args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, stderr)
		}
		var s struct {
			Schema string `json:"$schema"`
			Title  string `json:"title"`
		}
		if err := json.Unmarshal([]byte(stdout), &s); err != nil {
			t.Fatalf("%v: not JSON: %v", tc.args, err)
		}
		if s.Schema != experiments.JSONSchemaDraft || !strings.HasPrefix(s.Title, tc.title) {
			t.Errorf("%v: $schema %q, title %q", tc.args, s.Schema, s.Title)
		}
		if want, _ := tc.gen(); stdout != string(want) {
			t.Errorf("%v prints something else than the library's schema", tc.args)
		}
	}
	if _, stderr, code := run(t, "schema", "extra"); code != 2 || !strings.Contains(stderr, "no arguments") {
		t.Errorf("schema extra: exit %d, want 2: %s", code, stderr)
	}
	out, _, _ := run(t, "--help")
	if !strings.Contains(out, "schema") {
		t.Errorf("--help does not list schema:\n%s", out)
	}
}
