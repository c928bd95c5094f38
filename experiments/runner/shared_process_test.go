package runner

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/childproc"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
)

// sharedFile is a three-node in-memory cluster that resyncs a restarted
// node, with a short workload; faults is its faults section.
func sharedFile(t *testing.T, name, faults string) *experiments.Experiment {
	t.Helper()
	src := `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: ` + name + `}
seed: 1
target:
  demo: {nodes: 3, gateways: 1, replication: {n: 3, w: 2, r: 2}, persistence: memory, recovery: resync}
workload: {rate: 60, warmup: 500ms, duration: 4s, keys: 40, readRatio: 50%, timeout: 1s}
steadyState: {recoveryWithin: 1s}
` + faults + `
slos:
  - {name: availability, sli: availability, objective: 10%}
checks: [linearizable, no-lost-writes]
`
	e, err := experiments.Decode(name+".yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// kv gets (value nil) or puts key through addr and returns what a get read
// (nil: not found).
func kv(t *testing.T, addr, key string, value *string) *string {
	t.Helper()
	method, body := http.MethodGet, io.Reader(nil)
	if value != nil {
		method, body = http.MethodPut, strings.NewReader(*value)
	}
	req, _ := http.NewRequest(method, "http://"+addr+"/kv/"+key, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil
	case resp.StatusCode/100 != 2:
		t.Fatalf("%s %s: %d %s", method, key, resp.StatusCode, b)
	}
	v := string(b)
	return &v
}

func pids(tg targets.Target) map[string]int {
	out := map[string]int{}
	for _, m := range tg.Members() {
		out[m.ID] = m.PID
	}
	return out
}

// A shared target keeps what a run cannot see and resets what it can: after
// a run that cut a node off and crashed another, Prepare reverts nothing
// (every fault was reverted: the revert receipts measured it, the member
// state included), deletes the keys so a key written before reads as not
// found, leaves every breaker closed, and the next run passes its checks
// on it. A run that skewed a clock, or a member that died, gets the target
// restarted; Close leaves no member behind.
func TestSharedTargetResetsDataAndRestartsWhatItCannotReset(t *testing.T) {
	if testing.Short() {
		t.Skip("real member processes")
	}
	ctx := context.Background()
	dir := t.TempDir()
	var logs bytes.Buffer
	lg := logrus.New()
	lg.SetOutput(&logs)
	settings := Settings{StateDir: filepath.Join(dir, "state"), Binary: processtest.Binary(t), Log: logrus.NewEntry(lg)}
	faulty := sharedFile(t, "faulty", `faults:
  - {name: cut-n1, at: 500ms, duration: 1s, partition: {groups: [[n1], [n2, n3]], behavior: reject}}
  - {name: crash-n2, at: 2s, crash: {nodes: [n2], restartAfter: 500ms}}`)
	calm := sharedFile(t, "calm", "")
	sh, err := StartShared(ctx, ShareOptions{Settings: settings, Run: "shared-test", Dir: dir, Seed: 1, Target: calm.Target})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sh.Close(context.Background(), true) })
	first := pids(sh.Target())

	out, err := Run(ctx, faulty, RunOptions{File: "faulty.yaml", Settings: Settings{OutDir: filepath.Join(dir, "run-1"), StateDir: settings.StateDir}, Target: sh.Target()})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range out.Result.Faults {
		if f.Reverted == nil || f.RevertReceipt == nil || !f.RevertReceipt.Verified {
			t.Fatalf("fault %s: reverted %v, revert receipt %+v", f.Name, f.Reverted, f.RevertReceipt)
		}
	}
	gw := sh.Target().ClientAddrs()[0]
	marker := "written-before-the-reset"
	kv(t, gw, "k3", &marker)
	if got := kv(t, gw, "k3", nil); got == nil || *got != marker {
		t.Fatalf("k3 reads %v before the reset", got)
	}

	if held := storedValues(ctx, sh.Target()); len(held) != 3 {
		t.Errorf("before the reset the store nodes say %q, want each holding values", held)
	}
	p, err := sh.Prepare(ctx, calm, out.Result)
	if err != nil || p.Restarted != "" || p.KeysReset != 40 {
		t.Fatalf("prepare after a clean run: %+v, %v\n%s", p, err, logs.String())
	}
	t.Logf("reset %d keys in %s", p.KeysReset, p.Took.Round(time.Millisecond))
	if got := kv(t, gw, "k3", nil); got != nil {
		t.Errorf("k3 reads %q after the reset, want not found", *got)
	}
	if st := sh.memberState(ctx); len(st) != 0 {
		t.Errorf("after the reset: %q", st)
	}
	if got := pids(sh.Target()); got["n1"] != first["n1"] || got["n3"] != first["n3"] || sh.Starts() != 1 {
		t.Errorf("the reset restarted members: %v, then %v", first, got)
	}

	// A replica a delete missed keeps its value while quorum reads say not
	// found; the reset sees it in the node's count and deletes again.
	kv(t, gw, "k5", &marker)
	plane := sh.Target().Plane()
	into := []faultplane.Link{{From: "g1", To: "n3"}, {From: "n1", To: "n3"}, {From: "n2", To: "n3"}}
	for _, l := range into {
		if err := plane.Disable(l, "test"); err != nil {
			t.Fatal(err)
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, "http://"+gw+"/kv/k5", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("delete k5 with n3 cut off: %v %v", resp, err)
	}
	for _, l := range into {
		if err := plane.Enable(l, "test"); err != nil {
			t.Fatal(err)
		}
	}
	if got := kv(t, gw, "k5", nil); got != nil {
		t.Fatalf("k5 reads %q after its delete", *got)
	}
	if held := storedValues(ctx, sh.Target()); len(held) != 1 || held[0] != "n3 still holds 1 values" {
		t.Fatalf("after a delete n3 missed: %q", held)
	}
	if err := sh.ResetKeys(ctx, 40); err != nil {
		t.Fatal(err)
	}
	if held := storedValues(ctx, sh.Target()); len(held) != 0 {
		t.Errorf("after the reset: %q", held)
	}
	out, err = Run(ctx, calm, RunOptions{File: "calm.yaml", Settings: Settings{OutDir: filepath.Join(dir, "run-2"), StateDir: settings.StateDir}, Target: sh.Target()})
	if err != nil || out.Result.Verdict != report.Pass {
		t.Fatalf("the run after the reset: %v, %s: %s", err, out.Result.Verdict, out.Result.Reason)
	}

	// A clock skew: the hybrid logical clocks stay ahead, so a restart.
	at := time.Now()
	skewed := &report.Result{Faults: []report.FaultResult{{Name: "skew-n1", Kind: "clockSkew", Applied: &at, Reverted: &at}}}
	p, err = sh.Prepare(ctx, calm, skewed)
	if err != nil || !strings.Contains(p.Restarted, "skew-n1 skewed a clock") || sh.Starts() != 2 {
		t.Fatalf("prepare after a clock skew: %+v, %v, %d starts", p, err, sh.Starts())
	}
	second := pids(sh.Target())
	if second["n1"] == first["n1"] {
		t.Errorf("n1 kept pid %d over the restart", first["n1"])
	}
	if got := kv(t, sh.Target().ClientAddrs()[0], "k3", nil); got != nil {
		t.Errorf("k3 reads %q on the restarted target", *got)
	}

	// A member that died outside any run: a restart too.
	if err := sh.Target().Kill(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	p, err = sh.Prepare(ctx, calm, out.Result)
	if err != nil || !strings.Contains(p.Restarted, "member n3 is not running") || sh.Starts() != 3 {
		t.Fatalf("prepare after n3 died: %+v, %v", p, err)
	}
	last := pids(sh.Target())
	if err := sh.Close(ctx, false); err != nil {
		t.Fatal(err)
	}
	for _, set := range []map[string]int{first, second, last} {
		for id, pid := range set {
			if err := testkit.Poll(5*time.Second, func() bool { running, _, _ := childproc.Status(pid); return !running }); err != nil {
				t.Errorf("member %s (pid %d) still runs after Close", id, pid)
			}
		}
	}
}
