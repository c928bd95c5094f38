package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets/docker"
	"github.com/chaosctl/chaosctl/targets/docker/dockertest"
)

// dockerEngine connects to the Docker engine or skips the test (fails where
// CHAOSCTL_REQUIRE_INTEGRATION=1).
func dockerEngine(t *testing.T) *client.Client { return dockertest.Engine(t) }

// removeTestImage removes the image the docker tests built from this
// package's binary (tagged by its hash), if any.
func removeTestImage() {
	cli, err := docker.Connect(context.Background())
	if err != nil {
		return
	}
	defer cli.Close()
	if ref, err := docker.ImageRefFor(binary, ""); err == nil {
		_, _ = cli.ImageRemove(context.Background(), ref, image.RemoveOptions{PruneChildren: true})
	}
}

// runsIn returns the run ids whose ledgers are in state.
func runsIn(t *testing.T, state string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(injectors.LedgerDir(state), "*.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	var runs []string
	for _, p := range paths {
		runs = append(runs, strings.TrimSuffix(filepath.Base(p), ".ndjson"))
	}
	return runs
}

// noDockerLeftovers fails when any container, network or volume of the
// runs recorded in state remains.
func noDockerLeftovers(t *testing.T, cli *client.Client, state string) {
	t.Helper()
	runs := runsIn(t, state)
	if len(runs) == 0 {
		t.Fatalf("no run recorded in %s", state)
	}
	left, err := docker.Leftovers(context.Background(), cli)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if len(left[r]) > 0 {
			t.Errorf("run %s left %v", r, left[r])
		}
	}
}

// runOn runs file on runtime with its own state dir, then calls
// noLeftovers with that state dir (nil on the process runtime) and checks
// that no member process remains.
func runOn(t *testing.T, file, runtime string, noLeftovers func(t *testing.T, state string)) (*report.Result, string, int) {
	t.Helper()
	out, state := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "state")
	args := []string{"run", file, "--out", out, "--state-dir", state}
	if runtime != "external" { // the file's own target
		args = append(args, "--target", runtime)
	}
	stdout, stderr, code := run(t, args...)
	res, err := report.ReadJSON(out)
	if err != nil {
		t.Fatalf("%s on %s: exit %d, no result: %v\n%s\n%s", file, runtime, code, err, stdout, tail(stderr, 30))
	}
	if res.Runtime != runtime {
		t.Fatalf("result says runtime %q, want %q", res.Runtime, runtime)
	}
	if noLeftovers != nil {
		noLeftovers(t, state)
	}
	noMembersLeft(t, out)
	return res, stdout + tail(stderr, 30), code
}

// passesLikeProcesses runs each file on runtime, where it must pass with
// every fault applied and reverted, and (except the quickstart, which
// TestQuickstartPasses runs) on processes, where it must reach the same
// verdict with the same members hit (one seed picks the same ones).
func passesLikeProcesses(t *testing.T, runtime string, noLeftovers func(t *testing.T, state string), files ...string) {
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			on, out, code := runOn(t, file, runtime, noLeftovers)
			if code != 0 || on.Verdict != report.Pass {
				t.Fatalf("%s: exit %d, verdict %s (%s)\n%s", runtime, code, on.Verdict, on.Reason, out)
			}
			for _, f := range on.Faults {
				if f.Applied == nil || f.Reverted == nil || f.Error != "" {
					t.Errorf("%s: fault %s applied %v reverted %v error %q", runtime, f.Name, f.Applied, f.Reverted, f.Error)
				}
			}
			receiptsVerified(t, runtime, on)
			if filepath.Base(file) == "quickstart.yaml" {
				return
			}
			onProcess, out, code := runOn(t, file, "process", nil)
			if onProcess.Verdict != on.Verdict || code != 0 {
				t.Fatalf("process: exit %d, verdict %s (%s); %s said %s\n%s", code, onProcess.Verdict, onProcess.Reason, runtime, on.Verdict, out)
			}
			for i := range on.Faults {
				r, p := on.Faults[i], onProcess.Faults[i]
				if p.Applied == nil || p.Reverted == nil || p.Error != "" {
					t.Errorf("process: fault %s applied %v reverted %v error %q", p.Name, p.Applied, p.Reverted, p.Error)
				}
				if strings.Join(r.Targets, ",") != strings.Join(p.Targets, ",") {
					t.Errorf("fault %s hit %v on %s and %v on processes; one seed must pick the same members", r.Name, r.Targets, runtime, p.Targets)
				}
			}
		})
	}
}

func TestDockerRuntimeReachesTheProcessRuntimesVerdicts(t *testing.T) {
	cli := dockerEngine(t)
	passesLikeProcesses(t, "docker", func(t *testing.T, state string) { noDockerLeftovers(t, cli, state) },
		"../../examples/quickstart.yaml", "../../examples/container-faults.yaml", "testdata/every-fault.yaml")
}

// interruptedOrKilledLeavesNothing starts file (with 3 faults) twice on a
// runtime: SIGINT mid-fault must exit 3 with every fault reverted, the
// member logs saved and nothing left; SIGKILL mid-fault leaves what
// leftBehind checks (given the run id), and recover, which must say
// recovered and want, removes it, and a second recover has nothing to do.
func interruptedOrKilledLeavesNothing(t *testing.T, file string, noLeftovers func(t *testing.T, state string),
	leftBehind func(t *testing.T, run string), want func(run string) string) {
	t.Run("SIGINT", func(t *testing.T) {
		cmd, out, state, output := startRun(t, file, 3)
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		expectInterruptedAndReverted(t, cmd, out, output)
		noLeftovers(t, state)
		// The members' logs were saved before their containers or pods went.
		if _, err := os.Stat(filepath.Join(out, "members", "n1.log")); err != nil {
			t.Errorf("member log: %v", err)
		}
	})
	t.Run("SIGKILL then recover", func(t *testing.T) {
		cmd, _, state, _ := startRun(t, file, 3)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_, _ = cmd.Process.Wait()
		runs := runsIn(t, state)
		if len(runs) != 1 {
			t.Fatalf("runs %v", runs)
		}
		leftBehind(t, runs[0])
		recoverState(t, state, "recovered", want(runs[0]))
		noLeftovers(t, state)
		recoverState(t, state, "nothing to recover")
	})
}

func TestDockerRunInterruptedOrKilledLeavesNothing(t *testing.T) {
	cli := dockerEngine(t)
	interruptedOrKilledLeavesNothing(t, "testdata/docker-long.yaml",
		func(t *testing.T, state string) { noDockerLeftovers(t, cli, state) },
		func(t *testing.T, run string) {
			left, err := docker.Leftovers(context.Background(), cli)
			if err != nil {
				t.Fatal(err)
			}
			// 4 members + the fault plane, the network, 3 volumes.
			if len(left[run]) != 9 {
				t.Fatalf("before recover, run %s has %v; want 5 containers, a network and 3 volumes", run, left[run])
			}
		},
		func(string) string { return "removed network" })
}

func TestDockerRunWithoutAnEngineExits5NamingDOCKER_HOST(t *testing.T) {
	host := "unix://" + filepath.Join(t.TempDir(), "no-such.sock")
	out, state := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "state")
	cmd := exec.Command(binary, "run", "../../examples/quickstart.yaml", "--target", "docker", "--out", out, "--state-dir", state)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+host)
	b, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 5 {
		t.Fatalf("exit %v, want 5\n%s", err, b)
	}
	if !strings.Contains(string(b), "no Docker engine reachable") || !strings.Contains(string(b), host) {
		t.Fatalf("the error does not name the engine:\n%s", b)
	}
	// Nothing was injected: the run ended before any fault.
	expectNothingApplied(t, out)
}

// An unknown runtime is a usage error before anything starts.
func TestUnknownTargetExits2(t *testing.T) {
	_, stderr, code := run(t, "run", "../../examples/quickstart.yaml", "--target", "nomad")
	if code != 2 || !strings.Contains(stderr, "allowed are process, docker and kubernetes") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
}

// chaosctl image export writes an archive that another engine loads: the
// way to a cluster without a registry.
func TestImageExportWritesAnArchiveTheEngineLoads(t *testing.T) {
	cli := dockerEngine(t)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "chaosctl.tar")
	stdout, stderr, code := run(t, "image", "export", file)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	ref, err := docker.ImageRefFor(binary, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, ref) {
		t.Fatalf("stdout %q does not name %s", stdout, ref)
	}
	if _, err := cli.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	resp, err := cli.ImageLoad(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	insp, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatalf("the loaded archive has no %s: %v", ref, err)
	}
	if insp.Config == nil || insp.Config.Labels[docker.LabelImage] != ref {
		t.Fatalf("loaded image labels %v", insp.Config)
	}
	if _, _, code := run(t, "image", "export"); code != 2 {
		t.Fatalf("export without a file: exit %d, want 2", code)
	}
}

// The image is the running binary: a dynamically linked chaosctl cannot be
// put in a FROM-scratch image, and says how to build one that can.
func TestDockerRunWithADynamicBinaryExits5(t *testing.T) {
	dockerEngine(t)
	dyn := dockertest.BuildChaosctl(t, t.TempDir(), "1")
	if docker.CheckStatic(dyn) == nil {
		t.Skip("CGO_ENABLED=1 built a static binary here (no C toolchain?)")
	}
	out, state := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "state")
	cmd := exec.Command(dyn, "run", "../../examples/quickstart.yaml", "--target", "docker", "--out", out, "--state-dir", state)
	b, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 5 || !strings.Contains(string(b), "CGO_ENABLED=0") {
		t.Fatalf("exit %v, want 5 and how to build a static binary:\n%s", err, b)
	}
	noDockerLeftovers(t, dockerEngine(t), state)
}

// expectNothingApplied fails when the run in out applied any fault (it
// ended before the first).
func expectNothingApplied(t *testing.T, out string) {
	t.Helper()
	res, err := report.ReadJSON(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Faults {
		if f.Applied != nil {
			t.Errorf("fault %s was applied", f.Name)
		}
	}
}
