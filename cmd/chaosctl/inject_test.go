package main

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/clusterctl"
)

// runIn runs chaosctl with CHAOSCTL_STATE_DIR set to stateDir.
func runIn(t *testing.T, stateDir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runEnv(t, []string{injectors.EnvStateDir + "=" + stateDir}, args...)
}

// mustRun runs chaosctl and fails unless it exits 0.
func mustRun(t *testing.T, stateDir string, args ...string) string {
	t.Helper()
	out, errOut, code := runIn(t, stateDir, args...)
	if code != 0 {
		t.Fatalf("chaosctl %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
	}
	return out
}

// liveCluster is a `chaosctl cluster up` started by a test.
type liveCluster struct {
	cmd      *exec.Cmd
	exited   chan struct{} // closed once cmd was waited for
	waitErr  error         // cmd.Wait's, once exited is closed
	out      *testkit.SyncBuffer
	stateDir string
	dataDir  string
	st       clusterctl.State
}

func startLiveCluster(t *testing.T, args ...string) *liveCluster {
	t.Helper()
	lc := &liveCluster{stateDir: filepath.Join(t.TempDir(), "state"), dataDir: filepath.Join(t.TempDir(), "data"), out: &testkit.SyncBuffer{}}
	if !slices.Contains(args, "--base-port") {
		args = append([]string{"--base-port", "0"}, args...)
	}
	lc.cmd = exec.Command(binary, append([]string{"cluster", "up", "--data-dir", lc.dataDir}, args...)...)
	lc.cmd.Env = append(os.Environ(), injectors.EnvStateDir+"="+lc.stateDir)
	lc.cmd.Stdout, lc.cmd.Stderr = lc.out, lc.out
	if err := lc.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		lc.waitErr = lc.cmd.Wait()
		close(exited)
	}()
	lc.exited = exited
	t.Cleanup(func() {
		_ = lc.cmd.Process.Kill()
		<-exited
	})
	path := filepath.Join(lc.stateDir, "cluster", clusterctl.DefaultName+".json")
	if i := slices.Index(args, "--state"); i >= 0 && i+1 < len(args) {
		path = args[i+1]
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := clusterctl.ReadState(path)
		if err == nil {
			lc.st = st
			break
		}
		select {
		case <-exited:
			t.Fatalf("cluster up exited before it was ready: %v\n%s", lc.cmd.ProcessState, lc.out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster up did not write %s within 20s:\n%s", path, lc.out)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file %s: mode %v (err %v), want 0600: it holds the control token", path, fi.Mode(), err)
	}
	return lc
}

// wait waits for cluster up to exit and returns how it ended.
func (lc *liveCluster) wait() error {
	<-lc.exited
	return lc.waitErr
}

func (lc *liveCluster) member(t *testing.T, id string) clusterctl.StateMember {
	t.Helper()
	for _, m := range append(slices.Clone(lc.st.Gateways), lc.st.Nodes...) {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("no member %s in the state file", id)
	return clusterctl.StateMember{}
}

// status is `status --output json`, decoded as documented: durations as
// Go duration strings, no number of seconds (--json, its alias, is
// decoded the same).
func (lc *liveCluster) status(t *testing.T) statusJSON {
	t.Helper()
	var sv statusJSON
	dec := json.NewDecoder(strings.NewReader(mustRun(t, lc.stateDir, "status", "--output", "json")))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sv); err != nil {
		t.Fatalf("status --output json: %v", err)
	}
	return sv
}

func faultNames(vs []faultJSON) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Name)
	}
	return out
}

// get reads key through addr and returns the status (0 when the request
// failed) and how long it took.
func get(c *http.Client, addr, key string) (int, time.Duration) {
	start := time.Now()
	resp, err := c.Get("http://" + addr + "/kv/" + key)
	if err != nil {
		return 0, time.Since(start)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

// fastestGet is the quickest of n successful reads (0 when one failed).
func fastestGet(c *http.Client, addr, key string, n int) time.Duration {
	best := time.Duration(0)
	for range n {
		code, took := get(c, addr, key)
		if code != http.StatusOK {
			return 0
		}
		if best == 0 || took < best {
			best = took
		}
	}
	return best
}

func TestInjectHealStatusAgainstClusterUp(t *testing.T) {
	stateFile := filepath.Join(t.TempDir(), "cluster.json")
	lc := startLiveCluster(t, "--nodes", "3", "--gateways", "1", "--state", stateFile)
	dir := lc.stateDir
	g1 := lc.member(t, "g1").Addr
	client := &http.Client{Timeout: 3 * time.Second}
	defer client.CloseIdleConnections()

	req, _ := http.NewRequest(http.MethodPut, "http://"+g1+"/kv/hello", strings.NewReader("world"))
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT through the advertised gateway address %s: %v %v", g1, resp, err)
	}
	resp.Body.Close()
	baseline := fastestGet(client, g1, "hello", 5)
	if baseline == 0 {
		t.Fatal("GET hello fails before any fault")
	}

	t.Run("control API is on loopback and needs the token", func(t *testing.T) {
		if host, _, _ := strings.Cut(lc.st.Control, ":"); host != "127.0.0.1" {
			t.Fatalf("control API listens on %s, want 127.0.0.1", lc.st.Control)
		}
		resp, err := client.Get("http://" + lc.st.Control + "/v1/faults")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("GET /v1/faults without the token: %d, want 401", resp.StatusCode)
		}
		// --state FILE names the same cluster, found without the state directory.
		out, stderr, code := runIn(t, filepath.Join(t.TempDir(), "elsewhere"), "status", "--state", stateFile)
		if code != 0 || !strings.Contains(out, "cluster "+clusterctl.DefaultName) {
			t.Fatalf("status --state %s: exit %d\n%s%s", stateFile, code, out, stderr)
		}
	})

	t.Run("latency adds delay", func(t *testing.T) {
		out := mustRun(t, dir, "inject", "latency", "--links", "client>g1", "--delay", "300ms", "--name", "slow")
		if !strings.Contains(out, "applied slow") || !strings.Contains(out, "expires") {
			t.Fatalf("inject output does not say what was applied and when it expires:\n%s", out)
		}
		slow := fastestGet(client, g1, "hello", 3)
		if slow < baseline+250*time.Millisecond {
			t.Fatalf("GET with 300ms latency took %s (baseline %s)", slow, baseline)
		}
		t.Logf("GET: %s without, %s with 300ms latency on client>g1", baseline, slow)
	})

	t.Run("reject partition cuts g1 off the nodes", func(t *testing.T) {
		mustRun(t, dir, "inject", "partition", "--groups", "g1|n1,n2,n3", "--behavior", "reject", "--name", "cut")
		code, _ := get(client, g1, "hello")
		if code == http.StatusOK {
			t.Fatalf("GET through g1 succeeded while g1 is cut off every store node")
		}
	})

	t.Run("status lists live faults with remaining time", func(t *testing.T) {
		out := mustRun(t, dir, "status")
		for _, want := range []string{"REMAINING", "slow", "cut", "latency", "partition (reject)", "running"} {
			if !strings.Contains(out, want) {
				t.Fatalf("status lacks %q:\n%s", want, out)
			}
		}
		sv := lc.status(t)
		if got := faultNames(sv.Faults); !slices.Equal(got, []string{"slow", "cut"}) {
			t.Fatalf("live faults %v, want [slow cut]", got)
		}
		for _, f := range sv.Faults {
			remaining, err := time.ParseDuration(f.Remaining)
			if err != nil || remaining <= 0 || remaining > clusterctl.DefaultFaultTTL || !f.Expires.After(f.Applied) {
				t.Fatalf("fault %s: remaining %q (%v), applied %s, expires %s", f.Name, f.Remaining, err, f.Applied, f.Expires)
			}
		}
		if slow := sv.Faults[0]; time.Duration(slow.Delay) != 300*time.Millisecond {
			t.Fatalf("fault slow: delay %s, want 300ms", time.Duration(slow.Delay))
		}
		if cut := sv.Faults[1]; len(cut.Links) != 3 {
			t.Fatalf("partition g1|n1,n2,n3 cuts links %v, want g1>n1, g1>n2, g1>n3", cut.Links)
		}
	})

	t.Run("heal one", func(t *testing.T) {
		out := mustRun(t, dir, "heal", "cut")
		if !strings.Contains(out, "reverted cut") {
			t.Fatalf("heal output:\n%s", out)
		}
		testkit.Eventually(t, 10*time.Second, "GET through g1 answers again after heal cut", func() bool {
			code, _ := get(client, g1, "hello")
			return code == http.StatusOK
		})
		if got := faultNames(lc.status(t).Faults); !slices.Equal(got, []string{"slow"}) {
			t.Fatalf("live faults after heal cut: %v, want [slow]", got)
		}
		mustRun(t, dir, "heal", "slow")
		testkit.Eventually(t, 10*time.Second, "GET is fast again after heal slow", func() bool {
			d := fastestGet(client, g1, "hello", 3)
			return d > 0 && d < baseline+150*time.Millisecond
		})
	})

	t.Run("pause expires by itself", func(t *testing.T) {
		n1 := lc.member(t, "n1")
		short := &http.Client{Timeout: 300 * time.Millisecond}
		defer short.CloseIdleConnections()
		const ttl = 2 * time.Second
		mustRun(t, dir, "inject", "pause", "--nodes", "n1", "--ttl", ttl.String(), "--name", "nap")
		injected := time.Now()
		if code, _ := get(short, n1.Listen, "hello"); code != 0 && time.Since(injected) < ttl-500*time.Millisecond {
			t.Fatalf("paused n1 answered %d", code)
		}
		testkit.Eventually(t, 15*time.Second, "the pause expires: n1 answers again and status no longer lists it", func() bool {
			if code, _ := get(short, n1.Addr, "hello"); code != http.StatusOK {
				return false
			}
			sv := lc.status(t)
			return len(sv.Faults) == 0 && slices.ContainsFunc(sv.Ended, func(v faultJSON) bool {
				return v.Name == "nap" && v.EndReason == clusterctl.EndExpired
			})
		})
		if took := time.Since(injected); took < ttl-100*time.Millisecond {
			t.Fatalf("the pause reverted after %s, before its TTL %s", took, ttl)
		}
	})

	t.Run("heal all", func(t *testing.T) {
		mustRun(t, dir, "inject", "blackhole", "--nodes", "n3")
		mustRun(t, dir, "inject", "bandwidth", "--links", "g1>n2", "--rate", "64KiB/s")
		mustRun(t, dir, "inject", "clockSkew", "--nodes", "n2", "--offset", "-2s")
		if got := faultNames(lc.status(t).Faults); !slices.Equal(got, []string{"blackhole-1", "bandwidth-1", "clockSkew-1"}) {
			t.Fatalf("live faults %v", got)
		}
		out := mustRun(t, dir, "heal", "--all")
		for _, name := range []string{"blackhole-1", "bandwidth-1", "clockSkew-1"} {
			if !strings.Contains(out, "reverted "+name) {
				t.Fatalf("heal --all does not say it reverted %s:\n%s", name, out)
			}
		}
		if got := lc.status(t).Faults; len(got) != 0 {
			t.Fatalf("live faults after heal --all: %v", faultNames(got))
		}
		testkit.Eventually(t, 10*time.Second, "GET through g1 answers after heal --all", func() bool {
			code, _ := get(client, g1, "hello")
			return code == http.StatusOK
		})
	})

	t.Run("bad input exits 2 and applies nothing", func(t *testing.T) {
		cases := []struct {
			args []string
			want string
		}{
			{[]string{"inject", "latency", "--nodes", "n9", "--delay", "10ms"}, `"n9": no such member`},
			{[]string{"inject", "latency", "--nodes", "n1"}, "delay"},
			{[]string{"inject", "latency", "--nodes", "n1", "--delay", "10"}, "add a unit"},
			{[]string{"inject", "latency", "--nodes", "n1", "--delay", "10ms", "--ttl", "soon"}, "--ttl"},
			{[]string{"inject", "partition", "--behavior", "reject"}, "give exactly one of groups"},
			{[]string{"inject", "partition", "--groups", "n1|n7"}, `"n7"`},
			{[]string{"inject", "partition", "--links", "n1>g1"}, "no such link"},
			{[]string{"inject", "pause"}, "--nodes"},
			{[]string{"inject", "crash", "--nodes", "n1", "--delay", "5ms"}, "delay applies to latency only"},
			{[]string{"inject", "bandwidth", "--nodes", "n1", "--rate", "fast"}, "--rate"},
			{[]string{"inject", "corrupt", "--nodes", "g1", "--count", "1"}, `"g1": no such member`},
			{[]string{"inject", "warp", "--nodes", "n1"}, "allowed are partition"},
			{[]string{"inject"}, "needs a fault KIND"},
			{[]string{"heal", "nope"}, `"nope"`},
			{[]string{"heal"}, "--all"},
		}
		for _, tc := range cases {
			_, stderr, code := runIn(t, dir, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("chaosctl %v: exit %d, want 2 with %q; stderr:\n%s", tc.args, code, tc.want, stderr)
			}
		}
		if got := lc.status(t).Faults; len(got) != 0 {
			t.Fatalf("bad input applied faults: %v", faultNames(got))
		}
	})

	t.Run("a second cluster up under a taken name exits 2", func(t *testing.T) {
		marker := filepath.Join(t.TempDir(), "second")
		_, stderr, code := runIn(t, dir, "cluster", "up", "--name", clusterctl.DefaultName, "--base-port", "0", "--data-dir", marker)
		if code != 2 || !strings.Contains(stderr, "already running") || !strings.Contains(stderr, "--name") {
			t.Fatalf("exit %d, want 2 saying how to proceed; stderr:\n%s", code, stderr)
		}
		noMembersLeft(t, marker)
		if _, err := clusterctl.ReadState(filepath.Join(dir, "cluster", clusterctl.DefaultName+".json")); err != nil {
			t.Fatalf("the first cluster's state file was clobbered: %v", err)
		}
	})

	t.Run("SIGTERM reverts live faults and stops every member", func(t *testing.T) {
		mustRun(t, dir, "inject", "pause", "--nodes", "n2", "--name", "frozen")
		if err := lc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		<-lc.exited
		if !lc.cmd.ProcessState.Success() {
			t.Fatalf("cluster up after SIGTERM: %v\n%s", lc.cmd.ProcessState, lc.out)
		}
		for _, m := range append(slices.Clone(lc.st.Gateways), lc.st.Nodes...) {
			if syscall.Kill(m.PID, 0) == nil {
				t.Errorf("member %s (pid %d) still alive after SIGTERM", m.ID, m.PID)
			}
		}
		noMembersLeft(t, lc.dataDir)
		recs, _, err := injectors.ReadLedger(lc.st.Ledger)
		if err != nil {
			t.Fatal(err)
		}
		reverted, ended := -1, -1
		for i, r := range recs {
			if r.Type == injectors.RecordFaultReverted && r.FaultName == "frozen" {
				reverted = i
			}
			if r.Type == injectors.RecordRunEnd {
				ended = i
			}
		}
		if reverted < 0 || ended < reverted {
			t.Fatalf("ledger %s: fault frozen reverted at record %d, run end at %d", lc.st.Ledger, reverted, ended)
		}
		if _, err := os.Stat(filepath.Join(dir, "cluster", clusterctl.DefaultName+".json")); !os.IsNotExist(err) {
			t.Fatalf("the state file outlived cluster up: %v", err)
		}
	})

	t.Run("no cluster exits 5", func(t *testing.T) {
		_, stderr, code := runIn(t, dir, "inject", "pause", "--nodes", "n1")
		if code != 5 || !strings.Contains(stderr, "chaosctl cluster up") {
			t.Fatalf("exit %d, want 5 saying to start `chaosctl cluster up`; stderr:\n%s", code, stderr)
		}
	})
}

func TestInjectWithoutClusterExits5(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "state")
	for _, args := range [][]string{
		{"inject", "pause", "--nodes", "n1"},
		{"status"},
		{"heal", "--all"},
		{"inject", "pause", "--nodes", "n1", "--state", filepath.Join(empty, "missing.json")},
	} {
		_, stderr, code := runIn(t, empty, args...)
		if code != 5 || !strings.Contains(stderr, "chaosctl cluster up") {
			t.Errorf("chaosctl %v: exit %d, want 5 saying to start `chaosctl cluster up`; stderr:\n%s", args, code, stderr)
		}
	}
	// Bad input is reported before the cluster is looked for.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"inject", "latency", "--delay", "soon"}, "--delay"},
		{[]string{"inject", "pause", "--nodes", "n1", "--lease", "5s"}, "--lease applies to --hold only"},
		{[]string{"inject", "pause", "--nodes", "n1", "--hold", "--lease", "50ms"}, "--lease 50ms: allowed are 100ms to 10m0s"},
		{[]string{"inject", "pause", "--nodes", "n1", "--hold", "--lease", "soon"}, "--lease"},
		{[]string{"inject", "corrupt", "--nodes", "n1", "--count", "1", "--hold"}, "--hold: corrupt has nothing to revert"},
	} {
		_, stderr, code := runIn(t, empty, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("chaosctl %v: exit %d, want 2 with %q; stderr:\n%s", tc.args, code, tc.want, stderr)
		}
	}
}

func TestRecoverAfterKilledClusterUpRevertsImperativeFaults(t *testing.T) {
	lc := startLiveCluster(t, "--nodes", "2", "--gateways", "0")
	mustRun(t, lc.stateDir, "inject", "pause", "--nodes", "n1", "--name", "left-paused")
	if err := lc.cmd.Process.Kill(); err != nil { // SIGKILL: no chance to revert
		t.Fatal(err)
	}
	<-lc.exited
	out := mustRun(t, lc.stateDir, "recover")
	if !strings.Contains(out, "faults left applied: left-paused") || !strings.Contains(out, "recovered") {
		t.Fatalf("recover after a killed cluster up:\n%s", out)
	}
	noMembersLeft(t, lc.dataDir)
	// The name is free again: a new cluster up takes it.
	_, stderr, code := runIn(t, lc.stateDir, "inject", "pause", "--nodes", "n1")
	if code != 5 || !strings.Contains(stderr, "chaosctl cluster up") {
		t.Fatalf("inject after the cluster was killed: exit %d, want 5; stderr:\n%s", code, stderr)
	}
}

func TestClusterUpAdvertisesBasePortsThroughTheFaultPlane(t *testing.T) {
	base := freeBasePort(t, 3)
	lc := startLiveCluster(t, "--nodes", "2", "--gateways", "1", "--base-port", strconv.Itoa(base))
	for i, id := range []string{"g1", "n1", "n2"} {
		m := lc.member(t, id)
		if want := net.JoinHostPort("127.0.0.1", strconv.Itoa(base+i)); m.Addr != want || m.Listen == m.Addr {
			t.Fatalf("%s: advertised %s (listens on %s), want %s through the fault plane", id, m.Addr, m.Listen, want)
		}
	}
	if !strings.Contains(lc.out.String(), "http://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(base))+"/kv/hello") {
		t.Fatalf("cluster up does not print g1's advertised address:\n%s", lc.out)
	}
}

// freeBasePort returns the first of n consecutive 127.0.0.1 ports that are free
// now, below the kernel's ephemeral range: a port handed out by
// `Listen(":0")` lies inside that range, where any outgoing connection of
// the machine may take its neighbours before the cluster binds them.
func freeBasePort(t *testing.T, n int) int {
	t.Helper()
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil {
				low = v
			}
		}
	}
	start := 20000 + rand.IntN(5000)
	for base := start; base+n <= low; base += n {
		free := true
		for p := base; p < base+n && free; p++ {
			ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				free = false
				continue
			}
			ln.Close()
		}
		if free {
			return base
		}
	}
	t.Skipf("no %d free consecutive ports between %d and %d", n, start, low)
	return 0
}

// `inject --hold` keeps its fault on a short lease as long as it runs:
// SIGKILLed, it renews nothing more and cluster up reverts the fault
// within the lease (ended as lapsed, long before its TTL); interrupted, it
// heals the fault itself and exits 3.
func TestInjectHoldRevertsWithinTheLeaseOnceKilled(t *testing.T) {
	lc := startLiveCluster(t, "--nodes", "1", "--gateways", "1")
	const lease = 2 * time.Second
	hold := func(name string) (*exec.Cmd, *testkit.SyncBuffer) {
		cmd := exec.Command(binary, "inject", "latency", "--links", "client>g1", "--delay", "50ms",
			"--hold", "--lease", lease.String(), "--name", name)
		cmd.Env = append(os.Environ(), injectors.EnvStateDir+"="+lc.stateDir)
		out := &testkit.SyncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
		return cmd, out
	}
	live := func(name string) *faultJSON {
		for _, f := range lc.status(t).Faults {
			if f.Name == name {
				return &f
			}
		}
		return nil
	}
	ended := func(name, reason string) bool {
		sv := lc.status(t)
		return len(sv.Faults) == 0 && slices.ContainsFunc(sv.Ended, func(v faultJSON) bool { return v.Name == name && v.EndReason == reason })
	}

	t.Run("SIGKILL: the fault lapses within the lease", func(t *testing.T) {
		cmd, out := hold("held")
		var applied time.Time
		testkit.Eventually(t, 20*time.Second, "the held fault is live with its lease", func() bool {
			f := live("held")
			if f != nil {
				applied = f.Applied
			}
			return f != nil && f.Lease == lease.String() && !f.LeaseExpires.IsZero()
		})
		// Renewed, it outlives its lease twice over.
		testkit.Eventually(t, 20*time.Second, "the held fault outlives twice its lease", func() bool {
			if live("held") == nil {
				t.Fatalf("the held fault ended while inject renewed it:\n%s", out)
			}
			return time.Since(applied) > 2*lease+lease/2
		})
		if text := mustRun(t, lc.stateDir, "status"); !strings.Contains(text, "LEASE") || !strings.Contains(text, "2s (") {
			t.Fatalf("status does not show the held fault's lease:\n%s", text)
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_, _ = cmd.Process.Wait()
		killed := time.Now()
		testkit.Eventually(t, lease+8*time.Second, "the fault lapses and is reverted", func() bool { return ended("held", clusterctl.EndLapsed) })
		t.Logf("reverted %s after inject was killed (lease %s)", time.Since(killed).Round(time.Millisecond), lease)
	})

	t.Run("SIGINT: inject heals the fault and exits 3", func(t *testing.T) {
		cmd, out := hold("held2")
		testkit.Eventually(t, 20*time.Second, "the held fault is live", func() bool {
			return live("held2") != nil && strings.Contains(out.String(), "holding it on a 2s lease")
		})
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != exitInterrupted || !strings.Contains(out.String(), "reverted held2") {
			t.Fatalf("inject --hold after SIGINT: exit %d (%v), want %d saying it reverted held2:\n%s", code, err, exitInterrupted, out)
		}
		if !ended("held2", clusterctl.EndHealed) {
			t.Fatalf("after SIGINT: %+v", lc.status(t))
		}
	})
}
