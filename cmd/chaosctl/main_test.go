package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// binary is chaosctl built once for the end-to-end tests of this package.
var binary string

func TestMain(m *testing.M) {
	if os.Getenv(subreaperEnv) == "1" {
		os.Exit(subreaperMain(os.Args[1:]))
	}
	dir, err := os.MkdirTemp("", "chaosctl-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "chaosctl")
	// Every chaosctl the tests start keeps its ledgers and cluster files
	// here, never in the user's state directory (tests that need their own
	// pass --state-dir).
	if err := os.Setenv("CHAOSCTL_STATE_DIR", filepath.Join(dir, "state")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Static, as `make build` makes it: the docker runtime puts this very
	// binary in its FROM-scratch image.
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build chaosctl:", err)
		os.Exit(1)
	}
	code := m.Run()
	removeTestImage()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run runs chaosctl to completion and returns its output and exit code.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runEnv(t, nil, args...)
}

// runEnv is run with env (KEY=VALUE) added to the environment.
func runEnv(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run chaosctl %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

// startChaosctl starts chaosctl with args in the background, its stdout
// and stderr in output, and waits until ready holds, failing the test with
// what it waited for and the output when within passes first. The test's
// end kills it.
func startChaosctl(t *testing.T, what string, within time.Duration, ready func() bool, args ...string) (cmd *exec.Cmd, output *testkit.SyncBuffer) {
	t.Helper()
	cmd = exec.Command(binary, args...)
	output = &testkit.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = output, output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	if err := testkit.Poll(within, ready); err != nil {
		t.Fatalf("%s: %v:\n%s", what, err, output)
	}
	return cmd, output
}

// recoverState runs `chaosctl recover --state-dir state`, which must exit 0
// and say each of want, and returns what it said.
func recoverState(t *testing.T, state string, want ...string) string {
	t.Helper()
	stdout, stderr, code := run(t, "recover", "--state-dir", state)
	ok := code == 0
	for _, w := range want {
		ok = ok && strings.Contains(stdout, w)
	}
	if !ok {
		t.Fatalf("recover: exit %d, want 0 and %q\n%s\n%s", code, want, stdout, stderr)
	}
	t.Logf("recover said:\n%s", stdout)
	return stdout
}

// noMembersLeft fails when any `chaosctl node` process whose command line
// mentions marker is still alive.
func noMembersLeft(t *testing.T, marker string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := membersRunning(marker)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("member processes left behind: %v", left)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}

func membersRunning(marker string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cl := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cl, binary) && strings.Contains(cl, " node ") && strings.Contains(cl, marker) {
			st, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			if f := strings.Fields(string(st)); len(f) > 2 && f[2] == "Z" {
				continue
			}
			out = append(out, e.Name()+": "+cl[:min(len(cl), 120)])
		}
	}
	return out
}

func TestVersionAndHelpDocumentExitCodes(t *testing.T) {
	out, _, code := run(t, "version")
	if code != 0 || !strings.HasPrefix(out, "chaosctl ") {
		t.Fatalf("version: %q exit %d", out, code)
	}
	out, _, code = run(t, "--help")
	if code != 0 || !strings.Contains(out, "EXIT CODES") || !strings.Contains(out, "inconclusive") {
		t.Fatalf("--help lacks exit codes: %s", out)
	}
	if strings.Contains(out, " node ") {
		t.Fatalf("the internal node command must be hidden:\n%s", out)
	}
}

func TestClusterUpBadInputExits2AndStartsNothing(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"w > n", []string{"--replicas", "3", "--write-quorum", "4"}, "write quorum w=4"},
		{"n > nodes", []string{"--nodes", "2", "--replicas", "3"}, "exceeds the 2 store nodes"},
		{"no overlap", []string{"--replicas", "3", "--write-quorum", "1", "--read-quorum", "1"}, "r+w > n"},
		{"bad mode", []string{"--consistency", "strong"}, "allowed are linearizable, quorum, eventual"},
		{"bad persistence", []string{"--persistence", "tape"}, "allowed are memory, disk"},
		{"unknown flag", []string{"--nodez", "3"}, "nodez"},
		{"bad number", []string{"--nodes", "three"}, "three"},
		{"eventual quorum", []string{"--consistency", "eventual", "--write-quorum", "2"}, "eventual consistency uses w=1"},
		{"stray argument", []string{"extra"}, "takes no arguments"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			marker := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			args := append([]string{"cluster", "up", "--base-port", "0", "--data-dir", marker}, tc.args...)
			_, stderr, code := run(t, args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr does not say %q:\n%s", tc.want, stderr)
			}
			noMembersLeft(t, marker)
		})
	}
}

func TestClusterUpPortInUseExits2(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	marker := t.TempDir()
	// g1 takes base, n1 base+1: make n1's port the taken one.
	_, stderr, code := run(t, "cluster", "up", "--nodes", "3", "--base-port", fmt.Sprint(port-1), "--data-dir", marker)
	if code != 2 || !strings.Contains(stderr, "in use") {
		t.Fatalf("exit %d, want 2 with 'in use'; stderr:\n%s", code, stderr)
	}
	noMembersLeft(t, marker)
}

func TestClusterUpStopsEveryMemberOnEveryStopSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) {
			lc := startLiveCluster(t, "--state", filepath.Join(t.TempDir(), "state.json"), "--nodes", "3", "--gateways", "0")
			if len(lc.st.Nodes) != 3 || lc.st.Control == "" {
				t.Fatalf("state file: %+v", lc.st)
			}
			if err := lc.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if err := lc.wait(); err != nil {
				t.Fatalf("cluster up after %v: %v\n%s", sig, err, lc.out)
			}
			for _, n := range lc.st.Nodes {
				if syscall.Kill(n.PID, 0) == nil {
					t.Errorf("member %s (pid %d) still alive after %v", n.ID, n.PID, sig)
				}
			}
		})
	}
}

func TestKilledClusterUpLeavesNoMemberBehind(t *testing.T) {
	lc := startLiveCluster(t, "--state", filepath.Join(t.TempDir(), "state.json"), "--nodes", "3", "--gateways", "0")
	if err := lc.cmd.Process.Kill(); err != nil { // SIGKILL: no chance to clean up
		t.Fatal(err)
	}
	_ = lc.wait()
	deadline := time.Now().Add(5 * time.Second)
	for _, n := range lc.st.Nodes {
		for syscall.Kill(n.PID, 0) == nil {
			if time.Now().After(deadline) {
				t.Fatalf("member %s (pid %d) outlived its SIGKILLed parent", n.ID, n.PID)
			}
			time.Sleep(10 * time.Millisecond) // polling a condition with a deadline
		}
	}
}

func TestFlagsMayFollowArguments(t *testing.T) {
	got := reorderArgs([]string{"chaosctl", "--log-level", "debug", "cluster", "up", "extra", "--nodes", "3", "--state", "x.json"})
	want := "chaosctl --log-level debug cluster up --nodes 3 --state x.json extra"
	if strings.Join(got, " ") != want {
		t.Fatalf("reorderArgs = %q, want %q", strings.Join(got, " "), want)
	}
}

func TestProxyCommandServesToxiproxyAPI(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(binary, "proxy", "--listen", addr)
	cmd.Env = append(os.Environ(), demo.EnvControlToken+"=tok")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() }()
	plane, err := faultplane.ConnectServed(context.Background(), "ptest", "http://"+addr, faultplane.Access{Token: "tok"}, logrus.NewEntry(logrus.New()))
	if err != nil {
		t.Fatal(err)
	}
	upstream, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer upstream.Close()
	link := faultplane.Link{From: "a", To: "b"}
	listen, err := plane.AddProxy(link, "127.0.0.1:0", upstream.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", listen)
	if err != nil {
		t.Fatalf("dial through the proxy: %v", err)
	}
	conn.Close()
	if err := plane.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := plane.Client().Proxies(); err != nil || len(n) != 0 {
		t.Fatalf("proxies left after Close: %v %v", n, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("proxy after SIGTERM: %v", err)
	}
}
