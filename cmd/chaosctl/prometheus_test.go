package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/experiments/report"
)

// prometheusBinary finds the Prometheus server, or skips (fails where
// CHAOSCTL_REQUIRE_INTEGRATION=1).
func prometheusBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/prometheus"); err == nil {
		return "/usr/bin/prometheus"
	}
	if os.Getenv("CHAOSCTL_REQUIRE_INTEGRATION") == "1" {
		t.Fatal("prometheus is not installed and CHAOSCTL_REQUIRE_INTEGRATION=1: apt-get install prometheus")
	}
	t.Skip("prometheus is not installed: apt-get install prometheus")
	return ""
}

// startRunPrometheus starts a real Prometheus server that scrapes, every
// second, the members a run with output folder out lists in its
// prometheus-targets.json, and returns its address once it is ready.
func startRunPrometheus(t *testing.T, out string) string {
	t.Helper()
	bin := prometheusBinary(t)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := filepath.Join(t.TempDir(), "prometheus.yml")
	conf := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: chaosctl
    file_sd_configs: [{files: [%q], refresh_interval: 1s}]
`, filepath.Join(out, "prometheus-targets.json"))
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	prom := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+t.TempDir(), "--web.listen-address="+addr)
	prom.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = prom.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _, _ = prom.Process.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = prom.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready within 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}

	return addr
}

// runThroughPrometheus runs file with a real Prometheus scraping its
// members as --prometheus-url and returns its result, stdout and exit code.
func runThroughPrometheus(t *testing.T, file string) (*report.Result, string, int) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	addr := startRunPrometheus(t, out)
	stdout, stderr, code := run(t, "run", file, "--out", out,
		"--state-dir", filepath.Join(t.TempDir(), "state"), "--prometheus-url", "http://"+addr)
	res, err := report.ReadJSON(out)
	if err != nil {
		t.Fatalf("no result (exit %d): %v\n%s\n%s", code, err, stdout, tail(stderr, 20))
	}
	return res, stdout, code
}

func TestRunJudgedThroughARealPrometheus(t *testing.T) {
	res, stdout, code := runThroughPrometheus(t, "testdata/prometheus.yaml")
	// This test proves the wiring: chaosctl asked a real Prometheus and
	// judged its answers. How many of the gateway's answers were good
	// depends on how fast the demo answers, which other work on a 2-core
	// machine changes, so the SLO's verdict is not judged; the numbers
	// Prometheus gave must agree with what the run itself counted.
	if code != 0 && code != 1 {
		t.Fatalf("exit %d verdict %s: %s\n%s", code, res.Verdict, res.Reason, stdout)
	}
	var probes int
	for _, p := range res.Probes {
		// 100 requests/s are sent whatever their answers: the rate
		// Prometheus reports is far above the probe's minimum of 20.
		if p.Metric == "prometheus" && p.Verdict == report.Pass && p.Value >= 20 {
			probes++
		}
	}
	if probes != 2 {
		t.Fatalf("prometheus probe judgements: %+v, want before and after passing", res.Probes)
	}
	s := res.SLOs[0]
	if s.SLI != "ratio" || s.Total < 500 || s.Bad < 0 || s.Bad > s.Total {
		t.Fatalf("ratio SLO from Prometheus: %+v", s)
	}
	// The gateway counted the requests the workload sent while Prometheus
	// scraped it (the first seconds pass before the first scrape: 1126 of
	// 1400 once) and answered badly (5xx, 429) about the ones the workload
	// saw fail; increase() extrapolates, hence the margins.
	w := res.Workload
	if float64(s.Total) < 0.5*float64(w.Requests) || float64(s.Total) > 1.5*float64(w.Requests+w.Dropped) {
		t.Errorf("ratio SLO counts %d events; the workload sent %d requests in the measured phase", s.Total, w.Requests)
	}
	if float64(s.Bad) > 1.5*float64(w.Errors)+0.02*float64(s.Total) {
		t.Errorf("ratio SLO counts %d bad events; the workload saw %d errors", s.Bad, w.Errors)
	}
	if want := map[bool]string{true: report.Pass, false: report.Fail}[s.Consumed <= 1]; s.Verdict != want {
		t.Errorf("ratio SLO %s with %.0f%% of its budget consumed, want %s: %+v", s.Verdict, 100*s.Consumed, want, s)
	}
	if (code == 0) != (res.Verdict == report.Pass) || (s.Verdict == report.Pass) != (res.Verdict == report.Pass) {
		t.Errorf("exit %d, verdict %s, SLO %s: the run's verdict must be the SLO's (the probes passed)", code, res.Verdict, s.Verdict)
	}
	t.Logf("prometheus probe %v/s before; ratio SLO %d bad of %d events (%s); the workload sent %d, %d failed",
		res.Probes[0].Value, s.Bad, s.Total, s.Verdict, w.Requests, w.Errors)
}

// TestOpenSLOExampleThroughARealPrometheus runs examples/openslo/checkout.yaml,
// whose SLOs come from an OpenSLO file, against a real Prometheus: the
// bad/total ratio on counters and the thresholdMetric are both measured
// (not inconclusive), and count what they should.
func TestOpenSLOExampleThroughARealPrometheus(t *testing.T) {
	res, _, code := runThroughPrometheus(t, "../../examples/openslo/checkout.yaml")
	if len(res.SLOs) != 3 {
		t.Fatalf("SLOs %+v, want availability and the two of the OpenSLO file", res.SLOs)
	}
	success, fast := res.SLOs[1], res.SLOs[2]
	if success.Name != "gateway-success" || success.SLI != "ratio" || success.Verdict == report.Inconclusive {
		t.Errorf("gateway-success not measured: %+v", success)
	}
	// The gateway answered about as many requests as the workload sent
	// (increase() extrapolates, and the first scrape comes late).
	if w := res.Workload; float64(success.Total) < 0.5*float64(w.Requests) || float64(success.Total) > 1.5*float64(w.Requests+w.Dropped) {
		t.Errorf("gateway-success counts %d events; the workload sent %d requests", success.Total, w.Requests)
	}
	// One series sampled every second of the 30 s measured period (the
	// first seconds may have no rate yet).
	if fast.Name != "gateway-fast" || fast.SLI != "threshold" || fast.Verdict == report.Inconclusive || fast.Total < 20 || fast.Total > 32 {
		t.Errorf("gateway-fast: %+v; want about 31 one-second samples judged", fast)
	}
	t.Logf("exit %d; gateway-success %d bad of %d (%s); gateway-fast %d bad seconds of %d (%s)", code,
		success.Bad, success.Total, success.Verdict, fast.Bad, fast.Total, fast.Verdict)
}
