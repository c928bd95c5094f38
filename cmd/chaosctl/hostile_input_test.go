package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runBounded is run with a deadline and at most 4 GiB of address space,
// so a chaosctl that blocks on its input or reads it without end fails
// the test instead of hanging it or filling the machine's memory.
func runBounded(t *testing.T, args ...string) (stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", append([]string{"-c", `ulimit -v 4194304 && exec "$0" "$@"`, binary}, args...)...)
	var e bytes.Buffer
	cmd.Stderr = &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("chaosctl %s did not return within 20s\n%s", strings.Join(args, " "), e.String())
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return e.String(), code
}

// validate, run, gameday and check refuse a device or a FIFO at once, and
// report a run's or a GameDay's folder holding one (also behind a link),
// with exit 2, instead of reading it without end or blocking on it.
func TestCommandsRefuseDevicesAndFIFOs(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "experiment.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for file, what := range map[string]string{"/dev/zero": "a device", fifo: "a named pipe (FIFO)"} {
		for _, command := range []string{"validate", "run", "gameday"} {
			stderr, code := runBounded(t, command, file)
			if want := file + ":1:1: the file is " + what + "; allowed: a regular file of at most 1 MiB"; code != 2 || !strings.Contains(stderr, want) {
				t.Errorf("chaosctl %s %s: exit %d, want 2 and %q\n%s", command, file, code, want, stderr)
			}
		}
		stderr, code := runBounded(t, "check", file)
		if want := file + ": the file is " + what + "; allowed: a regular file of at most 1 GiB"; code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("chaosctl check %s: exit %d, want 2 and %q\n%s", file, code, want, stderr)
		}
	}

	// Output folders whose file is a FIFO, or a link to a device.
	result := `{"experiment": "x", "verdict": "pass"}`
	for _, c := range []struct {
		name, file, what string
		regular          map[string]string // the folder's other files
		link             bool              // file links to /dev/zero, else a FIFO
	}{
		{name: "result.json a FIFO", file: "result.json", what: "a named pipe (FIFO)"},
		{name: "result.json a link to /dev/zero", file: "result.json", what: "a device", link: true},
		{name: "journal a FIFO", file: "journal.ndjson", what: "a named pipe (FIFO)", regular: map[string]string{"result.json": result}},
		{name: "journal a link to /dev/zero", file: "journal.ndjson", what: "a device", link: true, regular: map[string]string{"result.json": result}},
		{name: "experiment a FIFO", file: "experiment.yaml", what: "a named pipe (FIFO)", regular: map[string]string{"result.json": result}},
		{name: "gameday.json a FIFO", file: "gameday.json", what: "a named pipe (FIFO)"},
		{name: "gameday.json a link to /dev/zero", file: "gameday.json", what: "a device", link: true},
	} {
		dir := t.TempDir()
		for name, content := range c.regular {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(dir, c.file)
		var err error
		if c.link {
			err = os.Symlink("/dev/zero", path)
		} else {
			err = syscall.Mkfifo(path, 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
		stderr, code := runBounded(t, "report", dir)
		if want := path + ": the file is " + c.what + "; allowed: a regular file of at most "; code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("chaosctl report, %s: exit %d, want 2 and %q\n%s", c.name, code, want, stderr)
		}
	}
}

// A playbook's experiment paths stay in its folder unless --allow-path
// allows another; a file outside is refused unread, and the problems of an
// allowed file are reported as validate reports them.
func TestGameDayAllowPath(t *testing.T) {
	root := t.TempDir()
	playbooks, library := filepath.Join(root, "playbooks"), filepath.Join(root, "library")
	for _, d := range []string{playbooks, library} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// Valid on its own, but n9 is not in the playbook's shared target.
	experiment := "apiVersion: chaosctl/v1\nkind: Experiment\nmetadata: {name: kill, description: kill one node}\n" +
		"workload: {rate: 10, duration: 5s}\nfaults: [{name: k, at: 1s, crash: {nodes: [n9]}}]\n" +
		"slos: [{name: av, sli: availability, objective: 99%}]\ntarget: {demo: {nodes: 9}}\n"
	if err := os.WriteFile(filepath.Join(library, "kill.yaml"), []byte(experiment), 0o600); err != nil {
		t.Fatal(err)
	}
	pb := filepath.Join(playbooks, "gd.yaml")
	playbook := "apiVersion: chaosctl/v1\nkind: GameDay\nmetadata: {name: gd}\ntarget: {demo: {nodes: 3}}\n" +
		"steps:\n  - {name: kill, expect: x, experiment: {path: ../library/kill.yaml}}\n"
	if err := os.WriteFile(pb, []byte(playbook), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "out")

	stderr, code := runBounded(t, "gameday", "--yes", "--out", out, pb)
	if want := pb + ":6:48: steps[0].experiment.path: ../library/kill.yaml is outside the playbook's folder " + playbooks; code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("without --allow-path: exit %d, want 2 and %q\n%s", code, want, stderr)
	}

	stderr, code = runBounded(t, "gameday", "--yes", "--out", out, "--allow-path", library, pb)
	if want := filepath.Join(library, "kill.yaml") + `:5:44: faults[0].crash.nodes[0]: unknown node "n9"; allowed: g1, n1, n2, n3`; code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("with --allow-path: exit %d, want 2 and %q\n%s", code, want, stderr)
	}

	stderr, code = runBounded(t, "gameday", "--yes", "--allow-path", filepath.Join(root, "nope"), pb)
	if code != 2 || !strings.Contains(stderr, "allowed experiment folder "+filepath.Join(root, "nope")) {
		t.Errorf("a missing --allow-path folder: exit %d, want 2\n%s", code, stderr)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an output folder was created (%v): nothing may start", err)
	}
}
