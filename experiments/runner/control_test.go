package runner

import (
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/probes/workload"
)

// A latency SLO's per-second value is the latency at its objective's
// quantile of its own op's successes: reads only for op: read, puts and
// deletes together for op: write.
func TestSLOQuantileOfItsOp(t *testing.T) {
	stats := func(ms ...int) *workload.OpStats {
		s := &workload.OpStats{Latency: workload.NewLatencyHistogram()}
		for _, m := range ms {
			_ = s.Latency.RecordValue(int64(m) * 1000)
		}
		return s
	}
	var reads []int
	for i := 1; i <= 100; i++ {
		reads = append(reads, i) // 1..100 ms
	}
	sec := &workload.Second{
		Ops: map[workload.OpKind]*workload.OpStats{workload.OpGet: stats(reads...), workload.OpPut: stats(500), workload.OpDelete: stats(700)},
		All: stats(append(reads, 500, 700)...),
	}
	near := func(d, want time.Duration) bool { return d >= want-want/50 && d <= want+want/50 }
	for _, tc := range []struct {
		slo  experiments.SLO
		want time.Duration
	}{
		{experiments.SLO{SLI: experiments.SLILatency, Op: experiments.OpRead, Objective: 0.99}, 99 * time.Millisecond},
		{experiments.SLO{SLI: experiments.SLILatency, Op: experiments.OpRead, Objective: 0.5}, 50 * time.Millisecond},
		{experiments.SLO{SLI: experiments.SLILatency, Op: experiments.OpWrite, Objective: 0.99}, 700 * time.Millisecond},
		{experiments.SLO{SLI: experiments.SLILatency, Objective: 0.99}, 500 * time.Millisecond},
		{experiments.SLO{SLI: experiments.SLILatency, Op: "no-such-class", Objective: 0.99}, 0},
	} {
		if got := sloQuantile(tc.slo, sec); !near(got, tc.want) {
			t.Errorf("op %q objective %g: %s, want %s", tc.slo.Op, float64(tc.slo.Objective), got, tc.want)
		}
	}
}
