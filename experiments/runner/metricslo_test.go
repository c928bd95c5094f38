package runner

import (
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/probes"
)

// A metric SLO counts the measured seconds with data, good where the metric
// compares with the value; warmup seconds, seconds past the measured period
// and seconds without data count neither way, and no data at all is
// inconclusive, never a pass.
func TestMetricSLO(t *testing.T) {
	node := func(name string, rate float64) probes.MemberSample {
		return probes.MemberSample{Member: name, Role: "node", Up: true, HaveRates: true, RequestRate: rate}
	}
	second := func(n1, n2 float64) probes.ClusterSample {
		return probes.Aggregate(time.Time{}, []probes.MemberSample{node("n1", n1), node("n2", n2)})
	}
	noData := probes.Aggregate(time.Time{}, []probes.MemberSample{node("n1", 5), {Member: "n2", Role: "node"}})
	value := 0.7
	slo := experiments.SLO{Name: "shard-balance", SLI: experiments.SLIMetric, Metric: experiments.MetricHotShardShare,
		Compare: experiments.OpLTE, Value: &value, Objective: 0.75}
	r := &runState{plan: &experiments.Plan{Warmup: 2 * time.Second, Duration: 5 * time.Second}}
	r.cluster.seconds = map[int]probes.ClusterSample{
		-1: second(100, 0), // warmup: not counted
		0:  second(50, 50),
		1:  second(40, 60),
		2:  second(90, 10), // bad
		3:  noData,
		4:  second(45, 55),
		5:  second(100, 0), // past the measured period
	}
	res := r.metricSLO(slo)
	if res.Verdict != report.Pass || res.Total != 4 || res.Bad != 1 || !strings.Contains(res.Reason, "3 of 4 seconds had hot_shard_share <= 0.7") {
		t.Fatalf("metric SLO = %+v, want pass with 1 bad of 4 seconds", res)
	}
	r.cluster.seconds[1] = second(80, 20)
	if res := r.metricSLO(slo); res.Verdict != report.Fail || res.Bad != 2 {
		t.Fatalf("two bad seconds of four against 75%%: %+v, want fail", res)
	}
	r.cluster.seconds = map[int]probes.ClusterSample{0: noData, 1: noData}
	if res := r.metricSLO(slo); res.Verdict != report.Inconclusive {
		t.Fatalf("no data: %+v, want inconclusive", res)
	}
}

func TestCompare(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		op   experiments.ThresholdOp
		want bool
	}{
		{0.5, experiments.OpLT, true}, {0.6, experiments.OpLT, false},
		{0.6, experiments.OpLTE, true}, {0.61, experiments.OpLTE, false},
		{0.7, experiments.OpGT, true}, {0.6, experiments.OpGT, false},
		{0.6, experiments.OpGTE, true}, {0.59, experiments.OpGTE, false},
		{0.6, "", false},
	} {
		if got := compare(tt.v, tt.op, 0.6); got != tt.want {
			t.Errorf("compare(%v, %s, 0.6) = %v, want %v", tt.v, tt.op, got, tt.want)
		}
	}
}
