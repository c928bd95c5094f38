package injectors_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
)

func TestMain(m *testing.M) { processtest.Main(m) }

func testLog(t testing.TB) *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	if testing.Verbose() {
		l.SetOutput(os.Stderr)
	}
	return l.WithField("test", t.Name())
}

// startDemo starts the demo cluster as real processes behind an embedded
// toxiproxy, and closes it when the test ends.
func startDemo(t *testing.T, spec demo.ClusterSpec, opts targets.ProcessOptions) *targets.ProcessDemo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if opts.Run == "" {
		opts.Run = "t"
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	opts.Binary = processtest.Binary(t)
	opts.Log = testLog(t)
	opts.Seed = 1
	d, err := targets.StartProcessDemo(ctx, spec, opts)
	if err != nil {
		t.Fatalf("start demo cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(context.Background()); err != nil {
			t.Errorf("close demo cluster: %v", err)
		}
	})
	return d
}

func link(from, to string) faultplane.Link { return faultplane.Link{From: from, To: to} }

func member(t *testing.T, d targets.Target, id string) targets.Member {
	t.Helper()
	for _, m := range d.Members() {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("no member %s", id)
	return targets.Member{}
}

// outcome classifies one request.
type outcome string

const (
	outcomeOK      outcome = "ok"
	outcomeTimeout outcome = "timeout"
	outcomeRefused outcome = "refused"
	outcomeBroken  outcome = "broken" // reset, EOF, bad status
)

// probe sends GET /healthz to addr on a new connection.
func probe(addr string, timeout time.Duration) outcome {
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/healthz")
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return outcomeOK
		}
		return outcomeBroken
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return outcomeTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return outcomeRefused
	default:
		return outcomeBroken
	}
}

// eventually polls cond every 10ms until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond) // polling interval of a condition with a deadline
	}
}

// scrape sums a metric's series on a member that match labels.
func scrape(t *testing.T, addr, name string, labels map[string]string) float64 {
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
	sum := 0.0
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
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// percentile returns the p-quantile (0..1) of ds (sorted in place).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	i := int(p * float64(len(ds)-1))
	return ds[i]
}
