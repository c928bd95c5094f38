package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/internal/testkit"
)

// rampTarget writes a ramp over a deterministic target and returns its
// path: a Go HTTP server that answers at once, behind the run's proxy,
// whose latency fault adds the ramped delay to every answer for the whole
// measured period, judged by a latency SLO that half the requests must
// answer within 100 ms. Its breaking point is known: just under 100 ms of
// added delay. ramp and duration fill in the ramp section and the
// workload's duration.
func rampTarget(t *testing.T, ramp, duration string) string {
	t.Helper()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	t.Cleanup(upstream.Close)
	listen := testkit.FreeAddr(t)
	file := filepath.Join(t.TempDir(), "ramp.yaml")
	exp := fmt.Sprintf(`apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: ramp-known}
seed: 5
target:
  external:
    proxies:
      - {name: web, listen: %q, upstream: %q}
workload:
  rate: 20
  warmup: 1s
  duration: %s
  timeout: 2s
  http:
    - {name: home, url: "http://%s/", expect: 200}
faults:
  - {name: slow-web, at: 0s, latency: {proxies: [web], delay: 50ms}}
slos:
  - {name: fast-home, sli: latency, threshold: 100ms, objective: 50%%}
%s
`, listen, strings.TrimPrefix(upstream.URL, "http://"), duration, listen, ramp)
	if err := os.WriteFile(file, []byte(exp), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// A ramp over a target whose breaking point is known (100 ms, less the
// server's own sub-millisecond answer) brackets it within one step of the
// bisection: from 10 ms to 170 ms in 3 steps is 20 ms. Every step is a real
// run with the file's seed; the margin, the exit code, the reports and
// `chaosctl report DIR` agree.
func TestRampBracketsAKnownBreakingPointWithinOneStep(t *testing.T) {
	file := rampTarget(t, "ramp: {fault: slow-web, param: latency.delay, from: 10ms, to: 170ms, steps: 3, require: 50ms}", "3s")
	stdout, stderr, code := run(t, "run", "--dry-run", file)
	if code != 0 || !strings.Contains(stdout, "probes: 10ms; if it holds, 170ms; if that breaks, 90ms") || !strings.Contains(stdout, "within 20 ms") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	out := filepath.Join(t.TempDir(), "out")
	start := time.Now()
	stdout, stderr, code = run(t, "run", file, "--out", out, "--state-dir", filepath.Join(t.TempDir(), "state"))
	took := time.Since(start)
	r, ok, err := report.ReadRampJSON(out)
	if err != nil || !ok {
		t.Fatalf("no ramp result.json (%v): exit %d\n%s\n%s", err, code, stdout, tail(stderr, 30))
	}
	m := r.Margin
	t.Logf("%d steps in %s: %s %s", len(m.Steps), took.Round(time.Second), m.Subject, m.Text)
	if code != 0 || r.Verdict != report.Pass || m.Holds == nil || m.Breaks == nil || m.Meets == nil || !*m.Meets {
		t.Fatalf("exit %d, verdict %s: %s\n%s", code, r.Verdict, r.Reason, stdout)
	}
	holds, _ := time.ParseDuration(*m.Holds)
	breaks, _ := time.ParseDuration(*m.Breaks)
	if holds >= 100*time.Millisecond || breaks < 100*time.Millisecond || breaks-holds > 20*time.Millisecond {
		t.Errorf("holds to %s, breaks at %s: want 100ms bracketed within 20ms", holds, breaks)
	}
	if len(m.BrokenBy) != 1 || m.BrokenBy[0] != "fast-home" {
		t.Errorf("broken by %v, want fast-home", m.BrokenBy)
	}
	for _, s := range m.Steps {
		res, err := report.ReadJSON(filepath.Join(out, s.Dir))
		if err != nil || res.Seed != 5 || res.Verdict != s.Verdict {
			t.Errorf("step %d (%s): %v, seed %v, verdict %s", s.Step, s.Value, err, res, s.Verdict)
			continue
		}
		if _, err := os.Stat(filepath.Join(out, s.Dir, report.FileHTML)); err != nil {
			t.Errorf("step %d has no report: %v", s.Step, err)
		}
		if !strings.Contains(stdout, fmt.Sprintf("step %d  latency.delay=%s", s.Step, s.Value)) {
			t.Errorf("stdout does not show step %d", s.Step)
		}
	}
	if !strings.Contains(stdout, "margin: latency.delay of slow-web (web) holds to") {
		t.Errorf("stdout:\n%s", stdout)
	}
	page, _ := os.ReadFile(filepath.Join(out, report.FileHTML))
	if !strings.Contains(string(page), "<svg") || !strings.Contains(string(page), m.Steps[0].Dir+"/report.html") {
		t.Errorf("report.html has no chart or step links")
	}
	if err := os.Remove(filepath.Join(out, report.FileHTML)); err != nil {
		t.Fatal(err)
	}
	if stdout, _, code := run(t, "report", out); code != 0 || !strings.Contains(stdout, report.FileHTML) {
		t.Fatalf("report: exit %d\n%s", code, stdout)
	}
	if again, _ := os.ReadFile(filepath.Join(out, report.FileHTML)); string(again) != string(page) {
		t.Errorf("chaosctl report rendered another report.html")
	}
}

// A ramp whose mild end already breaks falls short of its require: exit 1
// after one step.
func TestRampBelowItsRequireExits1(t *testing.T) {
	file := rampTarget(t, "ramp: {fault: slow-web, param: latency.delay, from: 150ms, to: 300ms, require: 200ms}", "2s")
	out := filepath.Join(t.TempDir(), "out")
	stdout, stderr, code := run(t, "run", file, "--out", out, "--state-dir", filepath.Join(t.TempDir(), "state"))
	r, ok, err := report.ReadRampJSON(out)
	if err != nil || !ok || code != 1 || r.Verdict != report.Fail || len(r.Margin.Steps) != 1 || r.Margin.Status != "breaks-at-from" ||
		!strings.Contains(r.Reason, "breaks at 150ms, the mild end of the ramp: fast-home; below the required 200ms") {
		t.Fatalf("exit %d (%v %v): %+v\n%s\n%s", code, ok, err, r, stdout, tail(stderr, 20))
	}
}

// SIGINT during a step reverts its fault, starts no further step, writes
// the ramp's result (interrupted) and exits 3.
func TestRampInterruptedExits3AndStartsNoFurtherStep(t *testing.T) {
	file := rampTarget(t, "ramp: {fault: slow-web, param: latency.delay, from: 10ms, to: 170ms}", "60s")
	out, state := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "state")
	first := filepath.Join(out, "steps", "01-10ms")
	cmd, output := startChaosctl(t, "the first step's fault applied", 90*time.Second,
		func() bool { return countApplied(filepath.Join(first, "journal.ndjson")) >= 1 },
		"run", file, "--out", out, "--state-dir", state)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	expectInterruptedAndReverted(t, cmd, first, output)
	r, ok, err := report.ReadRampJSON(out)
	if err != nil || !ok || !r.Interrupted || len(r.Margin.Steps) != 1 || r.Verdict != report.Inconclusive {
		t.Fatalf("ramp result (%v %v): %+v", ok, err, r)
	}
	if steps, _ := filepath.Glob(filepath.Join(out, "steps", "*")); len(steps) != 1 {
		t.Errorf("step folders %v, want the first only", steps)
	}
}
