package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/internal/crash"
	"github.com/chaosctl/chaosctl/internal/guardedio"
	"github.com/chaosctl/chaosctl/internal/statusline"
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
	// colour says whether the terminal report is coloured (stdout is a
	// terminal, and neither --no-color nor NO_COLOR is set).
	colour bool
	// progress is the progress line when stdout is a terminal; the logs
	// are written above it. nil elsewhere.
	progress *statusline.Terminal
	// crashed is the first panic in a goroutine of the command's own
	// machinery (the signal and stdout watchers), which cancelled the
	// command: runMain exits 6 for it, or 5 when a revert failed. Shared
	// by the copies of env a command makes.
	crashed *atomic.Pointer[crash.Panic]
}

// signalWatcherHook, set only by tests, runs as cancelOnSignal's signal
// watcher starts, so that a test can make it panic.
var signalWatcherHook func()

// goroutineCrashed records p, the panic of a goroutine of the command,
// logs it and cancels the command with it as the cause.
func (e *env) goroutineCrashed(p *crash.Panic, cancel context.CancelCauseFunc) {
	e.crashed.CompareAndSwap(nil, p)
	e.log.WithField("stack", string(p.Stack)).Errorf("%v; please report this bug: reverting every fault, then exiting (code %d)", p, exitCrashed)
	cancel(p)
}

// finalCode is the exit code of a command that ended with code: a crash
// of one of its goroutines outranks it (6), unless a fault may remain (5).
func (e *env) finalCode(code int) int {
	if e.crashed.Load() != nil && code != exitEnvironment {
		return exitCrashed
	}
	return code
}

func newEnv(stdin io.Reader, stdout, stderr io.Writer) *env {
	out, errOut, lost := guardedio.Guard(stdout, stderr)
	l := logrus.New()
	l.SetOutput(errOut)
	return &env{stdin: stdin, stdout: out, stderr: errOut, outputLost: lost, log: l, runtimes: runtimes.Default(),
		crashed: &atomic.Pointer[crash.Panic]{}}
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
		// The library adds its --help flag only when it adds its help
		// command; helpCommand replaces that command, so the flag is ours
		// to add.
		Flags:                append(globalFlags(), cli.HelpFlag),
		EnableBashCompletion: true,
		Before:               func(c *cli.Context) error { return e.configure(c) },
		Action:               unknownCommand,
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
			sloCommand(e),
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
			completionCommand(e),
			helpCommand(),
		},
	}
	for _, c := range app.Commands {
		setUsageErrors(c)
	}
	return app
}

// globalFlags are the app's flags; they may also follow the command
// (reorderArgs moves them in front of it).
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "log-level", Value: "info", Usage: "`LEVEL` of the logs on stderr: debug, info, warn, error"},
		&cli.StringFlag{Name: "log-format", Value: "text", Usage: "`FORMAT` of the logs on stderr: text (with the date, RFC 3339 to the millisecond) or json"},
		&cli.BoolFlag{Name: "no-color", Usage: "no colours in logs and reports (as a non-empty NO_COLOR does)"},
	}
}

// setUsageErrors makes c's and its subcommands' usage errors exit 2, and
// a command that has subcommands and no action of its own refuse an
// unknown subcommand (exit 2, with a did-you-mean).
func setUsageErrors(c *cli.Command) {
	c.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return usageError(err) }
	if len(c.Subcommands) > 0 && c.Action == nil {
		c.Action = unknownCommand
	}
	for _, sub := range c.Subcommands {
		setUsageErrors(sub)
	}
}

// unknownCommand is the action of the app and of a command with
// subcommands: no argument shows the help; any other is an unknown
// (sub)command.
func unknownCommand(c *cli.Context) error {
	root := c.Command == nil || c.Command.Name == "" || c.Command.Name == c.App.Name
	if c.NArg() == 0 {
		if root {
			return cli.ShowAppHelp(c)
		}
		return cli.ShowSubcommandHelp(c)
	}
	cmds, where := c.App.Commands, c.App.Name
	if !root {
		cmds, where = c.Command.Subcommands, c.App.Name+" "+c.Command.Name
	}
	var names []string
	for _, cmd := range cmds {
		if !cmd.Hidden && cmd.Name != "help" {
			names = append(names, cmd.Names()...)
		}
	}
	name := c.Args().First()
	return usageError(fmt.Errorf("unknown command %q%s (commands: %s; see %s --help)",
		name, experiments.Suggest(name, names), strings.Join(names, ", "), where))
}

// colourOff says whether colours are off: --no-color, or NO_COLOR set to
// anything but "" (https://no-color.org).
func colourOff(c *cli.Context) bool {
	return c.Bool("no-color") || os.Getenv("NO_COLOR") != ""
}

// configure applies the global flags: the logger's level, format and
// colours, whether the terminal report is coloured, and, when stdout is a
// terminal, the progress line that log lines are written above.
func (e *env) configure(c *cli.Context) error {
	off := colourOff(c)
	e.colour = !off && e.stdoutTerminal()
	if err := configureLog(e.log, c.String("log-level"), c.String("log-format"), !off && isTerminalWriter(e.stderr)); err != nil {
		return err
	}
	if e.stdoutTerminal() {
		e.progress = statusline.NewTerminal(e.stdout)
		e.log.SetOutput(e.progress.Above(e.stderr))
	}
	return nil
}

// logTimestamp is the text logs' time: RFC 3339 with milliseconds, so a
// log line is placed in time without the run's start.
const logTimestamp = "2006-01-02T15:04:05.000Z07:00"

func configureLog(l *logrus.Logger, level, format string, colour bool) error {
	lv, err := logrus.ParseLevel(level)
	if err != nil {
		return usageError(fmt.Errorf("--log-level %q: allowed are debug, info, warn, error", level))
	}
	l.SetLevel(lv)
	switch format {
	case "text":
		// Colours are decided here, not by logrus, which cannot see the
		// terminal behind the guarded writer.
		l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: logTimestamp, ForceColors: colour, DisableColors: !colour})
	case "json":
		l.SetFormatter(&logrus.JSONFormatter{TimestampFormat: logTimestamp})
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
// words, flags and their values are moved in front of the positional ones,
// and the app's global flags (--log-format json) in front of the command.
// A "--" ends the flags: it is kept in front of every positional argument,
// so none after it is read as a flag and it is never read as a file. A -h
// or --help among the command's flags shows the command's help whatever the
// positional arguments. A shell completion request (its last argument
// --generate-bash-completion) is left as it is.
func reorderArgs(args []string) []string {
	if len(args) < 2 || args[len(args)-1] == "--"+cli.BashCompletionFlag.Names()[0] {
		return args
	}
	app := newApp(newEnv(nil, io.Discard, io.Discard))
	out := []string{args[0]}
	rest := args[1:]
	// Global flags before the command stay where they are.
	for len(rest) > 0 && strings.HasPrefix(rest[0], "-") && rest[0] != "--" {
		out = append(out, rest[0])
		if !strings.Contains(rest[0], "=") && takesValue(app.Flags, rest[0]) && len(rest) > 1 {
			out = append(out, rest[1])
			rest = rest[1:]
		}
		rest = rest[1:]
	}
	cmds := app.Commands
	var (
		words []string
		flags []cli.Flag
	)
	for len(rest) > 0 {
		cmd := findCommand(cmds, rest[0])
		if cmd == nil {
			break
		}
		words = append(words, rest[0])
		rest = rest[1:]
		cmds, flags = cmd.Subcommands, cmd.Flags
	}
	if words == nil {
		return append(out, rest...)
	}
	var globals, flagArgs, positional, afterDashes []string
	help := false
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			afterDashes = append([]string{"--"}, rest[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		switch {
		case a == "-h" || a == "--help":
			help = true
		case !hasFlag(flags, a) && hasFlag(app.Flags, a):
			globals = append(globals, a)
			if !strings.Contains(a, "=") && takesValue(app.Flags, a) && i+1 < len(rest) {
				globals = append(globals, rest[i+1])
				i++
			}
		default:
			flagArgs = append(flagArgs, a)
			if !strings.Contains(a, "=") && takesValue(flags, a) && i+1 < len(rest) {
				flagArgs = append(flagArgs, rest[i+1])
				i++
			}
		}
	}
	out = append(append(out, globals...), words...)
	if help {
		return append(out, "--help")
	}
	out = append(out, flagArgs...)
	if afterDashes != nil {
		// "--" goes before every positional argument: the flag parser
		// stops at the first one anyway, and would keep a later "--".
		out = append(out, "--")
		out = append(out, positional...)
		return append(out, afterDashes[1:]...)
	}
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

// hasFlag says whether arg (-x, --name or --name=value) names one of
// flags.
func hasFlag(flags []cli.Flag, arg string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return true
		}
	}
	return false
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
