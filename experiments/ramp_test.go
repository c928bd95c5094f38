package experiments

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rampFile is minimal's workload with four faults; line 11 is the ramp.
const rampFile = `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: t}
workload: {rate: 10, duration: 10s}
checks: [linearizable]
faults:
  - {name: slow-n1, at: 1s, latency: {nodes: [n1], delay: 100ms, jitter: 10ms}}
  - {name: kill, at: 1s, crash: {pick: {count: 1}}}
  - {name: thin, at: 1s, bandwidth: {nodes: [n2], rate: 1MiB/s}}
  - {name: rst, at: 1s, reset: {nodes: [n3]}}
`

func rampWith(ramp string) string { return rampFile + ramp + "\n" }

func TestRampDecodesWithDefaults(t *testing.T) {
	e, err := Decode("r.yaml", []byte("repeat: 3\n"+rampWith("ramp: {fault: slow-n1, param: latency.delay, from: 20ms, to: 400ms, require: 150ms}")))
	if err != nil {
		t.Fatal(err)
	}
	r := e.Ramp
	if r == nil || r.Steps != DefaultRampSteps || r.Repeat != 3 || r.From != (RampValue{RampDuration, float64(20 * time.Millisecond)}) {
		t.Fatalf("ramp %+v", r)
	}
	from, to := r.Bounds()
	req, ok := r.Required()
	if from != 20 || to != 400 || !ok || req != 150 || !r.Harsher(400, 20) || r.Show(95) != "95ms" || r.GridUnit() != "ms" {
		t.Errorf("bounds %d..%d, require %d %v, show %q", from, to, req, ok, r.Show(95))
	}
	if s := e.RampSubject(1); s != "latency.delay of slow-n1 (n1)" {
		t.Errorf("subject %q", s)
	}

	e, err = Decode("r.yaml", []byte(rampWith("ramp: {fault: thin, param: bandwidth.rate, from: 1MB/s, to: 16KiB/s, steps: 3}")))
	if err != nil {
		t.Fatal(err)
	}
	if from, to := e.Ramp.Bounds(); from != 1000 || to != 16 || !e.Ramp.Harsher(16, 1000) || e.Ramp.Show(16) != "16kB/s" || e.Ramp.Repeat != 1 {
		t.Errorf("bandwidth bounds %d..%d (less is harsher), show %q", from, to, e.Ramp.Show(16))
	}
	// A reset's timeout is unwritten (0) in the file; a longer one is harsher.
	e, err = Decode("r.yaml", []byte(rampWith("ramp: {fault: rst, param: reset.timeout, from: 0s, to: 2s}")))
	if err != nil {
		t.Fatal(err)
	}
	if from, to := e.Ramp.Bounds(); from != 0 || to != 2000 || !e.Ramp.Harsher(300, 200) || e.Ramp.Show(250) != "250ms" || e.Ramp.GridUnit() != "ms" || e.RampSubject(1) != "reset.timeout of rst (n3)" {
		t.Errorf("reset timeout bounds %d..%d (more is harsher), show %q, subject %q", from, to, e.Ramp.Show(250), e.RampSubject(1))
	}
	// The members a count picks change with it: the subject names the
	// candidates.
	e, err = Decode("r.yaml", []byte(rampWith("ramp: {fault: kill, param: crash.pick.count, from: 1, to: 3}")))
	if err != nil || e.Ramp.GridUnit() != "members" || e.RampSubject(1) != "crash.pick.count of kill (from n1, n2, n3)" {
		t.Fatalf("pick count ramp: %v, subject %q", err, e.RampSubject(1))
	}
	e, err = Decode("r.yaml", []byte(rampWith("ramp: {param: workload.rate, from: 50, to: 400}")))
	if err != nil || e.Ramp.GridUnit() != "requests/s" || e.RampSubject(1) != "workload.rate" {
		t.Fatalf("workload ramp: %v", err)
	}
}

// partitionRampFile has three partitions on five nodes; line 11 is the
// ramp.
const partitionRampFile = `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: t}
target: {demo: {nodes: 5}}
workload: {rate: 10, duration: 10s}
checks: [linearizable]
faults:
  - {name: cut, at: 1s, duration: 2s, partition: {mode: isolate}}
  - {name: halves, at: 4s, duration: 2s, partition: {mode: halves}}
  - {name: pair, at: 7s, duration: 2s, partition: {groups: [[n1], [n2]]}}
`

func TestRampPartitionSize(t *testing.T) {
	e, err := Decode("r.yaml", []byte(partitionRampFile+"ramp: {fault: cut, param: partition.size, from: 1, to: 4, require: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	from, to := e.Ramp.Bounds()
	req, _ := e.Ramp.Required()
	if from != 1 || to != 4 || req != 2 || !e.Ramp.Harsher(3, 2) || e.Ramp.Show(3) != "3" || e.Ramp.GridUnit() != "nodes" {
		t.Errorf("bounds %d..%d, require %d, show %q, unit %q", from, to, req, e.Ramp.Show(3), e.Ramp.GridUnit())
	}
	// Which nodes are cut changes with the size: the subject names where
	// they come from.
	if s := e.RampSubject(1); s != "partition.size of cut (from n1, n2, n3, n4, n5)" {
		t.Errorf("subject %q", s)
	}

	for _, tc := range []struct {
		name, ramp string
		want       []string
	}{
		{"all five nodes", "ramp: {fault: cut, param: partition.size, from: 1, to: 5}",
			[]string{`11:56: ramp.to: 5 is out of range for partition.size; allowed: 1 to 4`}},
		{"none", "ramp: {fault: cut, param: partition.size, from: 0, to: 2}",
			[]string{`11:49: ramp.from: 0 is out of range for partition.size; allowed: 1 to 4`}},
		{"another mode", "ramp: {fault: halves, param: partition.size, from: 1, to: 2}",
			[]string{`11:30: ramp.param: partition.size ramps how many store nodes mode isolate cuts off, and faults[1] (halves) has mode halves; give it partition: {mode: isolate}`}},
		{"groups", "ramp: {fault: pair, param: partition.size, from: 1, to: 2}",
			[]string{`11:28: ramp.param: partition.size ramps how many store nodes mode isolate cuts off, and faults[2] (pair) names its groups; give it partition: {mode: isolate}`}},
		{"a duration", "ramp: {fault: cut, param: partition.size, from: 1, to: 2s}",
			[]string{`11:56: ramp.to: 2s is a duration; partition.size takes a whole number such as 2`}},
		{"downwards", "ramp: {fault: cut, param: partition.size, from: 3, to: 1}",
			[]string{`11:56: ramp.to: 1 is below from (3); partition.size grows harsher as it rises`}},
		{"a pick count of a partition", "ramp: {fault: cut, param: partition.pick.count, from: 1, to: 2}",
			[]string{`11:27: ramp.param: unknown param "partition.pick.count"; allowed for cut: partition.size, workload.rate`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode("exp.yaml", []byte(partitionRampFile+tc.ramp+"\n"))
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Decode error = %v, want a *ValidationError", err)
			}
			checkProblems(t, verr, "exp.yaml", tc.want)
		})
	}
}

func TestRampProblems(t *testing.T) {
	for _, tc := range []struct {
		name, ramp string
		want       []string
	}{
		{"unknown fault", "ramp: {fault: slow-n2, param: latency.delay, from: 20ms, to: 400ms}",
			[]string{`11:15: ramp.fault: unknown fault "slow-n2"; allowed: slow-n1, kill, thin, rst; did you mean "slow-n1"?`}},
		{"unknown param", "ramp: {fault: slow-n1, param: latency.dealy, from: 20ms, to: 400ms}",
			[]string{`11:31: ramp.param: unknown param "latency.dealy"; allowed for slow-n1: latency.delay, latency.jitter, workload.rate, latency.pick.count; did you mean "latency.delay"?`}},
		{"param of another kind", "ramp: {fault: kill, param: latency.delay, from: 20ms, to: 400ms}",
			[]string{`11:28: ramp.param: latency.delay is a parameter of a latency fault, and faults[1] (kill) is a crash fault; allowed for it: workload.rate, crash.pick.count`}},
		{"a fault's param without the fault", "ramp: {param: latency.delay, from: 20ms, to: 400ms}",
			[]string{`11:15: ramp.param: latency.delay is a parameter of a latency fault: name the fault in ramp.fault`}},
		{"pick count of named nodes", "ramp: {fault: slow-n1, param: latency.pick.count, from: 1, to: 3}",
			[]string{`11:31: ramp.param: latency.pick.count ramps how many members faults[0] (slow-n1) picks, and it names its members`}},
		{"a number for a duration", "ramp: {fault: slow-n1, param: latency.delay, from: 20, to: 400ms}",
			[]string{`11:52: ramp.from: 20 is a number; latency.delay takes a duration such as 20ms`}},
		{"a duration for a rate", "ramp: {param: workload.rate, from: 50ms, to: 400}",
			[]string{`11:36: ramp.from: 50ms is a duration; workload.rate takes a number of requests per second such as 200`}},
		{"a quoted number", `ramp: {param: workload.rate, from: "50", to: 400}`,
			[]string{`11:36: ramp.from: "50" is quoted`}},
		{"not whole milliseconds", "ramp: {fault: slow-n1, param: latency.delay, from: 20500us, to: 400ms}",
			[]string{`11:52: ramp.from: 20.5ms is not a whole number of ms`}},
		{"out of range", "ramp: {fault: kill, param: crash.pick.count, from: 1, to: 4}",
			[]string{`11:59: ramp.to: 4 is out of range for crash.pick.count; allowed: 1 to 3`}},
		{"jitter above the delay", "ramp: {fault: slow-n1, param: latency.jitter, from: 0ms, to: 200ms}",
			[]string{`11:62: ramp.to: 200ms is out of range for latency.jitter; allowed: 0s to 100ms`}},
		{"to below from", "ramp: {fault: slow-n1, param: latency.delay, from: 400ms, to: 20ms}",
			[]string{`11:63: ramp.to: 20ms is below from (400ms); latency.delay grows harsher as it rises`}},
		{"bandwidth upwards", "ramp: {fault: thin, param: bandwidth.rate, from: 16KiB/s, to: 1MiB/s}",
			[]string{`11:63: ramp.to: 1MiB/s is above from (16KiB/s); bandwidth.rate grows harsher as it falls`}},
		{"reset timeout downwards", "ramp: {fault: rst, param: reset.timeout, from: 2s, to: 0s}",
			[]string{`11:56: ramp.to: 0s is below from (2s); reset.timeout grows harsher as it rises`}},
		{"reset timeout too long", "ramp: {fault: rst, param: reset.timeout, from: 0s, to: 1m}",
			[]string{`11:56: ramp.to: 1m0s is out of range for reset.timeout; allowed: 0s to 10s`}},
		{"reset timeout of a latency fault", "ramp: {fault: slow-n1, param: reset.timeout, from: 0s, to: 1s}",
			[]string{`11:31: ramp.param: reset.timeout is a parameter of a reset fault, and faults[0] (slow-n1) is a latency fault`}},
		{"no range", "ramp: {param: workload.rate, from: 50, to: 50}",
			[]string{`11:44: ramp.to: 50 is the value of from; a ramp needs a range`}},
		{"require outside", "ramp: {param: workload.rate, from: 50, to: 100, require: 200}",
			[]string{`11:58: ramp.require: 200 lies outside the ramp's range 50 to 100`}},
		{"steps", "ramp: {param: workload.rate, from: 50, to: 100, steps: 0}",
			[]string{`11:56: ramp.steps: 0 is out of range; allowed: 1 to 20`}},
		{"missing to", "ramp: {param: workload.rate, from: 50}",
			[]string{`11:7: ramp: missing required field to`}},
		{"misspelt field", "ramp: {param: workload.rate, from: 50, to: 100, step: 3}",
			[]string{`11:49: unknown field "step" in ramp; allowed: fault, param, from, to, steps, repeat, require; did you mean "steps"?`}},
		{"with a nemesis", "nemesis: {kinds: [crash]}\nramp: {param: workload.rate, from: 50, to: 100}",
			[]string{`12:1: ramp: a ramp searches one parameter of the file's faults with chaosctl run, and a nemesis draws faults for chaosctl explore`}},
		{"a mapping for a value", "ramp: {param: workload.rate, from: {a: 1}, to: 100}",
			[]string{`11:36: ramp.from: expected a duration (20ms), a bandwidth (64KiB/s) or a number (250), got a mapping`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode("exp.yaml", []byte(rampWith(tc.ramp)))
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Decode error = %v, want a *ValidationError", err)
			}
			checkProblems(t, verr, "exp.yaml", tc.want)
		})
	}
}

func TestRampStepWritesThePlainExperimentOfOneStep(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		g         int64
		check     func(*Experiment) bool
		written   string
	}{
		{"latency delay", "repeat: 2\n" + rampWith("ramp: {fault: slow-n1, param: latency.delay, from: 20ms, to: 400ms}"), 95,
			func(e *Experiment) bool { return e.Faults[0].Latency.Delay == 95*time.Millisecond && e.Repeat == 2 }, "delay: 95ms"},
		{"crash count", rampWith("ramp: {fault: kill, param: crash.pick.count, from: 1, to: 3}"), 2,
			func(e *Experiment) bool { return e.Faults[1].Crash.Pick.Count == 2 }, "count: 2"},
		{"bandwidth", rampWith("ramp: {fault: thin, param: bandwidth.rate, from: 1MB/s, to: 16kB/s}"), 66,
			func(e *Experiment) bool { return e.Faults[2].Bandwidth.Rate == 66000 }, "rate: 66kB/s"},
		{"reset timeout", rampWith("ramp: {fault: rst, param: reset.timeout, from: 0s, to: 2s}"), 750,
			func(e *Experiment) bool { return e.Faults[3].Reset.Timeout == 750*time.Millisecond }, "timeout: 750ms"},
		{"workload rate", rampWith("ramp: {param: workload.rate, from: 50, to: 400, repeat: 3}"), 120,
			func(e *Experiment) bool { return e.Workload.Rate == 120 && e.Repeat == 3 }, "rate: 120"},
		{"partition size", partitionRampFile + "ramp: {fault: cut, param: partition.size, from: 1, to: 4}\n", 3,
			func(e *Experiment) bool {
				p, err := e.Plan(1)
				return err == nil && e.Faults[0].Partition.Size == 3 && len(p.Faults[0].Groups[0]) == 3 && e.Faults[1].Partition.Size == 0
			}, "partition: {mode: isolate, size: 3}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Decode("r.yaml", []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			src, step, err := e.RampStep("r.yaml", []byte(tc.src), tc.g, e.Ramp.Repeat, "step 3 of the ramp")
			if err != nil {
				t.Fatal(err)
			}
			if step.Ramp != nil || !tc.check(step) || !strings.Contains(string(src), tc.written) || !strings.HasPrefix(string(src), "# step 3 of the ramp") {
				t.Errorf("step source:\n%s", src)
			}
		})
	}
	// A fault written through an alias cannot be ramped in place.
	aliased := strings.Replace(rampWith("ramp: {fault: slow-n1, param: latency.delay, from: 20ms, to: 400ms}"),
		"latency: {nodes: [n1], delay: 100ms, jitter: 10ms}}", "latency: *slow}\n  - {name: other, at: 1s, latency: &slow {nodes: [n1], delay: 50ms}}", 1)
	aliased = strings.Replace(aliased, "- {name: slow-n1, at: 1s, latency: *slow}\n  - {name: other, at: 1s, latency: &slow {nodes: [n1], delay: 50ms}}",
		"- {name: other, at: 1s, latency: &slow {nodes: [n1], delay: 50ms}}\n  - {name: slow-n1, at: 1s, latency: *slow}", 1)
	e, err := Decode("a.yaml", []byte(aliased))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.RampStep("a.yaml", []byte(aliased), 95, 1, ""); err == nil || !strings.Contains(err.Error(), "write it out to ramp it") {
		t.Errorf("aliased fault: %v", err)
	}
}

// A GameDay step runs its experiment once: a file with a ramp is refused
// at its ramp:, not run once in silence.
func TestGameDayStepRefusesARamp(t *testing.T) {
	dir := t.TempDir()
	exp := filepath.Join(dir, "exp.yaml")
	src := "apiVersion: chaosctl/v1\nkind: Experiment\nmetadata: {name: x}\nworkload: {rate: 10, duration: 5s}\nchecks: [linearizable]\nramp: {param: workload.rate, from: 10, to: 50}\n"
	if err := os.WriteFile(exp, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := DecodeGameDay(filepath.Join(dir, "gd.yaml"), []byte(gameDayHead+"  - {name: a, experiment: {path: exp.yaml}}\n"))
	if err == nil || !strings.Contains(err.Error(), exp+":6:1: ramp: a GameDay step runs its experiment once") {
		t.Errorf("got %v", err)
	}
}
