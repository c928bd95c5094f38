package probes_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/probes"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
	"github.com/chaosctl/chaosctl/targets/processdemo"
)

// prometheusBinary is where the Debian package installs the server; a
// prometheus on PATH is preferred.
const prometheusBinary = "/usr/bin/prometheus"

// startPrometheus runs a real Prometheus server that scrapes targets every
// second, waits until it is ready and returns its URL. The cleanup stops it
// and fails the test if the process is left running.
func startPrometheus(t *testing.T, scrapeTargets []string) string {
	t.Helper()
	binary, err := exec.LookPath("prometheus")
	if err != nil {
		binary = prometheusBinary
	}
	if _, err := os.Stat(binary); err != nil {
		testkit.Integration(t, "prometheus not installed (%v): apt-get install prometheus", err)
	}
	dir := t.TempDir()
	quoted := make([]string, len(scrapeTargets))
	for i, a := range scrapeTargets {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 800ms
  evaluation_interval: 1s
scrape_configs:
  - job_name: chaosdemo
    static_configs:
      - targets: [%s]
`, strings.Join(quoted, ", "))
	configPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "prometheus.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	addr := freeAddr(t)
	cmd := exec.Command(binary,
		"--config.file="+configPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	logTail := func() string {
		b, _ := os.ReadFile(logPath)
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		return string(b)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			t.Errorf("prometheus did not stop within 15s of SIGTERM; killing it")
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("prometheus log:\n%s", logTail())
		}
	})

	url := "http://" + addr
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			t.Fatalf("prometheus exited before it was ready:\n%s", logTail())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready within 30s (last: %v):\n%s", err, logTail())
		}
		time.Sleep(50 * time.Millisecond) // polling interval of a condition with a deadline
	}
	client.CloseIdleConnections()
	return url
}

// TestPrometheusProbes answers a prometheus probe and a ratio SLI from a real
// Prometheus server scraping a demo cluster under traffic.
func TestPrometheusProbes(t *testing.T) {
	d := processtest.StartDemo(t, demo.ClusterSpec{Nodes: 3, Gateways: 1}, processdemo.Options{Run: "probes", LogLevel: "warn"})
	var addrs []string
	for _, m := range d.Members() {
		addrs = append(addrs, m.Addr)
	}
	url := startPrometheus(t, addrs)
	driveTraffic(t, d.ClientAddrs(), 100)

	const rateQuery = `sum(rate(chaosdemo_requests_total[5s]))`
	var rate float64
	deadline := time.Now().Add(45 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		v, err := probes.Query(ctx, url, rateQuery, time.Time{})
		cancel()
		if err == nil && v > 0 {
			rate = v
			break
		}
		if err != nil && !errors.Is(err, probes.ErrNoData) {
			t.Fatalf("Query: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no positive value within 45s (last %g, %v)", rateQuery, v, err)
		}
		time.Sleep(200 * time.Millisecond) // polling interval of a condition with a deadline
	}
	t.Logf("%s = %.1f", rateQuery, rate)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	good := `sum(increase(chaosdemo_requests_total{code!~"5..|429"}[10s]))`
	total := `sum(increase(chaosdemo_requests_total[10s]))`
	r, err := probes.Ratio(ctx, url, good, total, time.Time{})
	if err != nil {
		t.Fatalf("Ratio: %v", err)
	}
	t.Logf("ratio SLI: good %.1f of %.1f = %.4f", r.Good, r.Total, r.Ratio)
	if r.Total <= 0 || r.Good > r.Total || r.Ratio <= 0 || r.Ratio > 1 || r.Ratio != r.Good/r.Total {
		t.Errorf("Ratio = %+v; want 0 < good ≤ total and ratio = good/total in (0, 1]", r)
	}

	// The same events counted from the bad side (OpenSLO's bad/total): a
	// bad query that selects nothing counts none.
	for _, bad := range []string{`sum(increase(chaosdemo_requests_total{code=~"5..|429"}[10s]))`, `sum(increase(chaosdemo_no_such_metric_total[10s]))`} {
		b, err := probes.BadRatio(ctx, url, bad, total, time.Time{})
		if err != nil || b.Total <= 0 || b.Good < 0 || b.Good > b.Total || b.Ratio != b.Good/b.Total {
			t.Errorf("BadRatio(%s) = %+v, %v; want 0 ≤ good = total - bad ≤ total", bad, b, err)
		}
	}
	if _, err := probes.BadRatio(ctx, url, total, `sum(increase(chaosdemo_no_such_metric_total[10s]))`, time.Time{}); !errors.Is(err, probes.ErrNoEvents) {
		t.Errorf("BadRatio with no events: %v; want ErrNoEvents", err)
	}

	if v, err := probes.Query(ctx, url, `1 + 1`, time.Time{}); err != nil || v != 2 {
		t.Errorf("scalar query: %g, %v; want 2", v, err)
	}
	if v, err := probes.Query(ctx, url, `scalar(count(up{job="chaosdemo"} == 1))`, time.Time{}); err != nil || v != float64(len(addrs)) {
		t.Errorf("members up per Prometheus: %g, %v; want %d", v, err, len(addrs))
	}

	errorCases := []struct {
		name   string
		query  string
		noData bool
		text   string
	}{
		{name: "nothing selected", query: `chaosdemo_no_such_metric_total`, noData: true},
		{name: "several series", query: `chaosdemo_requests_total`, text: "series"},
		{name: "range vector", query: `chaosdemo_inflight_requests[5s]`, text: "matrix"},
		{name: "bad PromQL", query: `sum(rate(`, text: "parse error"},
	}
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := probes.Query(ctx, url, tc.query, time.Time{})
			if err == nil || errors.Is(err, probes.ErrNoData) != tc.noData || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("Query(%s) = %v; want an error (no data: %v) mentioning %q", tc.query, err, tc.noData, tc.text)
			}
		})
	}

	ratioCases := []struct {
		name        string
		good, total string
		noEvents    bool
		text        string
	}{
		{name: "total selects nothing", good: good, total: `sum(increase(chaosdemo_requests_total{code="999"}[10s]))`, noEvents: true},
		{name: "total is zero", good: good, total: `vector(0)`, noEvents: true},
		{name: "good not a subset", good: `vector(5)`, total: `vector(1)`, text: "subset"},
		{name: "no good series: every event bad", good: `sum(chaosdemo_requests_total{code="999"})`, total: `vector(4)`},
	}
	for _, tc := range ratioCases {
		t.Run("ratio "+tc.name, func(t *testing.T) {
			r, err := probes.Ratio(ctx, url, tc.good, tc.total, time.Time{})
			switch {
			case tc.noEvents:
				if !errors.Is(err, probes.ErrNoEvents) {
					t.Errorf("Ratio = %+v, %v; want ErrNoEvents", r, err)
				}
			case tc.text != "":
				if err == nil || !strings.Contains(err.Error(), tc.text) {
					t.Errorf("Ratio = %+v, %v; want an error mentioning %q", r, err, tc.text)
				}
			default:
				if err != nil || r.Good != 0 || r.Total != 4 || r.Ratio != 0 {
					t.Errorf("Ratio = %+v, %v; want 0 good of 4", r, err)
				}
			}
		})
	}

	if _, err := probes.Query(ctx, "http://"+freeAddr(t), `1`, time.Time{}); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("Query of a server that is not there: %v; want connection refused", err)
	}
}
