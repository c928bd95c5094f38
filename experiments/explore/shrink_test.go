package explore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
)

// httpExploreFile draws http faults among crashes and latency on the demo
// cluster's links, the workload's own included.
const httpExploreFile = `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: http-explore}
seed: 1
target:
  demo: {nodes: 3, gateways: 1}
workload: {rate: 100, warmup: 1s, duration: 20s, readRatio: 50%}
nemesis:
  kinds: [http, crash, latency]
  targets: [client, g1, n1, n2, n3]
  faults: {min: 3, max: 5}
  duration: {min: 1s, max: 4s}
  http:
    actions: [abort, delay]
    status: [503]
    percent: {min: 24%, max: 60%}
    match: {method: GET, pathPrefix: /kv/}
slos:
  - {name: availability, sli: availability, objective: 90%}
checks: [linearizable]
`

// abortsOracle fails when an http fault answers at least 10% of the reads
// with a status: an SLO that cannot lose a tenth of its reads.
func abortsOracle(e *experiments.Experiment) string {
	for _, f := range e.Faults {
		if h := f.HTTP; h != nil && h.Abort != nil && h.Abort.Percent >= 0.1 {
			return report.Fail
		}
	}
	return report.Pass
}

// A failing schedule with an http fault shrinks like any other: the
// faults the failure does not need are dropped, the abort moves to the
// start, gets shorter and acts on half as many requests, and the
// workload's tail is cut.
func TestShrinkAnHTTPFault(t *testing.T) {
	e, err := experiments.Decode("http.yaml", []byte(httpExploreFile))
	if err != nil {
		t.Fatal(err)
	}
	f := newFake(abortsOracle)
	opts := options(t, f)
	opts.Source, opts.File, opts.Repro = []byte(httpExploreFile), "http.yaml", 2
	out, err := Explore(context.Background(), e, opts)
	if err != nil {
		t.Fatal(err)
	}
	r := out.Report
	if r.Verdict != report.Fail || len(r.Minimal) != 1 {
		t.Fatalf("verdict %s, minimal %+v: %s", r.Verdict, r.Minimal, r.Reason)
	}
	m := r.Minimal[0]
	min, err := experiments.Load(out.Dir + "/" + m.File)
	if err != nil {
		t.Fatal(err)
	}
	if len(min.Faults) != 1 || min.Faults[0].HTTP == nil || min.Faults[0].HTTP.Abort == nil {
		t.Fatalf("minimal faults %+v, want an abort alone", min.Faults)
	}
	got := min.Faults[0]
	// The drawn schedule that failed, and the abort the minimal one kept.
	drawn, err := e.DrawSchedule(m.Seed)
	if err != nil {
		t.Fatal(err)
	}
	var abort *experiments.Fault
	for i := range drawn.Faults {
		if drawn.Faults[i].Name == got.Name {
			abort = &drawn.Faults[i]
		}
	}
	if abort == nil || abort.HTTP == nil || abort.HTTP.Abort == nil || len(drawn.Faults) < 3 {
		t.Fatalf("run %d (seed %d) drew no abort %s among three faults or more: %+v", m.Run, m.Seed, got.Name, drawn.Faults)
	}
	if got.At != 0 || got.Duration >= abort.Duration || got.Duration < minFaultLength {
		t.Errorf("minimal %s at %s for %s; drawn at %s for %s", got.Name, got.At, got.Duration, abort.At, abort.Duration)
	}
	if want := asPercent(abort.HTTP.Abort.Percent / 2); got.HTTP.Abort.Percent != want {
		t.Errorf("minimal share %s, want half the drawn %s: %s", got.HTTP.Abort.Percent, abort.HTTP.Abort.Percent, want)
	}
	if got.HTTP.Abort.Status != 503 || got.HTTP.Match.PathPrefix != "/kv/" || got.HTTP.Nodes[0] != abort.HTTP.Nodes[0] {
		t.Errorf("minimal abort %+v, drawn %+v", got.HTTP, abort.HTTP)
	}
	if min.Workload.Duration >= 20*time.Second || m.Reproduced != 2 {
		t.Errorf("workload %s, reproduced %d of %d", min.Workload.Duration, m.Reproduced, m.Of)
	}
	// The shrink steps name the softer share, kept.
	softened := false
	for _, st := range r.Shrinks[0].Steps {
		if strings.HasPrefix(st.Change, "lower the share of requests "+abort.Name) && st.Kept {
			softened = true
		}
	}
	if !softened {
		t.Errorf("no kept step lowered the share of %s: %+v", abort.Name, r.Shrinks[0].Steps)
	}
}

// softenHTTP lowers an http fault one step at a time: the share first, to
// 1%, then a delay's latency; the first N requests by half.
func TestSoftenHTTP(t *testing.T) {
	fault := func(h experiments.HTTP) experiments.Fault { return experiments.Fault{Name: "f1", HTTP: &h} }
	share := func(p experiments.Percent) experiments.HTTPShare { return experiments.HTTPShare{Percent: p} }
	for _, c := range []struct {
		name   string
		f      experiments.Fault
		change string
		check  func(h *experiments.HTTP) bool
	}{
		{"abort: half the share", fault(experiments.HTTP{Abort: &experiments.HTTPAbort{Status: 503, HTTPShare: share(0.37)}}),
			"share of requests f1 acts on to 18.5%", func(h *experiments.HTTP) bool { return h.Abort.Percent == asPercent(0.185) && h.Abort.Status == 503 }},
		{"drop at 1.5%: as mild as it gets", fault(experiments.HTTP{Drop: &experiments.HTTPDrop{HTTPShare: share(0.015)}}),
			"", func(h *experiments.HTTP) bool { return h.Drop.Percent == 0.015 }},
		{"delay at 1.5%: half the latency", fault(experiments.HTTP{Delay: &experiments.HTTPDelay{Latency: 300 * time.Millisecond, HTTPShare: share(0.015)}}),
			"request delay of f1 to 150ms", func(h *experiments.HTTP) bool {
				return h.Delay.Latency == 150*time.Millisecond && h.Delay.Percent == 0.015
			}},
		{"the first 5: the first 2", fault(experiments.HTTP{Abort: &experiments.HTTPAbort{Status: 500, HTTPShare: experiments.HTTPShare{FirstN: 5}}}),
			"requests f1 acts on to the first 2", func(h *experiments.HTTP) bool { return h.Abort.FirstN == 2 && h.Abort.Percent == 0 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			orig := cloneFaults([]experiments.Fault{c.f})
			_, before := orig[0].HTTP.Action()
			latency := time.Duration(0)
			if orig[0].HTTP.Delay != nil {
				latency = orig[0].HTTP.Delay.Latency
			}
			cand := cloneFaults(orig)
			if got := softenHTTP(&cand[0]); got != c.change || !c.check(cand[0].HTTP) {
				t.Errorf("change %q, want %q; fault %+v", got, c.change, cand[0].HTTP)
			}
			// The candidate is a copy: the schedule it came from keeps
			// its fault.
			if orig[0].HTTP == cand[0].HTTP || (orig[0].HTTP.Abort != nil && orig[0].HTTP.Abort == cand[0].HTTP.Abort) {
				t.Error("cloneFaults shares the http fault")
			}
			if _, after := orig[0].HTTP.Action(); after != before || (latency > 0 && orig[0].HTTP.Delay.Latency != latency) {
				t.Errorf("the original changed: %+v", orig[0].HTTP)
			}
		})
	}
}
