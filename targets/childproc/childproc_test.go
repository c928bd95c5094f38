package childproc_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/crash"
	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/childproc"
)

const parentEnv = "CHILDPROC_TEST_PARENT"

// TestMain doubles as a parent process: with parentEnv set, this binary
// starts `sleep` through childproc, prints its pid and waits to be killed.
func TestMain(m *testing.M) {
	if os.Getenv(parentEnv) != "" {
		p, err := childproc.Start(childproc.Spec{Argv: []string{"sleep", "1000"}})
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString(strconv.Itoa(p.PID()) + "\n")
		<-p.Done()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// start starts argv with its output in a log file; the process is killed
// when the test ends.
func start(t *testing.T, argv ...string) (*childproc.Process, string) {
	t.Helper()
	log := filepath.Join(t.TempDir(), "child.log")
	p, err := childproc.Start(childproc.Spec{Argv: argv, LogPath: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Kill(ctx); err != nil && !errors.Is(err, childproc.ErrExited) {
			t.Errorf("kill at cleanup: %v", err)
		}
	})
	return p, log
}

// firstLine waits until the log holds a line and returns it.
func firstLine(t *testing.T, log string) string {
	t.Helper()
	var line string
	testkit.Eventually(t, 10*time.Second, "the child wrote a line to "+log, func() bool {
		b, _ := os.ReadFile(log)
		line, _, _ = strings.Cut(string(b), "\n")
		return strings.HasSuffix(string(b), "\n")
	})
	return line
}

// groupChild starts a shell that runs `sleep` in its own process group and
// returns both; the shell waits for the sleep.
func groupChild(t *testing.T) (p *childproc.Process, sleepPID int) {
	t.Helper()
	p, log := start(t, "sh", "-c", "sleep 1000 & echo $!; wait")
	pid, err := strconv.Atoi(firstLine(t, log))
	if err != nil {
		t.Fatal(err)
	}
	return p, pid
}

func gone(pid int) bool {
	st := childproc.StateOf(pid)
	return st == "" || st == "Z" || st == "X"
}

func signalOf(t *testing.T, p *childproc.Process) syscall.Signal {
	t.Helper()
	st, _ := p.State()
	if st == nil {
		t.Fatal("no exit state")
	}
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		t.Fatalf("the process was not ended by a signal: %v", st)
	}
	return ws.Signal()
}

func TestStopEndsTheGroupWithSIGTERMWithinGrace(t *testing.T) {
	p, sleepPID := groupChild(t)
	if p.Exited() {
		t.Fatal("exited at once")
	}
	killed, err := p.Stop(context.Background(), time.Minute)
	if err != nil || killed {
		t.Fatalf("Stop: killed %v, %v", killed, err)
	}
	if sig := signalOf(t, p); sig != syscall.SIGTERM {
		t.Fatalf("ended by %v, want SIGTERM", sig)
	}
	testkit.Eventually(t, 10*time.Second, "the group's sleep is gone", func() bool { return gone(sleepPID) })
	if _, err := p.Stop(context.Background(), time.Minute); !errors.Is(err, childproc.ErrExited) {
		t.Fatalf("second Stop: %v, want ErrExited", err)
	}
}

// A child that ignores SIGTERM is killed once the grace has passed, and at
// once when ctx ends first.
func TestStopKillsAfterTheGraceOrWhenCtxEnds(t *testing.T) {
	for _, tc := range []struct {
		name      string
		grace     time.Duration
		cancelled bool
	}{
		{"grace", 100 * time.Millisecond, false},
		{"ctx", time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, log := start(t, "sh", "-c", `trap "" TERM; echo ready; exec sleep 1000`)
			firstLine(t, log) // SIGTERM is ignored from here on
			ctx, cancel := context.WithCancel(context.Background())
			if tc.cancelled {
				cancel()
			}
			defer cancel()
			killed, err := p.Stop(ctx, tc.grace)
			if err != nil || !killed {
				t.Fatalf("Stop: killed %v, %v", killed, err)
			}
			if sig := signalOf(t, p); sig != syscall.SIGKILL {
				t.Fatalf("ended by %v, want SIGKILL", sig)
			}
		})
	}
}

func TestPauseStopsTheGroupAndResumeThawsIt(t *testing.T) {
	p, sleepPID := groupChild(t)
	ctx := context.Background()
	if err := p.Pause(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if st := childproc.StateOf(p.PID()); st != "T" || !p.Paused() {
		t.Fatalf("after Pause: state %q, paused %v", st, p.Paused())
	}
	testkit.Eventually(t, 5*time.Second, "the group's sleep is stopped", func() bool { return childproc.StateOf(sleepPID) == "T" })
	if err := p.Resume(); err != nil {
		t.Fatal(err)
	}
	if p.Paused() {
		t.Fatal("paused after Resume")
	}
	for _, pid := range []int{p.PID(), sleepPID} {
		testkit.Eventually(t, 5*time.Second, "pid "+strconv.Itoa(pid)+" runs again", func() bool {
			st := childproc.StateOf(pid)
			return st != "T" && st != ""
		})
	}
	// A paused group is killed too.
	if err := p.Pause(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if sig := signalOf(t, p); sig != syscall.SIGKILL || p.Paused() {
		t.Fatalf("ended by %v (paused %v), want SIGKILL", sig, p.Paused())
	}
	testkit.Eventually(t, 10*time.Second, "the group's sleep is gone", func() bool { return gone(sleepPID) })
	for name, op := range map[string]func() error{
		"Pause":  func() error { return p.Pause(ctx, time.Second) },
		"Resume": p.Resume,
		"Kill":   func() error { return p.Kill(ctx) },
	} {
		if err := op(); !errors.Is(err, childproc.ErrExited) {
			t.Errorf("%s after the exit: %v, want ErrExited", name, err)
		}
	}
}

func TestExitIsReportedAfterOnExit(t *testing.T) {
	var onExit atomic.Int32
	var out, errOut bytes.Buffer
	p, err := childproc.Start(childproc.Spec{
		Argv:   []string{"sh", "-c", "echo out; echo err >&2; exit 3"},
		Stdout: &out, Stderr: &errOut,
		OnExit: func(st *os.ProcessState, err error) {
			var ee *exec.ExitError
			if st.ExitCode() == 3 && errors.As(err, &ee) {
				onExit.Store(1)
			} else {
				onExit.Store(2)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got := onExit.Load(); got != 1 {
		t.Fatalf("OnExit before Done: %d, want 1 (called with code 3)", got)
	}
	st, err := p.State()
	if st.ExitCode() != 3 || err == nil || !p.Exited() {
		t.Fatalf("state %v, %v", st, err)
	}
	if out.String() != "out\n" || errOut.String() != "err\n" {
		t.Fatalf("stdout %q, stderr %q", out.String(), errOut.String())
	}
}

func TestWaitEndsWithCtx(t *testing.T) {
	p, _ := start(t, "sleep", "1000")
	if st, err := p.State(); st != nil || err != nil {
		t.Fatalf("state of a running process: %v %v", st, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait: %v", err)
	}
}

func TestStartErrors(t *testing.T) {
	if _, err := childproc.Start(childproc.Spec{}); err == nil {
		t.Error("started no command")
	}
	if _, err := childproc.Start(childproc.Spec{Argv: []string{"/nonexistent/program"}}); err == nil {
		t.Error("started a program that does not exist")
	}
	_, err := childproc.Start(childproc.Spec{Argv: []string{"true"}, LogPath: "/nonexistent/dir/x.log"})
	if err == nil || !strings.HasPrefix(err.Error(), "open log: ") {
		t.Errorf("log in a missing folder: %v", err)
	}
}

func TestWaitStopped(t *testing.T) {
	p, _ := start(t, "sleep", "1000")
	err := childproc.WaitStopped(context.Background(), p.PID(), 20*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "is not stopped") {
		t.Fatalf("a running process: %v", err)
	}
	if err := p.Kill(context.Background()); err != nil {
		t.Fatal(err)
	}
	err = childproc.WaitStopped(context.Background(), p.PID(), time.Second)
	if err == nil || !strings.Contains(err.Error(), "exited instead of stopping") {
		t.Fatalf("a process that is gone: %v", err)
	}
	if st := childproc.StateOf(p.PID()); st != "" {
		t.Fatalf("state of a reaped process: %q", st)
	}
	if st := childproc.StateOf(os.Getpid()); st != "R" && st != "S" {
		t.Fatalf("state of this process: %q", st)
	}
}

// A child outlives nothing: when its parent is killed, the parent-death
// signal kills it.
func TestParentDeathKillsTheChild(t *testing.T) {
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), parentEnv+"=1")
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	parent.Stderr = os.Stderr
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = parent.Process.Kill(); _ = parent.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read the child's pid: %v", err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	if gone(child) {
		t.Fatal("the child is not running")
	}
	if err := parent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	testkit.Eventually(t, 10*time.Second, "the child is gone with its parent", func() bool { return gone(child) })
}

// A panic in OnExit is handed to OnPanic, named, and Done is closed all
// the same: the program (a member's supervisor) ends cleanly instead of
// dying with the panic.
func TestAPanicInOnExitIsHandedToOnPanic(t *testing.T) {
	got := make(chan *crash.Panic, 1)
	p, err := childproc.Start(childproc.Spec{
		Argv:    []string{"true"},
		OnExit:  func(*os.ProcessState, error) { panic("injected by the test") },
		OnPanic: func(p *crash.Panic) { got <- p },
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done is not closed 10s after the process was started")
	}
	select {
	case pn := <-got:
		if want := "the exit handler of pid " + strconv.Itoa(p.PID()); pn.Where != want || pn.Value != "injected by the test" {
			t.Fatalf("OnPanic got %+v, want %q", pn, want)
		}
	default:
		t.Fatal("Done was closed before OnPanic got the panic")
	}
}
