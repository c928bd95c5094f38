package probes_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/probes"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
	"github.com/chaosctl/chaosctl/targets/processdemo"
)

// TestScraperRounds runs a scraper against three listeners: one whose
// counters grow by exactly 10 requests (2 of them 503) per scrape, one that
// never answers, and an address nobody listens on.
func TestScraperRounds(t *testing.T) {
	var mu sync.Mutex
	scrapes := 0
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		scrapes++
		n := scrapes
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE chaosdemo_requests_total counter\n"+
			"chaosdemo_requests_total{code=\"200\",member=\"g1\",op=\"read\"} %d\n"+
			"chaosdemo_requests_total{code=\"503\",member=\"g1\",op=\"read\"} %d\n"+
			"# TYPE chaosdemo_inflight_requests gauge\nchaosdemo_inflight_requests 7\n", 8*n, 2*n)
	}))
	t.Cleanup(counting.Close)
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hanging.Close)
	t.Cleanup(func() { close(release) })

	members := []targets.Member{
		{ID: "g1", Role: "gateway", Addr: strings.TrimPrefix(counting.URL, "http://")},
		{ID: "n1", Role: "node", Addr: strings.TrimPrefix(hanging.URL, "http://")},
		{ID: "n2", Role: "node", Addr: freeAddr(t)},
		{ID: "n3", Role: "node"},
	}
	const interval = 200 * time.Millisecond
	rounds := runScraper(t, func() []targets.Member { return members }, interval)

	first := waitRound(t, rounds, 5*time.Second, "first round", func(round) bool { return true })
	g1, _ := first.member("g1")
	if !g1.Up || g1.HaveRates || g1.Inflight != 7 {
		t.Errorf("first sample of g1 = %+v; want up, without rates, inflight 7", g1)
	}
	r := waitRound(t, rounds, 5*time.Second, "second round", func(round) bool { return true })
	if len(r.samples) != len(members) {
		t.Fatalf("%d samples, want one per member (%d)", len(r.samples), len(members))
	}
	for i, m := range members {
		if r.samples[i].Member != m.ID {
			t.Errorf("sample %d is of %s, want %s (members' order)", i, r.samples[i].Member, m.ID)
		}
	}
	g1, _ = r.member("g1")
	if !g1.Up || !g1.HaveRates || g1.Requests != 10 || g1.Errors != 2 || g1.ServerErrorRatio != 0.2 {
		t.Errorf("g1 = %+v; want up with 10 requests, 2 errors", g1)
	}
	if want := 10 / g1.Interval.Seconds(); g1.RequestRate != want || g1.Interval <= 0 || g1.Interval > 3*interval {
		t.Errorf("g1 request rate %g over %s, want %g over about %s", g1.RequestRate, g1.Interval, want, interval)
	}
	down := map[string]string{"n1": "no answer within", "n2": "connection refused", "n3": "no address"}
	for id, reason := range down {
		s, _ := r.member(id)
		if s.Up || s.HaveRates || !strings.Contains(s.Error, reason) || s.Requests != 0 {
			t.Errorf("%s = %+v; want down with an error containing %q", id, s, reason)
		}
	}
	if gap := r.second.Sub(first.second); gap < interval/2 || gap > 3*interval {
		t.Errorf("rounds %s apart, want about %s", gap, interval)
	}
	if v, ok := probes.MetricValue(probes.MetricServerErrorRatio, r.samples); !ok || v != 0.2 {
		t.Errorf("server_error_ratio = %g, %v; want 0.2 from g1 alone", v, ok)
	}
}

func TestScraperRunNeedsEmit(t *testing.T) {
	s := probes.NewScraper(func() []targets.Member { return nil }, 0, nil, nil)
	if s.Interval() != probes.DefaultScrapeInterval {
		t.Errorf("interval %s, want the default %s", s.Interval(), probes.DefaultScrapeInterval)
	}
	if err := s.Run(context.Background(), nil); err == nil {
		t.Error("Run without emit: no error")
	}
}

// TestScraperOnDemoCluster scrapes a real demo cluster (3 store nodes, 1
// gateway) under traffic, then pauses a node, then kills two.
func TestScraperOnDemoCluster(t *testing.T) {
	d := processtest.StartDemo(t, demo.ClusterSpec{Nodes: 3, Gateways: 1}, processdemo.Options{Run: "probes", LogLevel: "warn"})
	driveTraffic(t, d.ClientAddrs(), 200)
	const interval = time.Second
	rounds := runScraper(t, d.Members, interval)
	ids := []string{"g1", "n1", "n2", "n3"}

	// Steady: every member up, serving, using some CPU. A fresh cluster
	// under load answers errors and opens breakers for a few seconds (cold
	// connections); wait for it to settle.
	steady := waitRound(t, rounds, 30*time.Second, "every member up, serving, healthy", func(r round) bool {
		for _, id := range ids {
			s, ok := r.member(id)
			if !ok || !s.Up || !s.HaveRates || s.RequestRate <= 0 || s.CPUUtilization <= 0 || s.BreakerOpen > 0 {
				return false
			}
		}
		v, ok := probes.MetricValue(probes.MetricServerErrorRatio, r.samples)
		return ok && v <= 0.05
	})
	for _, s := range steady.samples {
		t.Logf("steady %s: %.0f req/s, errors %.3f, p99 %.4fs, cpu %.3f, inflight %g", s.Member, s.RequestRate, s.ServerErrorRatio, s.ServerLatencyP99, s.CPUUtilization, s.Inflight)
		if s.CPUUtilization <= 0 || s.CPUUtilization > 2 {
			t.Errorf("%s: cpu_utilization %g not in (0, 2]", s.Member, s.CPUUtilization)
		}
		if s.ServerLatencyP99 <= 0 || s.ServerLatencyP99 > 1 {
			t.Errorf("%s: server p99 %gs not in (0, 1s]", s.Member, s.ServerLatencyP99)
		}
		if s.BreakerOpen != 0 {
			t.Errorf("%s: %d breakers open in a healthy cluster", s.Member, s.BreakerOpen)
		}
	}
	if v, ok := probes.MetricValue(probes.MetricServerErrorRatio, steady.samples); !ok || v > 0.05 {
		t.Errorf("steady server_error_ratio = %g, %v; want a value ≤ 0.05", v, ok)
	}
	if v, ok := probes.MetricValue(probes.MetricCPUUtilization, steady.samples); !ok || v <= 0 || v > 2 {
		t.Errorf("steady cpu_utilization = %g, %v; want a value in (0, 2]", v, ok)
	}
	if _, ok := probes.MetricValue(probes.MetricCacheHitRatio, steady.samples); ok {
		t.Error("cache_hit_ratio has a value while the cache is off")
	}

	// Pause n3: down within two intervals; the gateway's breaker to it opens.
	ctx := context.Background()
	if err := d.Pause(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	resumed := false
	t.Cleanup(func() {
		if !resumed {
			_ = d.Resume(ctx, "n3")
		}
	})
	pausedAt := time.Now()
	r := waitRound(t, rounds, 5*interval, "paused n3 reported down", func(r round) bool {
		s, _ := r.member("n3")
		return !s.Up
	})
	took := r.emitted.Sub(pausedAt)
	t.Logf("paused n3 reported down %s after SIGSTOP", took.Round(time.Millisecond))
	if took > 2*interval+250*time.Millisecond {
		t.Errorf("paused member reported down after %s, want within two intervals (%s)", took, 2*interval)
	}
	if s, _ := r.member("n3"); !strings.Contains(s.Error, "no answer within") {
		t.Errorf("paused n3: error %q, want a timeout", s.Error)
	}
	r = waitRound(t, rounds, 20*time.Second, "an open breaker counted", func(r round) bool {
		v, ok := probes.MetricValue(probes.MetricBreakerOpen, r.samples)
		return ok && v >= 1
	})
	for _, s := range r.samples {
		if s.BreakerOpen > 0 {
			t.Logf("%s: %d breaker(s) open while n3 is paused", s.Member, s.BreakerOpen)
		}
	}

	// Resume: n3 answers again, its first sample without rates.
	if err := d.Resume(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	resumed = true
	r = waitRound(t, rounds, 5*interval, "resumed n3 up", func(r round) bool {
		s, _ := r.member("n3")
		return s.Up
	})
	if s, _ := r.member("n3"); s.HaveRates {
		t.Errorf("first sample after n3 was down has rates over the gap: %+v", s)
	}

	// Kill two of three nodes: no majority, the gateway answers errors.
	for _, id := range []string{"n2", "n3"} {
		if err := d.Kill(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	r = waitRound(t, rounds, 20*time.Second, "server_error_ratio up after losing the majority", func(r round) bool {
		v, ok := probes.MetricValue(probes.MetricServerErrorRatio, r.samples)
		return ok && v > 0.5
	})
	v, _ := probes.MetricValue(probes.MetricServerErrorRatio, r.samples)
	t.Logf("server_error_ratio with two of three nodes killed: %.3f", v)
	for _, id := range []string{"n2", "n3"} {
		if s, _ := r.member(id); s.Up || !strings.Contains(s.Error, "refused") {
			t.Errorf("killed %s = %+v; want down, connection refused", id, s)
		}
	}
	if g1, _ := r.member("g1"); !g1.Up || g1.ErrorRate <= 0 {
		t.Errorf("g1 = %+v; want up and answering errors", g1)
	}
}
