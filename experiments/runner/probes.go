package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/internal/atomicfile"
	"github.com/chaosctl/chaosctl/internal/crash"
	"github.com/chaosctl/chaosctl/probes"
	"github.com/chaosctl/chaosctl/slo/judge"
	"github.com/chaosctl/chaosctl/targets"
)

// ErrUsage wraps problems with the command line found before anything
// starts (exit 2).
var ErrUsage = errors.New("usage")

// A liveProbe is a probe chaosctl asks itself once a second while the
// workload runs: a PromQL query, an HTTP or a TCP check. The workload's own
// metrics and the members' scraped metrics need none.
type liveProbe interface {
	sample(ctx context.Context) judge.Sample
}

type promProbe struct{ url, query string }

func (p promProbe) sample(ctx context.Context) judge.Sample {
	v, err := probes.Query(ctx, p.url, p.query, time.Now())
	if err != nil {
		return judge.Sample{Note: err.Error()}
	}
	return judge.Sample{Have: true, Value: v, OK: true}
}

type httpProbe struct{ *experiments.HTTPProbe }

func (p httpProbe) sample(ctx context.Context) judge.Sample {
	res := probes.CheckHTTP(ctx, p.URL, p.Status, p.MaxLatency)
	return judge.Sample{Have: true, Value: res.Latency.Seconds(), OK: res.OK, Note: res.Reason}
}

type tcpProbe struct{ *experiments.TCPProbe }

func (p tcpProbe) sample(ctx context.Context) judge.Sample {
	res := probes.CheckTCP(ctx, p.Addr, p.Send, p.Expect, p.MaxLatency)
	return judge.Sample{Have: true, Value: res.Latency.Seconds(), OK: res.OK, Note: res.Reason}
}

type execProbe struct{ *experiments.ExecStep }

func (p execProbe) sample(ctx context.Context) judge.Sample {
	res := probes.RunExec(ctx, ExecSpec(p.ExecStep))
	return judge.Sample{Have: true, Value: res.Duration.Seconds(), OK: res.OK, Note: res.Reason}
}

// liveLimit bounds one sample of a live probe: an exec probe's timeout
// (a sample still running at the next second skips it), 900 ms for the
// others.
func liveLimit(p experiments.Probe) time.Duration {
	if p.Exec != nil && p.Exec.Timeout > 0 {
		return p.Exec.Timeout
	}
	return 900 * time.Millisecond
}

// probeOf is the judge's view of a probe (where its values come from, its
// bounds and their text) and, for a live probe, what samples it (nil when p
// is judged on the workload or on the scraped members).
func (r *runState) probeOf(p experiments.Probe) (judge.Probe, liveProbe) {
	maxT, minT := p.Max, p.Min
	if p.Prometheus != nil {
		maxT, minT = p.Prometheus.Max, p.Prometheus.Min
	}
	jp := judge.Probe{Name: p.Name, Source: judge.FromSeries, Metric: string(p.Metric), Bound: experiments.BoundsText(maxT, minT), During: p.During}
	if maxT != nil {
		jp.Max = &maxT.Value
	}
	if minT != nil {
		jp.Min = &minT.Value
	}
	switch {
	case p.Prometheus != nil:
		jp.Metric = "prometheus"
		return jp, promProbe{url: r.promURL(p.Prometheus.URL), query: p.Prometheus.Query}
	case p.HTTP != nil:
		jp.Metric, jp.Bound = "http_latency", fmt.Sprintf("status %d", p.HTTP.Status)
		if p.HTTP.MaxLatency > 0 {
			jp.Bound += fmt.Sprintf(", latency <= %s", p.HTTP.MaxLatency)
		}
		return jp, httpProbe{p.HTTP}
	case p.TCP != nil:
		jp.Metric, jp.Bound = "tcp_latency", experiments.TCPProbeText(p.TCP)
		return jp, tcpProbe{p.TCP}
	case p.Exec != nil:
		jp.Metric, jp.Bound = "exec_duration", experiments.ExecText(p.Exec)
		return jp, execProbe{p.Exec}
	case !p.Metric.Scraped():
		jp.Source = judge.FromWorkload
	}
	return jp, nil
}

// clusterSamples keeps the scraped members' aggregate of each second for
// the probes on member metrics.
type clusterSamples struct {
	mu      sync.Mutex
	seconds map[int]probes.ClusterSample
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
		if s.SLI.Prometheus() && s.URL == "" && r.opts.PrometheusURL == "" {
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
	var wg sync.WaitGroup
	if target.Runtime() != string(experiments.RuntimeExternal) { // the demo cluster's members
		client := &http.Client{Timeout: 900 * time.Millisecond}
		scraper := probes.NewScraper(target.Members, time.Second, client, r.log.WithField("component", "scrape"))
		shards := probes.NewShardWindow(probes.ShardWindowSeconds)
		wg.Go(func() {
			defer crash.Recover("the member scraper", r.crashed)
			_ = scraper.Run(ctx, func(second time.Time, samples []probes.MemberSample) {
				idx := r.secondIndex(t0, second)
				agg := probes.Aggregate(second, samples).WithHotShardShare(shards.Add(samples))
				r.cluster.mu.Lock()
				r.cluster.seconds[idx] = agg
				r.cluster.mu.Unlock()
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
	type named struct {
		name  string
		live  liveProbe
		limit time.Duration
		busy  *atomic.Bool // a sample is under way: the next second skips it
	}
	var live []named
	for _, p := range r.e.SteadyState.Probes {
		if _, lp := r.probeOf(p); lp != nil {
			live = append(live, named{p.Name, lp, liveLimit(p), new(atomic.Bool)})
		}
	}
	if len(live) > 0 {
		wg.Go(func() {
			defer crash.Recover("the live probes", r.crashed)
			t := time.NewTicker(time.Second)
			defer t.Stop()
			var inner sync.WaitGroup
			defer inner.Wait()
			for {
				select {
				case <-ctx.Done():
					return
				case now := <-t.C:
					idx := r.secondIndex(t0, now.Add(-500*time.Millisecond))
					for _, p := range live {
						if !p.busy.CompareAndSwap(false, true) {
							continue
						}
						inner.Go(func() {
							defer p.busy.Store(false)
							defer crash.Recover("probe "+p.name, r.crashed)
							panicPoint("probe")
							cctx, cancel := context.WithTimeout(ctx, p.limit)
							s := p.live.sample(cctx)
							cancel()
							if ctx.Err() != nil {
								return // cut short by the end of the run: no sample
							}
							s.Index = idx
							r.locked(func() { r.judge.AddSample(p.name, s) })
						})
					}
				}
			}
		})
	}
	wg.Wait()
}

// feedScrapedProbes gives the judge the scraped seconds of each probe on a
// member metric.
func (r *runState) feedScrapedProbes() {
	r.cluster.mu.Lock()
	defer r.cluster.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.e.SteadyState.Probes {
		if jp, lp := r.probeOf(p); lp != nil || jp.Source != judge.FromSeries {
			continue // a live probe, or one on the workload
		}
		for idx, c := range r.cluster.seconds {
			s := judge.Sample{Index: idx}
			if v, ok := c.Value(string(p.Metric)); ok {
				s.Have, s.Value, s.OK = true, v, true
			} else {
				s.Note = "no member answered with that metric"
			}
			r.judge.AddSample(p.Name, s)
		}
	}
}

// ratioSLO measures a ratio or threshold SLI with its queries at the end
// (at) of the measured period that began at measured.
func (r *runState) ratioSLO(ctx context.Context, s experiments.SLO, measured, at time.Time) report.SLOResult {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var (
		res probes.RatioResult
		err error
	)
	query, bad, total := s.PrometheusQueries(at.Sub(measured))
	if bad {
		res, err = probes.BadRatio(cctx, r.promURL(s.URL), query, total, at)
	} else {
		res, err = probes.Ratio(cctx, r.promURL(s.URL), query, total, at)
	}
	if err != nil {
		return report.SLOResult{Name: s.Name, SLI: string(s.SLI), Objective: float64(s.Objective), Verdict: report.Inconclusive, Reason: err.Error()}
	}
	return judge.RatioBudget(judgeSLO(s), res.Good, res.Total)
}

// metricSLO judges a metric SLO over the scraped seconds of the measured
// period: each second with data is good when the metric compares with the
// value; seconds without data (a store node that did not answer) count
// neither way, and a period without any is inconclusive.
func (r *runState) metricSLO(s experiments.SLO) report.SLOResult {
	r.cluster.mu.Lock()
	defer r.cluster.mu.Unlock()
	measured := int(r.plan.Duration / time.Second)
	var good, total int64
	for idx, c := range r.cluster.seconds {
		if idx < 0 || idx >= measured {
			continue
		}
		v, ok := c.Value(string(s.Metric))
		if !ok {
			continue
		}
		total++
		if compare(v, s.Compare, *s.Value) {
			good++
		}
	}
	what := fmt.Sprintf("had %s %s %g", s.Metric, s.Compare.PromQL(), *s.Value)
	if total == 0 {
		return report.SLOResult{Name: s.Name, SLI: string(s.SLI), Objective: float64(s.Objective), Judge: judge.JudgeRun,
			Verdict: report.Inconclusive, Reason: fmt.Sprintf("no measured second had %s from every member it needs", s.Metric)}
	}
	return judge.SecondsBudget(judgeSLO(s), good, total, what)
}

// compare says whether v compares with value as op says.
func compare(v float64, op experiments.ThresholdOp, value float64) bool {
	switch op {
	case experiments.OpLT:
		return v < value
	case experiments.OpLTE:
		return v <= value
	case experiments.OpGT:
		return v > value
	case experiments.OpGTE:
		return v >= value
	}
	return false
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
	return atomicfile.Write(filepath.Join(dir, PrometheusTargetsFile), b, 0o644)
}
