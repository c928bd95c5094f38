package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"golang.org/x/sys/unix"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/docker"
	"github.com/chaosctl/chaosctl/targets/docker/dockertest"
)

// subreaperEnv makes this test binary a subreaper that runs its arguments
// (see subreaperMain).
const subreaperEnv = "CHAOSCTL_TEST_SUBREAPER"

// subreaperMain runs argv as a child subreaper in the caller's session, as
// a CI runner or a container's init does: the orphans of a killed chaosctl's
// members are adopted here, so the kernel does not take their group for
// orphaned (and thaw it); it reaps every child until none is left.
func subreaperMain(argv []string) int {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "subreaper:", err)
		return 1
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "subreaper:", err)
		return 1
	}
	for {
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(-1, &ws, 0, nil); errors.Is(err, syscall.ECHILD) {
			return 0
		}
	}
}

// externalRun writes an experiment of target.external whose members are
// given as YAML, with a 60 s workload of this test's HTTP server and the
// faults given, and returns its path.
func externalRun(t *testing.T, members, faults string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	yaml := fmt.Sprintf(`apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: users-members}
seed: 1
target:
  external:
    members:
%s
workload:
  rate: 5
  warmup: 0s
  duration: 60s
  timeout: 500ms
  http:
    - {name: home, url: %q, expect: 200}
faults:
%s
slos:
  - {name: availability, sli: availability, objective: 10%%}
`, members, srv.URL+"/", faults)
	path := filepath.Join(t.TempDir(), "users-members.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// killMidFault starts `chaosctl run file` (under this binary as a subreaper
// when subreaper), waits until faults are applied, SIGKILLs chaosctl and
// returns the state directory.
func killMidFault(t *testing.T, file string, faults int, subreaper bool) (state string) {
	t.Helper()
	out, state := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "state")
	args := []string{"run", file, "--out", out, "--state-dir", state}
	cmd := exec.Command(binary, args...)
	if subreaper {
		cmd = exec.Command(os.Args[0], append([]string{binary}, args...)...)
		cmd.Env = append(os.Environ(), subreaperEnv+"=1")
	}
	output := &testkit.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = output, output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	if err := testkit.Poll(90*time.Second, func() bool { return countApplied(filepath.Join(out, "journal.ndjson")) >= faults }); err != nil {
		t.Fatalf("faults applied: %v\n%s", err, output)
	}
	// chaosctl's pid, from its ledger (under a subreaper it is not cmd's).
	paths, err := filepath.Glob(filepath.Join(injectors.LedgerDir(state), "*.ndjson"))
	if err != nil || len(paths) != 1 {
		t.Fatalf("ledgers in %s: %v %v", state, paths, err)
	}
	recs, _, err := injectors.ReadLedger(paths[0])
	if err != nil || len(recs) == 0 || recs[0].Type != injectors.RecordRunStart {
		t.Fatalf("ledger %s: %v %+v", paths[0], err, recs)
	}
	pid := recs[0].PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil { // no chance to revert
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "chaosctl is gone", func() bool {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		return err != nil || strings.Contains(string(st), ") Z ")
	})
	if !subreaper {
		_, _ = cmd.Process.Wait()
	}
	return state
}

// After a SIGKILL of chaosctl mid-pause, `chaosctl recover` leaves no
// process of a command member's group stopped or running on: neither where
// a subreaper in chaosctl's session adopts the orphans (the kernel then
// leaves the group stopped), nor where the orphan ignores SIGHUP (the
// kernel thaws an orphaned group, and it runs on).
func TestSIGKILLMidPauseRecoverEndsACommandMembersWholeGroup(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		// subreaper: the member's sleep is left stopped. Otherwise the
		// kernel thaws the orphaned group where its new parent is in
		// another session, so it may run or not.
		subreaper bool
	}{
		{"under a subreaper", "sleep 600 & wait", true},
		{"a child that ignores SIGHUP", `trap "" HUP; sleep 600 & wait`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mark := fmt.Sprintf("CHAOSCTL_TEST_MARK=%d", time.Now().UnixNano())
			key, value, _ := strings.Cut(mark, "=")
			file := externalRun(t,
				fmt.Sprintf("      - {name: app, command: [sh, -c, %q], env: {%s: %q}}", tc.script, key, value),
				"  - {name: freeze, at: 1s, duration: 50s, pause: {nodes: [app]}}")
			t.Cleanup(func() { killMarked(mark) })
			state := killMidFault(t, file, 1, tc.subreaper)
			// What chaosctl leaves: the leader is gone with chaosctl (the
			// parent-death signal), its sleep is not.
			testkit.Eventually(t, 10*time.Second, fmt.Sprintf("the member's sleep is left behind (stopped: %v)", tc.subreaper), func() bool {
				left := testkit.ProcessesWithEnv(mark)
				return len(left) == 1 && (!tc.subreaper || strings.HasSuffix(left[0], " T"))
			})
			said := recoverState(t, state, "recovered")
			testkit.Eventually(t, 5*time.Second, "no process of the member is left", func() bool {
				return len(testkit.ProcessesWithEnv(mark)) == 0
			})
			if !strings.Contains(said, "member app") || !strings.Contains(said, "process group") {
				t.Errorf("recover does not say it ended the member's process group:\n%s", said)
			}
			recoverState(t, state, "nothing to recover")
		})
	}
}

// killMarked kills what a failed test left of a member (its processes bear
// mark).
func killMarked(mark string) {
	for _, p := range testkit.ProcessesWithEnv(mark) {
		var pid int
		if _, err := fmt.Sscan(p, &pid); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// After a SIGKILL of chaosctl mid-fault, `chaosctl recover` unpauses the
// user's container chaosctl paused and starts the one it killed, and
// touches no container the ledger does not record (one the user paused
// stays paused).
func TestSIGKILLMidFaultRecoverUndoesFaultsOnUsersContainers(t *testing.T) {
	cli := dockertest.Engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ref, _, err := docker.EnsureImage(ctx, cli, binary, "") // removed by TestMain
	if err != nil {
		t.Fatal(err)
	}
	stamp := time.Now().UnixNano()
	names := map[string]string{}
	for _, role := range []string{"paused", "killed", "bystander"} {
		name := fmt.Sprintf("chaosctl-test-%s-%d", role, stamp)
		c, err := cli.ContainerCreate(ctx, &container.Config{Image: ref, Cmd: []string{"proxy", "--listen", "0.0.0.0:8474"}}, nil, nil, nil, name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true}) })
		if err := cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
			t.Fatal(err)
		}
		names[role] = name
	}
	if err := cli.ContainerPause(ctx, names["bystander"]); err != nil { // the user's doing
		t.Fatal(err)
	}
	file := externalRun(t,
		fmt.Sprintf("      - {name: frozen, container: {name: %s}}\n      - {name: dead, container: {name: %s}}", names["paused"], names["killed"]),
		"  - {name: freeze, at: 1s, duration: 50s, pause: {nodes: [frozen]}}\n  - {name: kill, at: 1s, crash: {nodes: [dead]}}")
	state := killMidFault(t, file, 2, false)
	status := func(role string) (running, paused bool) {
		insp, err := cli.ContainerInspect(ctx, names[role])
		if err != nil || insp.State == nil {
			t.Fatalf("inspect %s: %v", names[role], err)
		}
		return insp.State.Running, insp.State.Paused
	}
	if _, paused := status("paused"); !paused {
		t.Fatal("the paused member is not paused after chaosctl's SIGKILL")
	}
	if running, _ := status("killed"); running {
		t.Fatal("the killed member runs after chaosctl's SIGKILL")
	}
	said := recoverState(t, state, "recovered")
	for _, role := range []string{"paused", "killed"} {
		if running, paused := status(role); !running || paused {
			t.Errorf("container %s after recover: running %v, paused %v", names[role], running, paused)
		}
	}
	for _, want := range []string{"member frozen (container " + names["paused"], "unpaused", "member dead (container " + names["killed"], "started"} {
		if !strings.Contains(said, want) {
			t.Errorf("recover does not say %q:\n%s", want, said)
		}
	}
	if _, paused := status("bystander"); !paused {
		t.Error("recover unpaused a container its ledger does not record")
	}
	recoverState(t, state, "nothing to recover")
}
