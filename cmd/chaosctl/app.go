package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/internal/guardedio"
	"github.com/chaosctl/chaosctl/targets/runtimes"
)

// version, commit and date are set at build time with -ldflags "-X
// main.version=v1.2.3 -X main.commit=<hash> -X main.date=<RFC 3339>" (make
// build, make install and make dist do).
var version, commit, date = "", "", ""

// chaosctlVersion returns the build's version: the linked-in one, or the module
// version, or "dev".
func chaosctlVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// versionLine is what `chaosctl version` and `chaosctl --version` print:
// "chaosctl VERSION (commit C, built D, GOVERSION OS/ARCH)". The commit and
// date are the linked-in ones, else those `go build` stamps from a git
// checkout (vcs.revision, vcs.time), else left out.
func versionLine() string {
	c, d := commit, date
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value
			case s.Key == "vcs.time" && d == "":
				d = s.Value
			}
		}
	}
	var parts []string
	if c != "" {
		parts = append(parts, "commit "+c)
	}
	if d != "" {
		parts = append(parts, "built "+d)
	}
	parts = append(parts, runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH)
	return "chaosctl " + chaosctlVersion() + " (" + strings.Join(parts, ", ") + ")"
}

// --version prints the same line as the version command.
func init() {
	cli.VersionPrinter = func(c *cli.Context) { fmt.Fprintln(c.App.Writer, versionLine()) }
}

// env holds what commands read and write besides their flags, so the app can be
// driven end to end in tests with captured output.
type env struct {
	stdin io.Reader
	// stdout and stderr are guarded (see internal/guardedio): a write that fails
	// never ends chaosctl, and outputLost is closed once the results cannot
	// be written any more, which interrupts a run like a signal does.
	stdout, stderr io.Writer
	outputLost     *guardedio.Lost
	log            *logrus.Logger
	// runtimes is the runtime registry --target and recover ask.
	runtimes *runtimes.Registry
}

func newEnv(stdin io.Reader, stdout, stderr io.Writer) *env {
	out, errOut, lost := guardedio.Guard(stdout, stderr)
	l := logrus.New()
	l.SetOutput(errOut)
	return &env{stdin: stdin, stdout: out, stderr: errOut, outputLost: lost, log: l, runtimes: runtimes.Default()}
}

// targetUsage is the --target flag's list of runtimes: "a, b or c".
func (e *env) targetUsage() string { return runtimes.List(e.runtimes.DemoNames(), "or") }

// checkTarget rejects a --target that names no runtime of the demo cluster
// ("" keeps the file's target.runtime).
func (e *env) checkTarget(name string) error {
	if name == "" {
		return nil
	}
	if _, err := e.runtimes.Demo(name); err != nil {
		return usageError(fmt.Errorf("--target %q: allowed are %s", name, runtimes.List(e.runtimes.DemoNames(), "and")))
	}
	return nil
}

func newApp(e *env) *cli.App {
	app := &cli.App{
		Name:    "chaosctl",
		Usage:   "run chaos experiments and judge them against SLO error budgets",
		Version: chaosctlVersion(),
		Description: "chaosctl runs declarative experiments (YAML) that inject faults into the bundled demo\n" +
			"cluster or your own services while it drives a workload, probes metrics, checks\n" +
			"consistency, and judges pass or fail against SLO error budgets.\n\n" +
			"Every fault ends: `chaosctl halt` ends every live fault of every run at once (the kill\n" +
			"switch), faults in a container or pod revert by themselves when chaosctl stops renewing\n" +
			"their lease (target.leaseTTL), and `chaosctl recover` finishes what a killed chaosctl left.",
		Writer:                 e.stdout,
		ErrWriter:              e.stderr,
		HideVersion:            false,
		UseShortOptionHandling: false,
		CustomAppHelpTemplate:  cli.AppHelpTemplate + "\n" + exitCodesHelp + "\n",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "log level: debug, info, warn, error"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format on stderr: text or json"},
		},
		Before: func(c *cli.Context) error { return configureLog(e.log, c.String("log-level"), c.String("log-format")) },
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError(err)
		},
		ExitErrHandler: func(*cli.Context, error) {}, // exit codes are mapped in main
		Commands: []*cli.Command{
			runCommand(e),
			exploreCommand(e),
			gamedayCommand(e),
			validateCommand(e),
			schemaCommand(e),
			recoverCommand(e),
			haltCommand(e),
			reportCommand(e),
			checkCommand(e),
			imageCommand(e),
			proxyCommand(e),
			superviseCommand(e),
			versionCommand(e),
			clusterCommand(e),
			injectCommand(e),
			healCommand(e),
			statusCommand(e),
			nodeCommand(e),
		},
	}
	for _, c := range app.Commands {
		setUsageErrors(c)
	}
	return app
}

func setUsageErrors(c *cli.Command) {
	c.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return usageError(err) }
	for _, sub := range c.Subcommands {
		setUsageErrors(sub)
	}
}

func configureLog(l *logrus.Logger, level, format string) error {
	lv, err := logrus.ParseLevel(level)
	if err != nil {
		return usageError(fmt.Errorf("--log-level %q: allowed are debug, info, warn, error", level))
	}
	l.SetLevel(lv)
	switch format {
	case "text":
		l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: "15:04:05.000"})
	case "json":
		l.SetFormatter(&logrus.JSONFormatter{})
	default:
		return usageError(fmt.Errorf("--log-format %q: allowed are text, json", format))
	}
	return nil
}

func versionCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the chaosctl version",
		Action: func(c *cli.Context) error {
			_, err := fmt.Fprintln(e.stdout, versionLine())
			return err
		},
	}
}

// reorderArgs lets flags follow positional arguments, as people type them
// (`chaosctl run quickstart.yaml --out x`): for every token after the command
// words, flags and their values are moved in front of the positional ones.
// A "--" ends flag handling.
func reorderArgs(args []string) []string {
	if len(args) < 2 {
		return args
	}
	app := newApp(newEnv(nil, io.Discard, io.Discard))
	out := []string{args[0]}
	rest := args[1:]
	// Global flags before the command stay where they are.
	for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
		out = append(out, rest[0])
		if !strings.Contains(rest[0], "=") && takesValue(app.Flags, rest[0]) && len(rest) > 1 {
			out = append(out, rest[1])
			rest = rest[1:]
		}
		rest = rest[1:]
	}
	cmds := app.Commands
	var flags []cli.Flag
	for len(rest) > 0 {
		cmd := findCommand(cmds, rest[0])
		if cmd == nil {
			break
		}
		out = append(out, rest[0])
		rest = rest[1:]
		cmds, flags = cmd.Subcommands, cmd.Flags
	}
	if flags == nil {
		return append(out, rest...)
	}
	var flagArgs, positional []string
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			positional = append(positional, rest[i:]...)
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			flagArgs = append(flagArgs, a)
			if !strings.Contains(a, "=") && takesValue(flags, a) && i+1 < len(rest) {
				flagArgs = append(flagArgs, rest[i+1])
				i++
			}
			continue
		}
		positional = append(positional, a)
	}
	out = append(out, flagArgs...)
	return append(out, positional...)
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

func takesValue(flags []cli.Flag, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				_, isBool := f.(*cli.BoolFlag)
				return !isBool
			}
		}
	}
	return false
}
