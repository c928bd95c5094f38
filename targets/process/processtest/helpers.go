package processtest

import (
	"context"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/processdemo"
)

// Log is a logger for a test: silent unless the test runs with -v.
func Log(t testing.TB) *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	if testing.Verbose() {
		l.SetOutput(os.Stderr)
	}
	return l.WithField("test", t.Name())
}

// StartDemo starts the demo cluster as real member processes (this test
// binary) behind an embedded toxiproxy, and closes it when the test ends.
// Zero fields of opts get test defaults.
func StartDemo(t testing.TB, spec demo.ClusterSpec, opts processdemo.Options) *processdemo.Demo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if opts.Run == "" {
		opts.Run = "t"
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Log == nil {
		opts.Log = Log(t)
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	opts.Binary = Binary(t)
	d, err := processdemo.Start(ctx, spec, opts)
	if err != nil {
		t.Fatalf("start demo cluster: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			t.Errorf("close demo cluster: %v", err)
		}
	})
	return d
}

// Metric sums the series of metric name on the member at addr whose labels
// include labels (counters and gauges).
func Metric(t testing.TB, addr, name string, labels map[string]string) float64 {
	t.Helper()
	sum := 0.0
	for _, m := range series(t, addr, name, labels) {
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		}
	}
	return sum
}

// SlowerThan reads histogram name of the member at addr (the series
// matching labels, summed) and returns how many observations exceeded
// bound, which must be one of its bucket bounds, and how many there were.
func SlowerThan(t testing.TB, addr, name string, labels map[string]string, bound float64) (slower, total uint64) {
	t.Helper()
	for _, m := range series(t, addr, name, labels) {
		h := m.GetHistogram()
		if h == nil {
			continue
		}
		within, ok := uint64(0), false
		for _, b := range h.GetBucket() {
			if b.GetUpperBound() == bound {
				within, ok = b.GetCumulativeCount(), true
			}
		}
		if !ok {
			t.Fatalf("%s has no bucket bound %v", name, bound)
		}
		slower += h.GetSampleCount() - within
		total += h.GetSampleCount()
	}
	return slower, total
}

// series scrapes the member at addr and returns the series of metric name
// whose labels include labels.
func series(t testing.TB, addr, name string, labels map[string]string) []*dto.Metric {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", addr, err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse metrics of %s: %v", addr, err)
	}
	var out []*dto.Metric
	for _, m := range fams[name].GetMetric() {
		match := true
		for k, v := range labels {
			found := false
			for _, lp := range m.GetLabel() {
				found = found || (lp.GetName() == k && lp.GetValue() == v)
			}
			match = match && found
		}
		if match {
			out = append(out, m)
		}
	}
	return out
}

// CloseTarget closes t within timeout; an error fails the test.
func CloseTarget(t testing.TB, target targets.Target, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := target.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// BenchReady measures the time from nothing to a ready demo cluster (start)
// and back to nothing (CloseTarget within closeWithin) on each runtime, one
// sub-benchmark each, reported as ms-ready and ms-close.
func BenchReady(b *testing.B, runtimes []string, closeWithin time.Duration, start func(b *testing.B, runtime string) targets.Target) {
	for _, runtime := range runtimes {
		b.Run(runtime, func(b *testing.B) {
			var ready, closing time.Duration
			for range b.N {
				t0 := time.Now()
				t := start(b, runtime)
				t1 := time.Now()
				CloseTarget(b, t, closeWithin)
				ready += t1.Sub(t0)
				closing += time.Since(t1)
			}
			b.ReportMetric(float64(ready.Milliseconds())/float64(b.N), "ms-ready")
			b.ReportMetric(float64(closing.Milliseconds())/float64(b.N), "ms-close")
		})
	}
}
