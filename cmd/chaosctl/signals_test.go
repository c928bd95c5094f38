package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/experiments/runner"
	"github.com/chaosctl/chaosctl/internal/crash"
	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/demo"
)

// A closed terminal (SIGHUP) and Ctrl-\ (SIGQUIT) end a run as Ctrl-C
// does: every fault reverted, exit 3.
func TestSIGHUPAndSIGQUITMidFaultRevertEverythingAndExit3(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, out, _, output := startRun(t, "testdata/long-pause.yaml", 2)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			expectInterruptedAndReverted(t, cmd, out, output)
			noMembersLeft(t, out)
		})
	}
}

// `chaosctl run x.yaml 2>&1 | head -1`: the reader of stdout and stderr goes
// away mid-fault. chaosctl is not killed by SIGPIPE on its next write: it
// reverts every fault and exits 3.
func TestAClosedOutputPipeMidFaultRevertsEverythingAndExits3(t *testing.T) {
	out, state := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "state")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "run", "testdata/short-pause.yaml", "--out", out, "--state-dir", state)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	w.Close()
	// Read until the fault is applied, then close the pipe as head does.
	read := &testkit.SyncBuffer{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		read.Write(append(sc.Bytes(), '\n'))
		if strings.Contains(sc.Text(), "fault applied") {
			break
		}
	}
	if err := testkit.Poll(5*time.Second, func() bool { return countApplied(filepath.Join(out, "journal.ndjson")) == 1 }); err != nil {
		t.Fatalf("the fault is not in the journal: %v\n%s", err, read)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	expectInterruptedAndReverted(t, cmd, out, read)
	noMembersLeft(t, out)
}

// `chaosctl run x.yaml | head -1` with nothing written to stdout for the
// length of a fault: the reader goes away mid-fault (stderr elsewhere), and
// chaosctl notices it without a write to fail: it reverts every fault and
// exits 3 within seconds, not at the fault's planned end 50s later.
func TestAStdoutReaderGoneMidFaultIsNoticedWithoutAWrite(t *testing.T) {
	out, state := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "state")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &testkit.SyncBuffer{}
	cmd := exec.Command(binary, "run", "testdata/long-pause.yaml", "--out", out, "--state-dir", state)
	cmd.Stdout, cmd.Stderr = w, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	w.Close()
	if err := testkit.Poll(90*time.Second, func() bool { return countApplied(filepath.Join(out, "journal.ndjson")) == 2 }); err != nil {
		t.Fatalf("the faults are not applied: %v\n%s", err, stderr)
	}
	closed := time.Now()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(30*time.Second, func() {
		t.Errorf("chaosctl still ran 30s after its stdout's reader went away (the faults end 50s after they began): killed")
		_ = cmd.Process.Kill()
	})
	expectInterruptedAndReverted(t, cmd, out, stderr)
	timer.Stop()
	t.Logf("reverted and exited %s after the reader went away", time.Since(closed).Round(time.Millisecond))
	if !strings.Contains(stderr.String(), "stdout closed") {
		t.Errorf("chaosctl did not say why it stopped:\n%s", stderr)
	}
	noMembersLeft(t, out)
}

// The proxy command (the docker runtime's fault plane) stops cleanly on
// SIGHUP and SIGQUIT too.
func TestProxyCommandStopsOnSIGHUPAndSIGQUIT(t *testing.T) {
	t.Setenv(demo.EnvControlToken, "tok")
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			cmd, output := startChaosctl(t, "proxy serving", 20*time.Second, accepts(addr), "proxy", "--listen", addr)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("proxy after %v: %v\n%s", sig, err, output)
			}
		})
	}
}

// How a run that ended early exits: a revert that failed outranks a crash,
// which outranks an interruption.
func TestRunEndCodes(t *testing.T) {
	revertFailed := errors.New("revert: " + runner.ErrEnvironment.Error())
	revertFailed = errors.Join(revertFailed, runner.ErrEnvironment)
	crashed := errors.Join(runner.ErrCrashed, &crash.Panic{Where: "probe p", Value: "boom"})
	for _, tc := range []struct {
		name  string
		err   error
		code  int
		ended bool
	}{
		{"interrupted", runner.ErrInterrupted, exitInterrupted, true},
		{"crashed", crashed, exitCrashed, true},
		{"a cluster's panic", &crash.Panic{Where: "the expiry of fault f", Value: "boom"}, exitCrashed, true},
		{"interrupted, a revert failed", errors.Join(runner.ErrInterrupted, revertFailed), exitEnvironment, true},
		{"crashed, a revert failed", errors.Join(crashed, revertFailed), exitEnvironment, true},
		{"environment alone", revertFailed, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, ended := runEndCode(tc.err)
			if code != tc.code || ended != tc.ended {
				t.Fatalf("runEndCode = %d, %v; want %d, %v", code, ended, tc.code, tc.ended)
			}
			if tc.ended && exitCode(tc.err) != tc.code {
				t.Fatalf("exitCode = %d, want %d", exitCode(tc.err), tc.code)
			}
		})
	}
}

// panickyWriter panics on every write.
type panickyWriter struct{}

func (panickyWriter) Write([]byte) (int, error) { panic("injected by the test") }

// A panic on the app's own goroutine exits 6 with the panic and its stack
// logged, not 2 ("invalid input"), Go's code for a panic.
func TestAPanicOutsideARunExits6(t *testing.T) {
	var stderr bytes.Buffer
	code := runMain(newEnv(nil, panickyWriter{}, &stderr), []string{"chaosctl", "version"})
	if code != exitCrashed || !strings.Contains(stderr.String(), "chaosctl panicked: injected by the test") || !strings.Contains(stderr.String(), "stack=") {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitCrashed, stderr.String())
	}
}

// The commands' outputs are guarded (internal/guardedio tests the writers):
// a stdout whose reader went away cancels the run like a signal.
func TestALostStdoutCancelsTheRun(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	t.Cleanup(func() { w.Close() })
	var stderr bytes.Buffer
	e := newEnv(nil, w, &stderr)
	if _, err := io.WriteString(e.stdout, "a result\n"); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("stdout write: %v, want EPIPE", err)
	}
	ctx, stop := cancelOnSignal(context.Background(), e, "first", "later")
	defer stop()
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a lost stdout did not cancel the run")
	}
}

// A panic in the signal watcher cancels the command with the panic as the
// cause (so it reverts and ends, instead of the process ending with faults
// applied), and the command then exits 6, or 5 when a revert failed.
func TestAPanicInTheSignalWatcherEndsTheCommandAsCrashed(t *testing.T) {
	signalWatcherHook = func() { panic("boom") }
	t.Cleanup(func() { signalWatcherHook = nil })
	var stderr bytes.Buffer
	e := newEnv(nil, io.Discard, &stderr)
	ctx, stop := cancelOnSignal(context.Background(), e, "first", "later")
	defer stop()
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a panic in the signal watcher did not cancel the command")
	}
	p, ok := errors.AsType[*crash.Panic](context.Cause(ctx))
	if !ok || p.Value != "boom" || p.Where != "the signal watcher" {
		t.Fatalf("cause %v, want the signal watcher's panic", context.Cause(ctx))
	}
	if got := e.finalCode(exitInterrupted); got != exitCrashed {
		t.Errorf("exit %d after the crash, want %d", got, exitCrashed)
	}
	if got := e.finalCode(exitEnvironment); got != exitEnvironment {
		t.Errorf("exit %d after the crash with a failed revert, want %d", got, exitEnvironment)
	}
	if !strings.Contains(stderr.String(), "the signal watcher panicked: boom; please report this bug") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}
