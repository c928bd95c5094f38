package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// userToxiproxy runs a toxiproxy server of the user's own (toxiproxy's
// library, no token: what target.external.toxiproxy drives) on a loopback
// port until the test ends, and returns its address.
func userToxiproxy(t *testing.T, addr string) string {
	t.Helper()
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: server.Routes(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); _ = server.Collection.Clear() })
	return ln.Addr().String()
}

// accepts says whether addr accepts a TCP connection: a server's readiness.
func accepts(addr string) func() bool {
	return func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
}

// probe sends one HTTP request through addr over a fresh TCP connection
// and returns how long the answer took.
func probe(t *testing.T, addr string) time.Duration {
	t.Helper()
	start := time.Now()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.0\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(c); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// `chaosctl halt` ends the faults of a run whose chaosctl is wedged (here
// stopped with SIGSTOP, its toxiproxy the user's own) through the plane's
// API, at once: a probe through the slowed link is fast again while that
// chaosctl still cannot act, and halt is still waiting for it. Resumed
// within the wait, the run acts on halt's SIGTERM and ends as interrupted
// (exit 3), and halt says it exited.
func TestHaltEndsTheFaultsOfAWedgedRun(t *testing.T) {
	const delay = 3 * time.Second
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer upstream.Close()
	api, listen := userToxiproxy(t, "127.0.0.1:0"), testkit.FreeAddr(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "halt.yaml")
	exp := fmt.Sprintf(`apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: halt-wedged}
seed: 1
target:
  external:
    proxies:
      - {name: web, listen: %q, upstream: %q}
    toxiproxy: {url: "http://%s"}
workload:
  rate: 2
  warmup: 1s
  duration: 120s
  timeout: 10s
  http:
    - {name: home, url: "http://%s/", expect: 200}
faults:
  - {name: slow-web, at: 1s, duration: 110s, latency: {proxies: [web], delay: %s}}
slos:
  - {name: availability, sli: availability, objective: 1%%}
`, listen, strings.TrimPrefix(upstream.URL, "http://"), api, listen, delay)
	if err := os.WriteFile(file, []byte(exp), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, out, state, output := startRun(t, file, 1)
	if d := probe(t, listen); d < delay/2 {
		t.Fatalf("the fault is applied, yet a probe took %s", d)
	}

	// Wedge the run's chaosctl, then halt, which waits up to a minute
	// for it to exit.
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	halt := exec.Command(binary, "halt", "--state-dir", state, "--wait", "60s")
	var haltOut testkit.SyncBuffer
	halt.Stdout, halt.Stderr = &haltOut, &haltOut
	if err := halt.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = halt.Process.Kill(); _ = halt.Wait() })
	testkit.Eventually(t, 20*time.Second, "a probe through the link is fast while the run's chaosctl is stopped", func() bool {
		return probe(t, listen) < delay/3
	})
	if st := procState(cmd.Process.Pid); st != "T" {
		t.Fatalf("the run's chaosctl is in state %q, want still stopped (T)\n%s", st, haltOut.String())
	}

	// Unwedged, it acts on the SIGTERM halt sent: every fault reverted, exit 3.
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	expectInterruptedAndReverted(t, cmd, out, output)
	if err := halt.Wait(); err != nil || !strings.Contains(haltOut.String(), "removed 1 toxics") || !strings.Contains(haltOut.String(), "SIGTERM sent; it reverted and exited") {
		t.Fatalf("halt of a wedged run resumed within the wait: %v, want exit 0\n%s", err, haltOut.String())
	}
	stdout, stderr, code := run(t, "halt", "--state-dir", state)
	if code != 0 || !strings.Contains(stdout, "no live run") {
		t.Fatalf("second halt: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// A run's chaosctl that stays wedged (stopped with SIGSTOP, mid-fault) with
// its faults in its own process (the process runtime's embedded fault
// plane) cannot end them, nor answer halt: halt waits --wait, then kills it
// (it is the recorded chaosctl) and recovers its run as `chaosctl recover`
// would: the paused member is thawed, every member is ended, the embedded
// plane, its proxies and toxics died with chaosctl, and halt says each step
// and exits 0. The run is over: a second halt and a recover find nothing.
func TestHaltKillsAWedgedRunAndRecoversIt(t *testing.T) {
	cmd, out, state, _ := startRun(t, "testdata/long-pause.yaml", 2)
	_, url, token := planeOf(t, state)
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	stdout, stderr, code := run(t, "halt", "--state-dir", state, "--wait", "1s")
	t.Logf("halt said (in %s):\n%s", time.Since(start).Round(time.Millisecond), stdout)
	for _, want := range []string{
		"did not answer within", // the embedded plane of a stopped chaosctl
		": resumed",             // the paused member, thawed at once
		"SIGKILL sent",          // the wedged chaosctl
		"chaosctl pid",          // recover's line for the run
		": recovered",           // ... which it finished
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("halt did not say %q", want)
		}
	}
	if code != 0 || t.Failed() {
		t.Fatalf("halt of a wedged run: exit %d, want 0\n%s\n%s", code, stdout, stderr)
	}
	// Killed (reaped here), its plane gone, no member left, stopped or not.
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the run's chaosctl ended with %v, want killed by SIGKILL", err)
	}
	if _, err := faultplane.NewClient(url, token).Version(); err == nil {
		t.Fatalf("the embedded plane at %s answers after halt", url)
	}
	noMembersLeft(t, out)
	if stdout, stderr, code := run(t, "halt", "--state-dir", state); code != 0 || !strings.Contains(stdout, "no live run") {
		t.Fatalf("second halt: exit %d\n%s\n%s", code, stdout, stderr)
	}
	recoverState(t, state, "nothing to recover")
}

// `chaosctl halt` stops a live run of the process runtime (a pause and a
// latency fault in place): its chaosctl reverts everything and exits 3, and
// halt says so and exits 0. A live run of another state directory is not
// touched.
func TestHaltStopsEveryLiveRunOfItsStateDirectoryOnly(t *testing.T) {
	// A run of another state directory: its "chaosctl" is a sleep that holds
	// its ledger through this test process.
	other := t.TempDir()
	sleeper := exec.Command("sleep", "600")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _, _ = sleeper.Process.Wait() })
	l, err := injectors.CreateLedger(other, injectors.RunInfo{Run: "elsewhere", Runtime: "process", PID: sleeper.Process.Pid})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	cmd, out, state, output := startRun(t, "testdata/long-pause.yaml", 2)
	stdout, stderr, code := run(t, "halt", "--state-dir", state)
	if code != 0 || !strings.Contains(stdout, "SIGTERM sent; it reverted and exited") || !regexp.MustCompile(`removed [1-9][0-9]* toxics`).MatchString(stdout) || !strings.Contains(stdout, ": resumed") {
		t.Fatalf("halt: exit %d\n%s\n%s", code, stdout, stderr)
	}
	t.Logf("halt said:\n%s", stdout)
	expectInterruptedAndReverted(t, cmd, out, output)
	noMembersLeft(t, out)

	if st := procState(sleeper.Process.Pid); st == "" || st == "Z" {
		t.Fatalf("halt of %s signalled a run of another state directory (state %q)", state, st)
	}
	// The same halt on that directory does signal it.
	stdout, _, _ = run(t, "halt", "--state-dir", other, "--wait", "10s")
	if !strings.Contains(stdout, "run elsewhere") {
		t.Fatalf("halt of the other directory:\n%s", stdout)
	}
	testkit.Eventually(t, 10*time.Second, "the other run's process ends", func() bool {
		st := procState(sleeper.Process.Pid)
		return st == "" || st == "Z"
	})
}

// procState is the state letter of pid in /proc ("" when gone).
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 {
		return s[i+2 : i+3]
	}
	return ""
}

// `chaosctl proxy` (the docker and kubernetes fault planes) answers only
// requests with the run's token, taken from the environment: a forged
// request is 401 and adds no proxy nor toxic.
func TestProxyCommandRequiresTheRunsToken(t *testing.T) {
	t.Setenv(demo.EnvControlToken, "s3cret")
	addr := testkit.FreeAddr(t)
	url := "http://" + addr
	_, output := startChaosctl(t, "proxy serving", 20*time.Second, accepts(addr), "proxy", "--listen", addr)
	owner := toxiclient.NewClient("http://chaosctl:s3cret@" + addr)
	if _, err := owner.CreateProxy("chaosctl-r-n1-n2", "127.0.0.1:0", "127.0.0.1:1"); err != nil {
		t.Fatalf("with the token: %v\n%s", err, output)
	}
	for _, auth := range []string{"", "Bearer wrong"} {
		for _, r := range [][2]string{
			{"/proxies/chaosctl-r-n1-n2/toxics", `{"name":"evil","type":"latency","attributes":{"latency":5000}}`},
			{"/proxies", `{"name":"evil","listen":"127.0.0.1:0","upstream":"127.0.0.1:1"}`},
		} {
			code := testkit.HTTPStatus(t, http.MethodPost, url+r[0], auth, r[1])
			if code != http.StatusUnauthorized {
				t.Fatalf("POST %s with %q: %d, want 401", r[0], auth, code)
			}
		}
	}
	all, err := owner.Proxies()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || len(all["chaosctl-r-n1-n2"].ActiveToxics) != 0 {
		t.Fatalf("after forged requests: %v", all)
	}
}

// Without the token in its environment, `chaosctl proxy` is locked: only
// GET /version answers (a service to probe), nothing else.
func TestProxyCommandWithoutATokenIsLocked(t *testing.T) {
	t.Setenv(demo.EnvControlToken, "")
	addr := testkit.FreeAddr(t)
	startChaosctl(t, "proxy serving", 20*time.Second, func() bool {
		resp, err := http.Get("http://" + addr + "/version")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	}, "proxy", "--listen", addr)
	if code := testkit.HTTPStatus(t, http.MethodPost, "http://"+addr+"/proxies", "", `{"name":"x","listen":"127.0.0.1:0","upstream":"127.0.0.1:1"}`); code != http.StatusUnauthorized {
		t.Fatalf("POST /proxies to a locked proxy: %d, want 401", code)
	}
}

// halt ends a `chaosctl cluster up`'s faults through its control API, and
// the faults only: the cluster keeps running.
func TestHaltHealsAClusterWithoutStoppingIt(t *testing.T) {
	lc := startLiveCluster(t, "--nodes", "1", "--gateways", "1")
	g1 := lc.member(t, "g1").Addr
	mustRun(t, lc.stateDir, "inject", "latency", "--links", "client>g1", "--delay", "2s", "--ttl", "10m", "--name", "slow")
	mustRun(t, lc.stateDir, "inject", "pause", "--nodes", "n1", "--ttl", "10m", "--name", "nap")
	out := mustRun(t, lc.stateDir, "halt", "--state-dir", lc.stateDir)
	if !strings.Contains(out, "healed 2 faults") || !strings.Contains(out, "left running") {
		t.Fatalf("halt said:\n%s", out)
	}
	if sv := lc.status(t); len(sv.Faults) != 0 {
		t.Fatalf("faults after halt: %v", faultNames(sv.Faults))
	}
	select {
	case <-lc.exited:
		t.Fatalf("cluster up ended after halt: %v\n%s", lc.waitErr, lc.out)
	default:
	}
	if d := probe(t, g1); d > time.Second {
		t.Fatalf("after halt, a request through client>g1 took %s", d)
	}
}
