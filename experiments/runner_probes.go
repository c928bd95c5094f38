package experiments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/probes"
	"github.com/chaosctl/chaosctl/slo"
	"github.com/chaosctl/chaosctl/targets"
)

// ErrUsage wraps problems with the command line found before anything
// starts (exit 2).
var ErrUsage = errors.New("usage")

// probeSample is one second of a non-workload probe: a scraped metric, a
// PromQL query or an HTTP check.
type probeSample struct {
	Index int
	Have  bool    // the probe produced a value this second
	Value float64 // the metric, query result, or HTTP latency in seconds
	OK    bool    // HTTP: the status matched and the latency was within bound
	Note  string  // why there is no value, or the HTTP failure
}

// liveProbes samples the scraped members and the prometheus and http probes
// once a second while the workload runs.
type liveProbes struct {
	mu      sync.Mutex
	cluster map[int]probes.ClusterSample
	series  map[string][]probeSample // by probe name
}

// checkProbeURLs fails before anything starts when a prometheus probe or a
// ratio SLO has no server to ask.
func (r *runState) checkProbeURLs() error {
	for _, p := range r.e.SteadyState.Probes {
		if p.Prometheus != nil && p.Prometheus.URL == "" && r.opts.PrometheusURL == "" {
			return fmt.Errorf("probe %s: no Prometheus server: give prometheus.url in the file or --prometheus-url: %w", p.Name, ErrUsage)
		}
	}
	for _, s := range r.e.SLOs {
		if s.SLI == SLIRatio && s.URL == "" && r.opts.PrometheusURL == "" {
			return fmt.Errorf("SLO %s: no Prometheus server: give url in the file or --prometheus-url: %w", s.Name, ErrUsage)
		}
	}
	return nil
}

func (r *runState) promURL(u string) string {
	if u != "" {
		return u
	}
	return r.opts.PrometheusURL
}

// secondIndex maps a wall-clock time to the workload's second index (0 =
// the first measured second).
func (r *runState) secondIndex(t0, at time.Time) int {
	d := at.Sub(t0) - r.plan.Warmup
	if d < 0 {
		return int(d/time.Second) - 1
	}
	return int(d / time.Second)
}

// runProbes scrapes the members and runs the live probes every second until
// ctx ends.
func (r *runState) runProbes(ctx context.Context, t0 time.Time, target targets.Target) {
	r.live = &liveProbes{cluster: map[int]probes.ClusterSample{}, series: map[string][]probeSample{}}
	var wg sync.WaitGroup
	if target.Runtime() != string(RuntimeExternal) { // the demo cluster's members

		client := &http.Client{Timeout: 900 * time.Millisecond}
		scraper := probes.NewScraper(target.Members, time.Second, client, r.log.WithField("component", "scrape"))
		wg.Go(func() {
			_ = scraper.Run(ctx, func(second time.Time, samples []probes.MemberSample) {
				idx := r.secondIndex(t0, second)
				agg := probes.Aggregate(second, samples)
				r.live.mu.Lock()
				r.live.cluster[idx] = agg
				r.live.mu.Unlock()
				for _, m := range samples {
					r.journal.Add("member", map[string]any{
						"second": idx, "member": m.Member, "up": m.Up, "cpu": m.CPUUtilization, "inflight": m.Inflight,
						"shedRate": m.ShedRate, "breakerOpen": m.BreakerOpen, "serverErrorRatio": m.ServerErrorRatio,
						"serverLatencyP99": m.ServerLatencyP99, "cacheHitRatio": m.CacheHitRatio, "requestRate": m.RequestRate,
					})
				}
			})
		})
	}
	var live []Probe
	for _, p := range r.e.SteadyState.Probes {
		if p.Prometheus != nil || p.HTTP != nil || p.TCP != nil {
			live = append(live, p)
		}
	}
	if len(live) > 0 {
		wg.Go(func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case now := <-t.C:
					idx := r.secondIndex(t0, now.Add(-500*time.Millisecond))
					var inner sync.WaitGroup
					for _, p := range live {
						inner.Go(func() {
							s := r.sampleProbe(ctx, p, idx)
							if ctx.Err() != nil {
								return // cut short by the end of the run: no sample
							}
							r.live.mu.Lock()
							r.live.series[p.Name] = append(r.live.series[p.Name], s)
							r.live.mu.Unlock()
						})
					}
					inner.Wait()
				}
			}
		})
	}
	wg.Wait()
}

func (r *runState) sampleProbe(ctx context.Context, p Probe, idx int) probeSample {
	s := probeSample{Index: idx}
	cctx, cancel := context.WithTimeout(ctx, 900*time.Millisecond)
	defer cancel()
	switch {
	case p.Prometheus != nil:
		v, err := probes.Query(cctx, r.promURL(p.Prometheus.URL), p.Prometheus.Query, time.Now())
		if err != nil {
			s.Note = err.Error()
			return s
		}
		s.Have, s.Value, s.OK = true, v, true
	case p.HTTP != nil:
		res := probes.CheckHTTP(cctx, p.HTTP.URL, p.HTTP.Status, p.HTTP.MaxLatency)
		s.Have, s.Value, s.OK, s.Note = true, res.Latency.Seconds(), res.OK, res.Reason
	case p.TCP != nil:
		res := probes.CheckTCP(cctx, p.TCP.Addr, p.TCP.Send, p.TCP.Expect, p.TCP.MaxLatency)
		s.Have, s.Value, s.OK, s.Note = true, res.Latency.Seconds(), res.OK, res.Reason
	}
	return s
}

// seriesFor returns the per-second samples of a non-workload probe.
func (r *runState) seriesFor(p Probe) []probeSample {
	if r.live == nil {
		return nil
	}
	r.live.mu.Lock()
	defer r.live.mu.Unlock()
	if p.Prometheus != nil || p.HTTP != nil || p.TCP != nil {
		return append([]probeSample(nil), r.live.series[p.Name]...)
	}
	var out []probeSample
	for idx, c := range r.live.cluster {
		s := probeSample{Index: idx}
		if v, ok := c.Value(string(p.Metric)); ok {
			s.Have, s.Value, s.OK = true, v, true
		} else {
			s.Note = "no member answered with that metric"
		}
		out = append(out, s)
	}
	return out
}

// evalSeries judges a non-workload probe over the samples of a window: it
// holds when every second with a value is within bounds (and, for HTTP,
// answered right); the reported value is the worst one.
func evalSeries(p Probe, phase string, window []probeSample) report.ProbeResult {
	out := report.ProbeResult{Name: p.Name, Phase: phase, Metric: probeMetricName(p)}
	maxT, minT := p.Max, p.Min
	if p.Prometheus != nil {
		maxT, minT = p.Prometheus.Max, p.Prometheus.Min
	}
	out.Bound = boundsText(maxT, minT)
	if p.HTTP != nil {
		out.Bound = fmt.Sprintf("status %d", p.HTTP.Status)
		if p.HTTP.MaxLatency > 0 {
			out.Bound += fmt.Sprintf(", latency <= %s", p.HTTP.MaxLatency)
		}
	}
	if p.TCP != nil {
		out.Bound = tcpProbeText(p.TCP)
	}
	first := true
	note := ""
	out.Verdict = report.Pass
	for _, s := range window {
		if !s.Have {
			note = s.Note
			continue
		}
		out.Samples++
		bad := !s.OK
		if maxT != nil && s.Value > maxT.Value {
			bad = true
		}
		if minT != nil && s.Value < minT.Value {
			bad = true
		}
		worse := first || (minT != nil && s.Value < out.Value) || (minT == nil && s.Value > out.Value)
		if bad && out.Verdict != report.Fail {
			out.Verdict, out.Value = report.Fail, s.Value
			out.Reason = fmt.Sprintf("second %d: %.4g outside %s", s.Index, s.Value, out.Bound)
			if s.Note != "" {
				out.Reason = fmt.Sprintf("second %d: %s", s.Index, s.Note)
			}
		} else if out.Verdict != report.Fail && worse {
			out.Value = s.Value
		}
		first = false
	}
	switch {
	case out.Samples == 0:
		out.Verdict, out.Reason = report.Inconclusive, "no samples in the window"
		if note != "" {
			out.Reason += ": " + note
		}
	case out.Verdict == report.Pass:
		out.Reason = fmt.Sprintf("worst %.4g over %d s, within %s", out.Value, out.Samples, out.Bound)
	}
	return out
}

func probeMetricName(p Probe) string {
	switch {
	case p.Prometheus != nil:
		return "prometheus"
	case p.HTTP != nil:
		return "http_latency"
	case p.TCP != nil:
		return "tcp_latency"
	}
	return string(p.Metric)
}

// ratioSLO measures a ratio SLI with its good and total queries at the end
// of the measured period.
func (r *runState) ratioSLO(ctx context.Context, s SLO, at time.Time) report.SLOResult {
	out := report.SLOResult{Name: s.Name, SLI: string(s.SLI), Objective: float64(s.Objective)}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := probes.Ratio(cctx, r.promURL(s.URL), s.Good, s.Total, at)
	if err != nil {
		out.Verdict, out.Reason = report.Inconclusive, err.Error()
		return out
	}
	b := slo.Budget{Objective: float64(s.Objective), Total: int64(res.Total + 0.5), Bad: int64(res.Total - res.Good + 0.5)}
	out.Total, out.Bad = b.Total, b.Bad
	out.Budget, out.BurnRate, out.Consumed = b.Allowed(), b.BurnRate(), finite(b.Consumed())
	out.Remaining = 1 - out.Consumed
	v, reason := b.Verdict()
	out.Verdict, out.Reason = string(v), fmt.Sprintf("%s (good %.0f of %.0f from Prometheus)", reason, res.Good, res.Total)
	return out
}

// PrometheusTargetsFile is written into the output folder once the members
// run: a file_sd target list, so a Prometheus server can scrape the demo
// cluster of a run (file_sd_configs: [{files: [DIR/prometheus-targets.json]}]).
const PrometheusTargetsFile = "prometheus-targets.json"

func writePrometheusTargets(dir, run string, members []targets.Member) error {
	type group struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	var groups []group
	for _, m := range members {
		groups = append(groups, group{Targets: []string{m.Addr}, Labels: map[string]string{"chaosctl_run": run, "chaosctl_member": m.ID, "chaosctl_role": m.Role}})
	}
	b, err := json.MarshalIndent(groups, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, PrometheusTargetsFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, PrometheusTargetsFile))
}
