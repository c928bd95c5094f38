package supervisor_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/internal/deadman"
	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/childproc"
	"github.com/chaosctl/chaosctl/targets/supervisor"
)

// The test binary doubles as the member: with SUPERVISOR_TEST_CHILD set it
// waits (forever, or exits with the code the variable gives).
func TestMain(m *testing.M) {
	switch v := os.Getenv("SUPERVISOR_TEST_CHILD"); v {
	case "":
		os.Exit(m.Run())
	case "wait":
		select {}
	default:
		code, _ := strconv.Atoi(v)
		os.Exit(code)
	}
}

// startSupervisor runs a supervisor of the test binary; done yields Run's
// result once (buffered, so the cleanup never waits on a consumed value).
func startSupervisor(t *testing.T, child string) (*supervisor.Client, chan error, context.CancelFunc) {
	t.Helper()
	t.Setenv("SUPERVISOR_TEST_CHILD", child)
	sup, err := supervisor.New(supervisor.Options{Argv: []string{os.Args[0]}, Token: "tok", Log: logrus.NewEntry(logrus.New()), StopGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() { done <- sup.Run(ctx, ln); close(finished) }()
	t.Cleanup(func() { cancel(); <-finished })
	return &supervisor.Client{Addr: ln.Addr().String(), Token: "tok"}, done, cancel
}

func procState(pid int) string { return childproc.StateOf(pid) }

func alive(pid int) bool {
	st := procState(pid)
	return st != "" && st != "Z"
}

func TestKillStartPauseResumeStop(t *testing.T) {
	c, done, _ := startSupervisor(t, "wait")
	ctx := context.Background()
	var st supervisor.Status
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if st, err = c.Status(ctx); err == nil && st.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("member not running: %+v %v", st, err)
		}
		time.Sleep(10 * time.Millisecond) // polling the API with a deadline
	}
	first := st.PID

	st, err := c.Pause(ctx)
	if err != nil || !st.Paused || procState(first) != "T" {
		t.Fatalf("pause: %+v %v state %s", st, err, procState(first))
	}
	if st, err = c.Resume(ctx); err != nil || st.Paused || procState(first) == "T" {
		t.Fatalf("resume: %+v %v state %s", st, err, procState(first))
	}

	// Killed, it stays down (the supervisor does not exit) until started.
	if st, err = c.Kill(ctx); err != nil || st.Running || alive(first) {
		t.Fatalf("kill: %+v %v", st, err)
	}
	select {
	case err := <-done:
		t.Fatalf("the supervisor ended after a kill chaosctl asked for: %v", err)
	default:
	}
	if st, err = c.Start(ctx); err != nil || !st.Running || st.PID == first || st.Starts != 2 {
		t.Fatalf("start: %+v %v", st, err)
	}
	if st2, err := c.Start(ctx); err != nil || st2.PID != st.PID {
		t.Fatalf("second start: %+v %v", st2, err)
	}
	// A paused member is stopped too (SIGCONT after SIGTERM).
	second := st.PID
	if _, err := c.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err = c.Stop(ctx, 2*time.Second); err != nil || st.Running || alive(second) {
		t.Fatalf("stop: %+v %v", st, err)
	}
	if _, err := c.Pause(ctx); err == nil {
		t.Fatal("pausing a stopped member succeeded")
	}
	bad := &supervisor.Client{Addr: c.Addr, Token: "wrong"}
	if _, err := bad.Kill(ctx); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong token: %v", err)
	}
}

// A member that exits on its own ends the supervisor with its code, so the
// kubelet restarts the container.
func TestMemberExitEndsTheSupervisor(t *testing.T) {
	_, done, _ := startSupervisor(t, "7")
	select {
	case err := <-done:
		var exit *supervisor.ExitError
		if !errors.As(err, &exit) || exit.Code != 7 {
			t.Fatalf("Run returned %v, want exit code 7", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the supervisor did not end")
	}
}

// Cancelling Run (SIGTERM to the pod) stops the member.
func TestCancelStopsTheMember(t *testing.T) {
	c, done, cancel := startSupervisor(t, "wait")
	ctx := context.Background()
	var pid int
	deadline := time.Now().Add(10 * time.Second)
	for pid == 0 {
		if st, err := c.Status(ctx); err == nil {
			pid = st.PID
		}
		if time.Now().After(deadline) {
			t.Fatal("member not running")
		}
		time.Sleep(10 * time.Millisecond) // polling the API with a deadline
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if alive(pid) {
		t.Fatalf("member %d alive after the supervisor ended", pid)
	}
}

// running waits until the member runs and returns its pid.
func running(t *testing.T, c *supervisor.Client, not int) int {
	t.Helper()
	var pid int
	testkit.Eventually(t, 10*time.Second, "the member runs", func() bool {
		st, err := c.Status(context.Background())
		if err == nil && st.Running && st.PID != not {
			pid = st.PID
		}
		return pid != 0
	})
	return pid
}

// The dead-man switch: when chaosctl stops renewing the lease, a paused
// member is resumed and a killed one started again, within the TTL.
func TestLeaseExpiryResumesAndRestartsTheMember(t *testing.T) {
	const ttl = 600 * time.Millisecond
	c, _, _ := startSupervisor(t, "wait")
	ctx := context.Background()
	pid := running(t, c, 0)
	log := logrus.NewEntry(logrus.New())

	k, err := deadman.Keep(ctx, "http://"+c.Addr, c.Token, ttl, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pause(ctx); err != nil || procState(pid) != "T" {
		t.Fatalf("pause: %v, state %s", err, procState(pid))
	}
	k.Abandon() // chaosctl killed
	testkit.Eventually(t, ttl+5*time.Second, "the paused member is resumed", func() bool { return procState(pid) != "T" })
	if !alive(pid) {
		t.Fatalf("member %d is gone after the resume", pid)
	}

	if k, err = deadman.Keep(ctx, "http://"+c.Addr, c.Token, ttl, log); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Kill(ctx); err != nil || alive(pid) {
		t.Fatalf("kill: %v, alive %v", err, alive(pid))
	}
	k.Abandon()
	running(t, c, pid)

	// Without the token, the lease is refused like every other call.
	if _, err := deadman.Keep(ctx, "http://"+c.Addr, "wrong", ttl, log); err == nil {
		t.Fatal("a lease without the token was granted")
	}
}
