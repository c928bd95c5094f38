package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/urfave/cli/v2"

	"github.com/chaosctl/chaosctl/internal/testkit"
)

// helpEnv clears the variables whose values flags take as defaults, so
// that help texts do not depend on the environment (TestMain sets
// CHAOSCTL_STATE_DIR).
func helpEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"CHAOSCTL_STATE_DIR", "CHAOSCTL_PROMETHEUS_URL", "NO_COLOR"} {
		t.Setenv(k, "")
		if err := os.Unsetenv(k); err != nil {
			t.Fatal(err)
		}
	}
}

// commandPaths lists every command's words: "run", "cluster up", ...
func commandPaths(prefix []string, cmds []*cli.Command) [][]string {
	var out [][]string
	for _, c := range cmds {
		p := append(slices.Clone(prefix), c.Name)
		out = append(out, p)
		out = append(out, commandPaths(p, c.Subcommands)...)
	}
	return out
}

// TestHelpGolden pins the --help text of the root and of every command
// (run with -update to accept a change, then read the diff).
func TestHelpGolden(t *testing.T) {
	helpEnv(t)
	paths := append([][]string{nil}, commandPaths(nil, newApp(newEnv(nil, io.Discard, io.Discard)).Commands)...)
	for _, p := range paths {
		name := "chaosctl"
		if len(p) > 0 {
			name = strings.Join(p, "-")
		}
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append(append([]string{"chaosctl"}, p...), "--help")
			if code := runMain(newEnv(nil, &out, &errOut), args); code != 0 {
				t.Fatalf("%s: exit %d, want 0\n%s", strings.Join(args, " "), code, errOut.String())
			}
			golden := filepath.Join("testdata", "help", name+".golden")
			if *testkit.Update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/chaosctl -run TestHelpGolden -update)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("%s differs from %s (run with -update if intended):\n--- got\n%s\n--- want\n%s", strings.Join(args, " "), golden, out.Bytes(), want)
			}
		})
	}
}

// TestFlagPlaceholders: urfave/cli shows a backquoted word of a flag's
// usage as its placeholder (`--target make build` was one); every
// placeholder is one upper-case word (two joined by "=" for a KEY=VALUE
// flag such as --set PATH=VALUE), or urfave's "value".
func TestFlagPlaceholders(t *testing.T) {
	app := newApp(newEnv(nil, io.Discard, io.Discard))
	flags := map[string][]cli.Flag{"chaosctl": app.Flags}
	for _, p := range commandPaths(nil, app.Commands) {
		cmd := findCommand(app.Commands, p[0])
		for _, w := range p[1:] {
			cmd = findCommand(cmd.Subcommands, w)
		}
		flags[strings.Join(p, " ")] = cmd.Flags
	}
	// Each name, with its placeholder: "--output FORMAT, -o FORMAT"; a
	// repeatable flag adds "[ --name X ]".
	shape := regexp.MustCompile(`^-{1,2}[a-z][a-z0-9-]*( (value|[A-Z][A-Z_]*(=[A-Z][A-Z_]*)?))?$`)
	for where, fs := range flags {
		for _, f := range fs {
			head, _, _ := strings.Cut(cli.FlagStringer(f), "\t")
			head, _, _ = strings.Cut(head, " [ ")
			for _, name := range strings.Split(head, ", ") {
				if !shape.MatchString(name) {
					t.Errorf("%s: flag renders as %q; a placeholder is one upper-case word", where, head)
				}
			}
		}
	}
	var out bytes.Buffer
	if code := runMain(newEnv(nil, &out, io.Discard), []string{"chaosctl", "run", "--help"}); code != 0 || !strings.Contains(out.String(), "--target RUNTIME") {
		t.Fatalf("run --help: exit %d, no --target RUNTIME:\n%s", code, out.String())
	}
}

// TestCommandLineManners: an unknown command, help after a file, global
// flags after the command, and "--", through the built binary.
func TestCommandLineManners(t *testing.T) {
	t.Run("unknown command exits 2 with a did-you-mean", func(t *testing.T) {
		for _, tc := range []struct{ args []string }{{[]string{"rn"}}, {[]string{"rn", "x.yaml"}}, {[]string{"--log-level", "warn", "rn"}}} {
			_, stderr, code := run(t, tc.args...)
			if code != 2 || !strings.Contains(stderr, `unknown command "rn"; did you mean "run"?`) {
				t.Errorf("chaosctl %s: exit %d, want 2 and a did-you-mean:\n%s", strings.Join(tc.args, " "), code, stderr)
			}
		}
		_, stderr, code := run(t, "cluster", "upp")
		if code != 2 || !strings.Contains(stderr, `did you mean "up"?`) {
			t.Errorf("cluster upp: exit %d, want 2 and a did-you-mean:\n%s", code, stderr)
		}
		if stdout, _, code := run(t); code != 0 || !strings.Contains(stdout, "COMMANDS:") {
			t.Errorf("no command: exit %d, want 0 and the help:\n%s", code, stdout)
		}
	})
	t.Run("help COMMAND is COMMAND --help; an unknown one exits 2", func(t *testing.T) {
		for _, tc := range []struct{ args []string }{{[]string{"help", "rn"}}, {[]string{"h", "rn"}}} {
			_, stderr, code := run(t, tc.args...)
			if code != 2 || !strings.Contains(stderr, `unknown command "rn"; did you mean "run"?`) {
				t.Errorf("chaosctl %s: exit %d, want 2 and a did-you-mean:\n%s", strings.Join(tc.args, " "), code, stderr)
			}
		}
		if _, stderr, code := run(t, "help", "cluster", "upp"); code != 2 || !strings.Contains(stderr, `did you mean "up"?`) {
			t.Errorf("help cluster upp: exit %d, want 2 and a did-you-mean:\n%s", code, stderr)
		}
		for _, path := range [][]string{{"run"}, {"cluster", "up"}, {"image", "build"}} {
			viaHelp, _, code := run(t, append([]string{"help"}, path...)...)
			direct, _, _ := run(t, append(path, "--help")...)
			if code != 0 || viaHelp != direct {
				t.Errorf("help %s: exit %d, and its text differs from %s --help:\n%s\n---\n%s", strings.Join(path, " "), code, strings.Join(path, " "), viaHelp, direct)
			}
		}
		if stdout, _, code := run(t, "help"); code != 0 || !strings.Contains(stdout, "COMMANDS:") {
			t.Errorf("help: exit %d, want 0 and the command list:\n%s", code, stdout)
		}
	})
	t.Run("help after a file exits 0", func(t *testing.T) {
		for _, h := range []string{"-h", "--help"} {
			stdout, stderr, code := run(t, "run", "testdata/calm.yaml", h)
			if code != 0 || !strings.Contains(stdout, "chaosctl run [command options]") {
				t.Errorf("run FILE %s: exit %d, want 0 and run's help\n%s\n%s", h, code, stdout, stderr)
			}
		}
	})
	t.Run("global flags after the command", func(t *testing.T) {
		stdout, stderr, code := run(t, "run", "--dry-run", "testdata/calm.yaml", "--log-format", "json", "--log-level", "debug", "--no-color")
		if code != 0 || !strings.Contains(stdout, "experiment: calm") {
			t.Fatalf("global flags after run: exit %d\n%s\n%s", code, stdout, stderr)
		}
		// Parsed as the global flags they are: a bad value is refused.
		_, stderr, code = run(t, "validate", "testdata/calm.yaml", "--log-format=yaml")
		if code != 2 || !strings.Contains(stderr, `--log-format "yaml"`) {
			t.Fatalf("validate --log-format=yaml: exit %d, want 2\n%s", code, stderr)
		}
	})
	t.Run("-- ends the flags", func(t *testing.T) {
		for _, args := range [][]string{{"validate", "--", "testdata/calm.yaml"}, {"validate", "testdata/calm.yaml", "--"}, {"validate", "--output", "text", "testdata/calm.yaml", "--"}} {
			stdout, stderr, code := run(t, args...)
			if code != 0 || !strings.Contains(stdout, "1 experiment file valid") {
				t.Errorf("%s: exit %d, want 0\n%s\n%s", strings.Join(args, " "), code, stdout, stderr)
			}
		}
		// After "--" a name that starts with "-" is a file, not a flag.
		_, stderr, code := run(t, "validate", "--", "--seed")
		if code != 2 || !strings.Contains(stderr, "experiment --seed") {
			t.Errorf("validate -- --seed: exit %d, want 2 naming the file --seed\n%s", code, stderr)
		}
	})
}

// TestDryRunPrintsTheSeedItUses: a file without a seed is planned with a
// seed chosen at random, printed with how to run that very plan.
func TestDryRunPrintsTheSeedItUses(t *testing.T) {
	src, err := os.ReadFile("testdata/calm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "seedless.yaml")
	if err := os.WriteFile(file, bytes.Replace(src, []byte("\nseed: 5\n"), []byte("\n"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, "run", "--dry-run", file)
	m := regexp.MustCompile(`(?m)^# seed (\d+): chosen at random .*--seed (\d+)\n`).FindStringSubmatch(stdout)
	if code != 0 || m == nil || m[1] != m[2] || !strings.Contains(stdout, "\nseed: "+m[1]+"\n") || m[1] == "0" {
		t.Fatalf("dry run without a seed: exit %d\n%s\n%s", code, stdout, stderr)
	}
	again, _, _ := run(t, "run", "--dry-run", file, "--seed", m[1])
	if !strings.Contains(again, "\nseed: "+m[1]+"\n") || strings.Contains(again, "chosen at random") {
		t.Fatalf("dry run with --seed %s:\n%s", m[1], again)
	}
}

// TestCompletion: each shell's script parses, and the completion
// mechanism the bash and zsh scripts use lists commands and flags.
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		script, stderr, code := run(t, "completion", shell)
		if code != 0 || !strings.Contains(script, "chaosctl") {
			t.Fatalf("completion %s: exit %d\n%s", shell, code, stderr)
		}
		if shell == "fish" && !strings.Contains(script, "complete -c chaosctl") {
			t.Fatalf("fish script completes nothing:\n%s", script)
		}
		path, err := exec.LookPath(shell)
		if err != nil {
			if shell == "bash" {
				t.Fatal("bash is needed to check the bash script")
			}
			t.Logf("%s is not installed: its script's syntax is not checked", shell)
			continue
		}
		check := exec.Command(path, "-n")
		check.Stdin = strings.NewReader(script)
		if out, err := check.CombinedOutput(); err != nil {
			t.Fatalf("%s -n: %v\n%s", shell, err, out)
		}
	}
	if _, _, code := run(t, "completion", "tcsh"); code != 2 {
		t.Fatalf("completion tcsh: exit %d, want 2", code)
	}

	// What the scripts ask chaosctl.
	words, _, _ := run(t, "--generate-bash-completion")
	for _, want := range []string{"run", "recover", "report", "completion"} {
		if !slices.Contains(strings.Fields(words), want) {
			t.Fatalf("commands offered %q lack %s", words, want)
		}
	}
	if slices.Contains(strings.Fields(words), "node") {
		t.Fatalf("the hidden node command is offered: %q", words)
	}
	if words, _, _ := run(t, "cluster", "--generate-bash-completion"); !slices.Contains(strings.Fields(words), "up") || slices.Contains(strings.Fields(words), "run") {
		t.Fatalf("cluster's subcommands offered %q, want up (and help)", words)
	}
	if words, _, _ := run(t, "run", "--dr", "--generate-bash-completion"); strings.TrimSpace(words) != "--dry-run" {
		t.Fatalf("run --dr completes to %q, want --dry-run", words)
	}

	// bash itself: chaosctl r<TAB> with the script loaded.
	script, _, _ := run(t, "completion", "bash")
	sh := exec.Command("bash", "--norc", "--noprofile", "-c", script+`
COMP_WORDS=(chaosctl r); COMP_CWORD=1; _chaosctl_complete; echo "${COMPREPLY[*]}"
COMP_WORDS=(chaosctl run --dry); COMP_CWORD=2; _chaosctl_complete; echo "${COMPREPLY[*]}"
`)
	sh.Env = append(os.Environ(), "PATH="+filepath.Dir(binary)+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("bash completion: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || lines[0] != "run recover report" || lines[1] != "--dry-run" {
		t.Fatalf("bash completes chaosctl r<TAB> and run --dry<TAB> to %q, want [run recover report] and --dry-run", lines)
	}
}

// TestValidateAndCheckOutputJSON: --output json of validate and check, in
// the shapes docs/cli.md documents; durations as Go duration strings.
func TestValidateAndCheckOutputJSON(t *testing.T) {
	stdout, stderr, code := run(t, "validate", "--output", "json", "testdata/calm.yaml", "testdata/bad.yaml")
	var v validateJSON
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil || code != 2 || stderr != "" {
		t.Fatalf("validate --output json: exit %d, %v\n%s\n%s", code, err, stdout, stderr)
	}
	if v.Valid || len(v.Files) != 2 || !v.Files[0].Valid || v.Files[1].Valid || len(v.Files[1].Problems) == 0 {
		t.Fatalf("validate --output json: %+v", v)
	}
	for _, p := range v.Files[1].Problems {
		if p.File != "testdata/bad.yaml" || p.Line < 1 || p.Col < 1 || p.Message == "" {
			t.Errorf("problem without a position: %+v", p)
		}
	}
	if _, stderr, code := run(t, "validate", "--output", "yaml", "testdata/calm.yaml"); code != 2 || !strings.Contains(stderr, "--output") {
		t.Fatalf("--output yaml: exit %d, want 2\n%s", code, stderr)
	}

	history := filepath.Join(t.TempDir(), "history.ndjson")
	if err := os.WriteFile(history, []byte(`{"id":1,"client":1,"op":"put","key":"k","value":"a","expect":null,"invoke":1,"complete":2,"outcome":"ok"}
{"id":2,"client":2,"op":"get","key":"k","value":"a","expect":null,"invoke":3,"complete":4,"outcome":"ok"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = run(t, "check", history, "--output", "json")
	var c checkOutputJSON
	dec = json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || len(c.Histories) != 1 || c.ExitCode != code {
		t.Fatalf("check --output json: exit %d, %v\n%s\n%s", code, err, stdout, stderr)
	}
	if !regexp.MustCompile(`"took": "[0-9.]+(ns|µs|ms|s)"`).MatchString(stdout) || !strings.Contains(stdout, `"budget": "30s"`) {
		t.Fatalf("check --output json durations are not duration strings:\n%s", stdout)
	}
}

// TestNoColor: on a terminal the logs are coloured; NO_COLOR (any
// non-empty value) or --no-color turns the colours off, in the logs and in
// the terminal report. Text logs carry the date.
func TestNoColor(t *testing.T) {
	helpEnv(t)
	for _, tc := range []struct {
		name   string
		env    string
		flag   bool
		colour bool
	}{
		{"default", "", false, true},
		{"NO_COLOR=1", "1", false, false},
		{"NO_COLOR=no", "no", false, false},
		{"--no-color", "", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("NO_COLOR", tc.env)
			}
			ptmx, tty, err := pty.Open()
			if err != nil {
				t.Skipf("no pseudo-terminal: %v", err)
			}
			defer ptmx.Close()
			e := newEnv(nil, tty, tty)
			args := []string{"chaosctl", "version"}
			if tc.flag {
				args = append(args, "--no-color")
			}
			if code := runMain(e, args); code != 0 {
				t.Fatalf("%v: exit %d", args, code)
			}
			e.log.Info("hello")
			tty.Close()
			out, _ := io.ReadAll(ptmx) // ends with EIO once the terminal is closed
			coloured := bytes.Contains(out, []byte("\x1b["))
			if coloured != tc.colour || e.colour != tc.colour {
				t.Fatalf("logs coloured %v, report coloured %v; want %v:\n%q", coloured, e.colour, tc.colour, out)
			}
			if !regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)`).Match(out) {
				t.Fatalf("the log line has no RFC 3339 date with milliseconds: %q", out)
			}
		})
	}
}

// TestRunOnATerminalAndOff runs one short experiment on a terminal and one
// into pipes: on the terminal the progress line is redrawn below the log
// lines, never sharing a line with one; in pipes it is a plain log line
// every few seconds and stdout is the --output json document; each fault
// is logged once.
func TestRunOnATerminalAndOff(t *testing.T) {
	helpEnv(t)
	t.Setenv("CHAOSCTL_STATE_DIR", filepath.Join(t.TempDir(), "state"))
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 50, Cols: 400}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "run", "testdata/short-pause.yaml", "--out", t.TempDir())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var screen bytes.Buffer
	readDone := make(chan struct{})
	go func() { _, _ = io.Copy(&screen, ptmx); close(readDone) }()
	waitErr := cmd.Wait()
	select {
	case <-readDone:
	case <-time.After(30 * time.Second):
		t.Fatal("the terminal was not closed after the run ended")
	}
	var ee *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &ee) {
		t.Fatal(waitErr)
	}
	raw := screen.String()
	lines := strings.Split(rendered(raw), "\n")
	t.Logf("terminal:\n%s", strings.Join(lines, "\n"))
	if !strings.Contains(raw, "\r\x1b[K[t=") {
		t.Fatalf("no progress line was drawn:\n%q", raw)
	}
	for _, l := range lines {
		if strings.Contains(l, "faults: ") && (strings.Contains(l, "INFO") || strings.Contains(l, "WARN")) {
			t.Fatalf("a log line shares a line with the progress: %q", l)
		}
	}
	if n := strings.Count(raw, "fault applied"); n != 1 {
		t.Fatalf("the fault was logged applied %d times, want once", n)
	}
	if n := strings.Count(raw, "fault reverted"); n != 1 {
		t.Fatalf("the fault was logged reverted %d times, want once", n)
	}

	// Off a terminal: --output json, plain progress lines.
	stdout, stderr, code := run(t, "run", "testdata/short-pause.yaml", "--out", t.TempDir(), "--output", "json")
	if strings.Contains(stdout+stderr, "\r") {
		t.Fatalf("a carriage return off a terminal:\n%q", stderr)
	}
	if n := strings.Count(stderr, "msg=\"progress [t="); n < 2 || n > 4 {
		t.Fatalf("%d plain progress lines in a 13 s run, want one every 5 s:\n%s", n, stderr)
	}
	var out runOutputJSON
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil || len(out.Runs) != 1 || out.ExitCode != code {
		t.Fatalf("run --output json: exit %d, %v:\n%s\n%s", code, err, stdout, tail(stderr, 20))
	}
	r := out.Runs[0]
	if r.Experiment != "short-pause" || r.Seed != 3 || r.Verdict == "" || time.Duration(r.Duration) < 13*time.Second {
		t.Fatalf("run --output json: %+v", r)
	}
	if !regexp.MustCompile(`"duration": "[0-9.]+s"`).MatchString(stdout) {
		t.Fatalf("the duration is not a duration string:\n%s", stdout)
	}
	if _, err := os.Stat(r.Result); err != nil {
		t.Fatalf("result: %v", err)
	}
}

// rendered is what a terminal shows for s: a carriage return goes back to
// the start of the line, ESC[K erases the rest of it, and other escape
// sequences (colours) show nothing.
func rendered(s string) string {
	s = regexp.MustCompile(`\x1b\[[0-9;]*m`).ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "\r\n", "\n") // the terminal's own newline
	var lines []string
	var cur []rune
	col := 0
	for _, part := range regexp.MustCompile(`\r|\n|\x1b\[K|[^\r\n\x1b]+|\x1b`).FindAllString(s, -1) {
		switch part {
		case "\r":
			col = 0
		case "\n":
			lines = append(lines, string(cur))
			cur, col = nil, 0
		case "\x1b[K":
			cur = cur[:col]
		default:
			for _, r := range part {
				if col < len(cur) {
					cur[col] = r
				} else {
					cur = append(cur, r)
				}
				col++
			}
		}
	}
	return strings.Join(append(lines, string(cur)), "\n")
}
