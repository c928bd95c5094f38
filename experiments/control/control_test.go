package control

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/experiments/runner"
	"github.com/chaosctl/chaosctl/slo/judge"
)

const file = `# The experiment.
apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: c}
seed: 3
repeat: 2
control: true
degradation: {latency: 20ms, errors: 1%}
workload: {rate: 10, duration: 10s}
faults:
  - {name: slow, at: 2s, duration: 3s, latency: {delay: 50ms, nodes: [n1]}}
slos:
  - {name: up, sli: availability, objective: 99%, judge: faults}
  - {name: fast, sli: latency, objective: 99%, threshold: 100ms}
`

type call struct {
	e    *experiments.Experiment
	opts runner.RunOptions
}

// fake records its calls and returns an outcome with a series, or err for
// the call numbered failAt.
func fake(calls *[]call, failAt int, err error) runner.RunFunc {
	return func(ctx context.Context, e *experiments.Experiment, opts runner.RunOptions) (*runner.Outcome, error) {
		*calls = append(*calls, call{e, opts})
		out := &runner.Outcome{Dir: opts.OutDir, Result: &report.Result{Header: report.Header{Verdict: report.Pass}},
			Series: map[string][]judge.SLISecond{"up": {{Index: 0, Total: 10}}}}
		if len(*calls) == failAt {
			return out, err
		}
		return out, nil
	}
}

// The control run comes first, into OUT/control, with the same seed and
// no faults, judge: run, no control or degradation; the experiment then
// runs into OUT with the control's series and the file's limits.
func TestRunControlThenExperiment(t *testing.T) {
	e, err := experiments.Decode("c.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	var calls []call
	seed := int64(42)
	res, err := Run(context.Background(), e, Options{Run: fake(&calls, 0, nil),
		RunOptions: runner.RunOptions{File: "c.yaml", Source: []byte(file), Settings: runner.Settings{OutDir: out, Seed: &seed}}})
	if err != nil || len(calls) != 2 || res.Dir != out {
		t.Fatalf("calls %d, outcome %+v, err %v", len(calls), res, err)
	}
	c, x := calls[0], calls[1]
	if c.opts.OutDir != filepath.Join(out, Dir) || *c.opts.Seed != 42 || *c.e.Seed != 42 || len(c.e.Faults) != 0 || c.e.Control ||
		c.e.Degradation != nil || c.e.Repeat != 1 || c.e.SLOs[0].Judge != experiments.JudgeRun || c.opts.Control != nil || !c.opts.NoStepSummary {
		t.Fatalf("control run: %+v\n%+v", c.opts, c.e)
	}
	if !strings.Contains(string(c.opts.Source), "The control run of c.yaml") || strings.Contains(string(c.opts.Source), "slow") {
		t.Errorf("control source:\n%s", c.opts.Source)
	}
	if x.e != e || x.opts.OutDir != out || *x.opts.Seed != 42 || x.opts.Control == nil || x.opts.Control.Dir != Dir ||
		len(x.opts.Control.Series["up"]) != 1 || *x.opts.Control.Limits.Errors != 0.01 || x.opts.Control.Result == nil {
		t.Fatalf("experiment: %+v", x.opts)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("no output folder: %v", err)
	}
}

// An interrupted control run starts no experiment and says interrupted.
func TestInterruptedControlStartsNoExperiment(t *testing.T) {
	e, _ := experiments.Decode("c.yaml", []byte(file))
	var calls []call
	res, err := Run(context.Background(), e, Options{Run: fake(&calls, 1, runner.ErrInterrupted),
		RunOptions: runner.RunOptions{Settings: runner.Settings{OutDir: filepath.Join(t.TempDir(), "out")}}})
	if !errors.Is(err, runner.ErrInterrupted) || len(calls) != 1 || res == nil || !strings.HasSuffix(res.Dir, Dir) {
		t.Fatalf("calls %d, outcome %+v, err %v", len(calls), res, err)
	}
	// Any other failure of the control run is the environment's.
	calls = nil
	_, err = Run(context.Background(), e, Options{Run: fake(&calls, 1, errors.New("boom")),
		RunOptions: runner.RunOptions{Settings: runner.Settings{OutDir: filepath.Join(t.TempDir(), "out")}}})
	if !errors.Is(err, runner.ErrEnvironment) || len(calls) != 1 {
		t.Fatalf("calls %d, err %v", len(calls), err)
	}
}

// Without a source the control run is the experiment without faults.
func TestExperimentWithoutSource(t *testing.T) {
	e, _ := experiments.Decode("c.yaml", []byte(file))
	c, src, err := Experiment(e, "c.yaml", nil, 9)
	if err != nil || src != nil || len(c.Faults) != 0 || *c.Seed != 9 || c.Control || e.SLOs[0].Judge != experiments.JudgeFaults || c.SLOs[0].Judge != experiments.JudgeRun {
		t.Fatalf("control %+v (%v); the experiment's SLOs %+v", c, err, e.SLOs)
	}
	if l := Limits(e); *l.Latency != 20e6 || *l.Errors != 0.01 {
		t.Fatalf("limits %+v", l)
	}
}

// With gives every run it is asked for (a repeat's) a control run of its
// own, in that run's folder, with that run's seed.
func TestWithGivesEachRunItsOwnControl(t *testing.T) {
	e, _ := experiments.Decode("c.yaml", []byte(file))
	var calls []call
	run := With(fake(&calls, 0, nil))
	for i, seed := range []int64{7, 8} {
		s := seed
		dir := filepath.Join(t.TempDir(), "runs", "00"+string(rune('1'+i)))
		if _, err := run(context.Background(), e, runner.RunOptions{Settings: runner.Settings{OutDir: dir, Seed: &s}}); err != nil {
			t.Fatal(err)
		}
	}
	if len(calls) != 4 || *calls[0].e.Seed != 7 || calls[1].opts.Control == nil || *calls[2].e.Seed != 8 ||
		calls[2].opts.OutDir != filepath.Join(calls[3].opts.OutDir, Dir) {
		t.Fatalf("calls %+v", calls)
	}
}
