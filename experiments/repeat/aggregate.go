package repeat

import (
	"github.com/chaosctl/chaosctl/experiments/report"
)

// Run is one run of a repeat as the aggregate sees it: its record and its
// result (nil when the run left none).
type Run struct {
	report.RepeatRun
	Result *report.Result
}

// judged reports whether the run reached a verdict: it left a result and
// was not interrupted.
func (r Run) judged() bool { return r.Result != nil && !r.Result.Interrupted && !r.Interrupted }

// Aggregate sums a repeat's runs into the repeat's result: the runs' verdict
// counts, the decision under required (Decide), flaky, and per SLO, check
// and probe (name/phase) the judged runs' verdicts, with each SLO's budget
// consumed as median, min and max. header is copied in; its Verdict and
// Reason are the decision's. Pure: it reads nothing and writes nothing.
func Aggregate(header report.Header, experiment string, planned int, required float64, runs []Run) *report.RepeatResult {
	out := &report.RepeatResult{Experiment: experiment, Header: header, Runs: []report.RepeatRun{},
		SLOs: []report.RepeatSLO{}, Checks: []report.VerdictCounts{}, Probes: []report.VerdictCounts{}}
	c := Counts{Planned: planned}
	var verdicts []string
	slos := newTally[report.RepeatSLO]()
	consumed := map[string][]float64{}
	checks, probes := newTally[report.VerdictCounts](), newTally[report.VerdictCounts]()
	for _, run := range runs {
		out.Runs = append(out.Runs, run.RepeatRun)
		if run.Interrupted || (run.Result != nil && run.Result.Interrupted) {
			out.Interrupted = true
		}
		if run.Error != "" {
			out.Errors = append(out.Errors, run.Error)
		}
		if !run.judged() {
			continue
		}
		r := run.Result
		verdicts = append(verdicts, r.Verdict)
		switch r.Verdict {
		case report.Pass:
			c.Passed++
		case report.Fail:
			c.Failed++
		default:
			c.Inconclusive++
		}
		for _, o := range r.SLOs {
			slos.get(o.Name, func(s *report.RepeatSLO) *report.VerdictCounts { return &s.VerdictCounts }).Add(o.Verdict)
			consumed[o.Name] = append(consumed[o.Name], o.Consumed)
		}
		for _, ch := range r.Checks {
			checks.get(ch.Name, self).Add(ch.Verdict)
		}
		for _, p := range r.Probes {
			probes.get(p.Name+"/"+p.Phase, self).Add(p.Verdict)
		}
	}
	d := Decide(c, required)
	out.Verdict, out.Reason = d.Verdict, d.Rule
	out.Repeat = report.RepeatSummary{
		Planned: planned, Runs: c.Judged(), Passed: c.Passed, Failed: c.Failed, Inconclusive: c.Inconclusive,
		PassRate: d.PassRate, Low: d.Low, High: d.High, Confidence: Confidence, Required: required,
		Flaky: Flaky(verdicts), Rule: d.Rule,
	}
	for _, s := range slos.list() {
		s.Consumed = SpreadOf(consumed[s.Name])
		out.SLOs = append(out.SLOs, s)
	}
	out.Checks = append(out.Checks, checks.list()...)
	out.Probes = append(out.Probes, probes.list()...)
	return out
}

func self(c *report.VerdictCounts) *report.VerdictCounts { return c }

// tally keeps one T per name in the order names first appear.
type tally[T any] struct {
	order []string
	by    map[string]*T
}

func newTally[T any]() *tally[T] { return &tally[T]{by: map[string]*T{}} }

// get returns name's counts (through counts), creating its T, named, on
// first use.
func (t *tally[T]) get(name string, counts func(*T) *report.VerdictCounts) *report.VerdictCounts {
	v, ok := t.by[name]
	if !ok {
		v = new(T)
		counts(v).Name = name
		t.by[name] = v
		t.order = append(t.order, name)
	}
	return counts(v)
}

func (t *tally[T]) list() []T {
	out := make([]T, 0, len(t.order))
	for _, n := range t.order {
		out = append(out, *t.by[n])
	}
	return out
}
