package main

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/experiments/report"
)

// controlFile writes testdata/control.yaml with the fault's delay.
func controlFile(t *testing.T, delay string) string {
	t.Helper()
	src, err := os.ReadFile("testdata/control.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "control-"+delay+".yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(string(src), "delay: DELAY", "delay: "+delay, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runControl runs the control file with the fault's delay and returns the
// experiment's result, the control run's, and the output folder.
func runControl(t *testing.T, delay string) (res, ctl *report.Result, out, stdout string, code int) {
	t.Helper()
	out = filepath.Join(t.TempDir(), "out")
	stdout, stderr, code := run(t, "run", controlFile(t, delay), "--out", out, "--state-dir", filepath.Join(t.TempDir(), "state"))
	var err error
	if res, err = report.ReadJSON(out); err != nil || res.Control == nil {
		t.Fatalf("no result.json with a control section (%v): exit %d\n%s\n%s", err, code, stdout, tail(stderr, 30))
	}
	if ctl, err = report.ReadJSON(filepath.Join(out, "control")); err != nil {
		t.Fatalf("no control/result.json: %v", err)
	}
	if len(ctl.Faults) != 0 || ctl.Seed != res.Seed || ctl.Runtime != res.Runtime || len(ctl.SLOs) != len(res.SLOs) {
		t.Fatalf("control run %+v: want the same seed, runtime and SLOs and no faults", ctl.Header)
	}
	for _, s := range res.Control.SLIs {
		t.Logf("delay %s: SLO %s (%s): control %.4g experiment %.4g shift %.4g (95%% CI %.4g..%.4g) p %.3g over %d/%d s: %s %s",
			delay, s.Name, s.Kind, s.ControlMedian, s.ExperimentMedian, s.Shift, s.Low, s.High, s.P, s.ControlN, s.ExperimentN, s.Verdict, s.Reason)
	}
	t.Logf("verdict %s: %s", res.Verdict, res.Reason)
	return res, ctl, out, stdout, code
}

func controlSLI(t *testing.T, res *report.Result, name string) report.ControlSLI {
	t.Helper()
	for _, s := range res.Control.SLIs {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no compared SLO %s in %+v", name, res.Control.SLIs)
	return report.ControlSLI{}
}

// The service is 60 ms slow in both runs (as a busy machine makes it), so
// the latency SLO (95 % under 50 ms) fails in the control run and in the
// experiment alike; a 2 ms fault adds no significant degradation beyond
// 20 ms, and the experiment passes: the slowdown that hits both runs does
// not fail the gate.
func TestControlBothRunsSlowedEquallyPasses(t *testing.T) {
	needPython(t)
	res, ctl, out, stdout, code := runControl(t, "2ms")
	fast := controlSLI(t, res, "fast")
	if code != 0 || res.Verdict != report.Pass || res.Control.Verdict != report.Pass {
		t.Fatalf("exit %d, verdict %s: %s\n%s", code, res.Verdict, res.Reason, stdout)
	}
	if sloOf(ctl, "fast") != report.Fail || sloOf(res, "fast") != report.Fail || !fast.Excused || fast.Verdict != report.Pass ||
		fast.ControlMedian < 0.055 || fast.ExperimentMedian < 0.055 || fast.Low > 0.02 {
		t.Fatalf("the latency SLO: control %s, experiment %s, compared %+v", sloOf(ctl, "fast"), sloOf(res, "fast"), fast)
	}
	if up := controlSLI(t, res, "up"); up.Verdict != report.Pass || up.Kind != report.ControlErrors {
		t.Fatalf("availability compared %+v", up)
	}
	for _, want := range []string{"AGAINST CONTROL", "control run (no faults)", "control: a fault-free control run (control/"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	// The folder reads as a run's: chaosctl report re-renders it, and its
	// reports carry the comparison.
	if err := os.Remove(filepath.Join(out, report.FileMarkdown)); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := run(t, "report", out); code != 0 {
		t.Fatalf("report: exit %d\n%s", code, stderr)
	}
	md, err := os.ReadFile(filepath.Join(out, report.FileMarkdown))
	if err != nil || !strings.Contains(string(md), "Against the control run") || !strings.Contains(string(md), "SLO failed in the control run too") {
		t.Errorf("summary.md (%v):\n%s", err, md)
	}
	var doc struct {
		Suites []struct {
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	b, _ := os.ReadFile(filepath.Join(out, report.FileJUnit))
	if err := xml.Unmarshal(b, &doc); err != nil || len(doc.Suites) != 1 {
		t.Fatalf("junit.xml (%v):\n%s", err, b)
	}
	cases := map[string]bool{}
	for _, c := range doc.Suites[0].Cases {
		cases[c.Name] = c.Failure != nil
	}
	if failed, ok := cases["control SLO fast"]; !ok || failed || cases["SLO fast"] {
		t.Errorf("junit cases (name: failed) %v", cases)
	}
	if _, err := os.Stat(filepath.Join(out, "control", report.FileHTML)); err != nil {
		t.Errorf("the control run has no report: %v", err)
	}
}

// A 100 ms latency fault slows the experiment alone: its p95 latency
// shifts far beyond the 20 ms limit, significantly, and it fails on the
// degradation rule.
func TestControlOnlyTheExperimentSlowedFails(t *testing.T) {
	needPython(t)
	res, _, _, stdout, code := runControl(t, "100ms")
	fast := controlSLI(t, res, "fast")
	if code != 1 || res.Verdict != report.Fail || res.Control.Verdict != report.Fail ||
		!strings.Contains(res.Reason, "SLO fast degraded against the control run") {
		t.Fatalf("exit %d, verdict %s: %s\n%s", code, res.Verdict, res.Reason, stdout)
	}
	if fast.Verdict != report.Fail || !fast.Significant || fast.P >= 0.05 || fast.Low <= 0.02 || fast.Shift < 0.08 {
		t.Fatalf("compared %+v", fast)
	}
}

// SIGTERM during the control run ends it, starts no experiment, and
// exits 3.
func TestSIGTERMDuringTheControlRunExits3(t *testing.T) {
	needPython(t)
	out := filepath.Join(t.TempDir(), "out")
	// Written as the control run's target is ready, before its workload.
	targets := filepath.Join(out, "control", "prometheus-targets.json")
	cmd, output := startChaosctl(t, "the control run's target ready", 60*time.Second,
		func() bool { _, err := os.Stat(targets); return err == nil },
		"run", controlFile(t, "100ms"), "--out", out, "--state-dir", filepath.Join(t.TempDir(), "state"))
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 3 {
		t.Fatalf("exit %d (%v), want 3\n%s", code, err, output)
	}
	ctl, err := report.ReadJSON(filepath.Join(out, "control"))
	if err != nil || !ctl.Interrupted || ctl.Workload.Requests >= 280 {
		t.Fatalf("control result (%v): %+v\n%s", err, ctl, output)
	}
	if _, err := os.Stat(filepath.Join(out, report.FileResult)); err == nil {
		t.Errorf("the experiment ran after the signal")
	}
}

func sloOf(r *report.Result, name string) string {
	for _, s := range r.SLOs {
		if s.Name == name {
			return s.Verdict
		}
	}
	return ""
}

// Bad control input is refused before anything starts, with exit 2:
// degradation without control (at the file's line and column), and
// --control on a file with no SLO to compare.
func TestControlBadInputExits2(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/control.yaml")
	if err != nil {
		t.Fatal(err)
	}
	noControl := filepath.Join(dir, "no-control.yaml")
	if err := os.WriteFile(noControl, []byte(strings.Replace(strings.Replace(string(src), "control: true\n", "", 1), "delay: DELAY", "delay: 2ms", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", noControl}, noControl + ":9:1: degradation: limits how much worse than a fault-free control run"},
		{[]string{"validate", noControl}, noControl + ":9:1: degradation:"},
		{[]string{"run", "--control", "testdata/prometheus.yaml"}, "--control: testdata/prometheus.yaml has no availability or latency SLO"},
	} {
		out := filepath.Join(dir, "out")
		args := tc.args
		if args[0] == "run" {
			args = append(args, "--out", out)
		}
		_, stderr, code := run(t, args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q:\n%s", tc.args, code, tc.want, stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: an output folder was made", tc.args)
		}
	}
}
