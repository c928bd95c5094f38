package runner

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/injectors"
)

func TestReuseBlockerReadsWhatARunLeft(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	amnesia := &experiments.Experiment{Target: experiments.Target{Demo: &experiments.DemoCluster{Nodes: 3, Gateways: 1, Recovery: experiments.RecoveryNone}}}
	fault := func(kind string, mod func(*report.FaultResult)) *report.Result {
		f := report.FaultResult{Name: "f1", Kind: kind, Applied: &at, Reverted: &at}
		if mod != nil {
			mod(&f)
		}
		return &report.Result{Faults: []report.FaultResult{f}}
	}
	for _, c := range []struct {
		name string
		prev *report.Result
		want string // "" or a part of the reason
	}{
		{"no run yet", nil, ""},
		{"a clean run", fault("pause", nil), ""},
		{"a fault never applied", fault("partition", func(f *report.FaultResult) { f.Applied, f.Reverted = nil, nil }), ""},
		{"a skipped revert receipt decides nothing", fault("crash", func(f *report.FaultResult) {
			f.RevertReceipt = &injectors.Receipt{Skipped: "the runtime reports no member state"}
		}), ""},
		{"a verified revert receipt", fault("partition", func(f *report.FaultResult) { f.RevertReceipt = &injectors.Receipt{Verified: true} }), ""},
		{"a fault still applied", fault("pause", func(f *report.FaultResult) { f.Reverted, f.StillApplied = nil, true }), "fault f1 may still be in place"},
		{"applied and never reverted", fault("latency", func(f *report.FaultResult) { f.Reverted = nil }), "fault f1 may still be in place"},
		{"a revert receipt that found it in place", fault("partition", func(f *report.FaultResult) {
			f.RevertReceipt = &injectors.Receipt{Summary: "1 of 2 checks contradict reverted: link n1→n2 cut"}
		}), "the revert receipt of fault f1 found it in place: 1 of 2 checks"},
		{"a clock skew", fault("clockSkew", nil), "fault f1 skewed a clock"},
		{"an interrupted run", &report.Result{Interrupted: true}, "did not end normally"},
		{"a run with errors", &report.Result{Errors: []string{"boom"}}, "did not end normally"},
		{"a crash of a store node of an amnesiac cluster", fault("crash", func(f *report.FaultResult) { f.Targets = []string{"n2"} }), "fault f1 restarted a store node without its data"},
		{"a restart of a store node of an amnesiac cluster", fault("restart", func(f *report.FaultResult) { f.Targets = []string{"n1"} }), "restarted a store node"},
		{"a crash of a gateway of an amnesiac cluster", fault("crash", func(f *report.FaultResult) { f.Targets = []string{"g1"} }), ""},
		{"a crash planned but not applied", fault("crash", func(f *report.FaultResult) { f.Targets, f.Applied, f.Reverted = []string{"n2"}, nil, nil }), ""},
	} {
		got := ReuseBlocker(amnesia, c.prev)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestReuseBlockerAfterACRDTWorkload(t *testing.T) {
	clean := &report.Result{}
	for kind, blocks := range map[experiments.WorkloadKind]bool{"": false, experiments.WorkloadKV: false, experiments.WorkloadCounter: true, experiments.WorkloadSet: true} {
		e := &experiments.Experiment{Target: experiments.Target{Demo: &experiments.DemoCluster{Nodes: 3}}}
		e.Workload.Kind = kind
		if got := ReuseBlocker(e, clean); (got != "") != blocks || (blocks && !strings.Contains(got, "CRDT values")) {
			t.Errorf("kind %q: %q, want a blocker: %v", kind, got, blocks)
		}
	}
}

func TestShareableNeedsAResettableDemo(t *testing.T) {
	demo := func(mod func(*experiments.Experiment)) *experiments.Experiment {
		e := &experiments.Experiment{Target: experiments.Target{Demo: &experiments.DemoCluster{Nodes: 3}}}
		if mod != nil {
			mod(e)
		}
		return e
	}
	for _, c := range []struct {
		name string
		e    *experiments.Experiment
		want string
	}{
		{"the demo", demo(nil), ""},
		{"no cache", demo(func(e *experiments.Experiment) {
			e.Target.Demo.Cache = experiments.Cache{Policy: experiments.CacheNone}
		}), ""},
		{"a cache that invalidates", demo(func(e *experiments.Experiment) {
			e.Target.Demo.Cache = experiments.Cache{Policy: experiments.CacheLRU, WriteMode: experiments.WriteInvalidate}
		}), "caches warm"},
		{"a write-behind cache", demo(func(e *experiments.Experiment) {
			e.Target.Demo.Cache = experiments.Cache{Policy: experiments.Cache2Q, WriteMode: experiments.WriteBehind}
		}), "caches warm"},
		{"an external target", &experiments.Experiment{Target: experiments.Target{External: &experiments.ExternalTarget{}}}, "not the demo cluster"},
		{"a Redis workload", demo(func(e *experiments.Experiment) { e.Workload.Redis = &experiments.RedisWorkload{Addr: "x:1"} }), "key-value workload"},
	} {
		if got := Shareable(c.e); (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestMetricProblemsFindStateAResetDoesNotClear(t *testing.T) {
	exposition := `# HELP chaosdemo_breaker_state Circuit breaker state per peer: 0 closed, 1 half-open, 2 open.
# TYPE chaosdemo_breaker_state gauge
chaosdemo_breaker_state{peer="n1"} 0
chaosdemo_breaker_state{peer="n2"} 2
chaosdemo_breaker_state{peer="n3"} 1
chaosdemo_hints_pending 0
chaosdemo_writebehind_queue_depth 4
chaosdemo_clock_offset_seconds -1.5
chaosdemo_requests_total{member="g1",op="get",code="200"} 1234
chaosdemo_hints_pending{bad
`
	want := []string{
		"g1's breaker for n2 is open",
		"g1's breaker for n3 is half-open",
		"g1 has 4 write-behind writes queued",
		"g1's clock is skewed by -1.5s",
	}
	if got := metricProblems("g1", []byte(exposition)); !reflect.DeepEqual(got, want) {
		t.Errorf("problems\n%q\nwant\n%q", got, want)
	}
	quiet := "chaosdemo_breaker_state{peer=\"n1\"} 0\nchaosdemo_hints_pending 0\nchaosdemo_clock_offset_seconds 0\n"
	if got := metricProblems("n1", []byte(quiet)); len(got) != 0 {
		t.Errorf("a quiet member: %q", got)
	}
}

func TestNextBlockerRestartsForACorruptShare(t *testing.T) {
	e := &experiments.Experiment{Body: experiments.Body{Faults: []experiments.Fault{{Name: "lag", Latency: &experiments.Latency{}}}}}
	if got := NextBlocker(e); got != "" {
		t.Errorf("a latency: %q", got)
	}
	e.Faults = append(e.Faults, experiments.Fault{Name: "rot", Corrupt: &experiments.Corrupt{Ratio: 0.05}})
	if got := NextBlocker(e); !strings.Contains(got, "fault rot corrupts a share") {
		t.Errorf("a corrupt share: %q", got)
	}
}

// A crash of a store node blocks reuse only where the node comes back
// empty and answers at once.
func TestReuseBlockerAfterACrashDependsOnTheCluster(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	crash := &report.Result{Faults: []report.FaultResult{{Name: "f1", Kind: "crash", Targets: []string{"n3"}, Applied: &at, Reverted: &at}}}
	for _, c := range []struct {
		d    experiments.DemoCluster
		want bool
	}{
		{experiments.DemoCluster{Nodes: 3, Recovery: experiments.RecoveryNone}, true},
		{experiments.DemoCluster{Nodes: 3, Recovery: experiments.RecoveryNone, Persistence: experiments.PersistenceMemory}, true},
		{experiments.DemoCluster{Nodes: 3, Recovery: experiments.RecoveryResync, Persistence: experiments.PersistenceMemory}, false},
		{experiments.DemoCluster{Nodes: 3, Recovery: experiments.RecoveryNone, Persistence: experiments.PersistenceDisk}, false},
		{experiments.DemoCluster{Nodes: 2, Recovery: experiments.RecoveryNone}, false}, // n3 is not one of its nodes
	} {
		e := &experiments.Experiment{Target: experiments.Target{Demo: &c.d}}
		if got := ReuseBlocker(e, crash) != ""; got != c.want {
			t.Errorf("%+v: blocked %v, want %v", c.d, got, c.want)
		}
	}
}
