// Package control runs an experiment after a fault-free control run and
// judges the experiment against it: a machine-wide slowdown hits both runs
// alike and does not fail the gate, a fault that really hurts does.
//
// The control run is a plain run of the same file with the same seed,
// target settings and workload on the same runtime, without faults
// (experiments.ControlSource writes it: faults: [], every SLO judged on the
// whole run, no control, degradation, repeat or nemesis). It runs first, in
// the folder control/ inside the experiment's output folder, with its own
// result.json and reports; the experiment then runs into the output folder
// itself, so `chaosctl report DIR` and every reader of a run's folder work
// as before, and DIR/control is a run folder of its own.
//
// The experiment's runner compares each availability and latency SLO's
// per-second series with the control run's (slo/judge.CompareControl:
// a Mann-Whitney U test and the effect with its 95 % interval) and writes
// the comparison into its result.json (control:), terminal table,
// summary.md, junit.xml and report.html. With degradation limits the
// comparison decides: see judge.ControlRule.
//
// # Use
//
//	out, err := control.Run(ctx, exp, control.Options{RunOptions: opts})
//	// out.Result.Control.Verdict: pass, fail, inconclusive, or "" without limits
//
// With repeats, With(runner.Run) is the RunFunc that gives every run of a
// repeat its own control run.
//
// # Guarantees
//
// Both runs are real runs of the runner, which reverts every fault on
// every path out (the control run has none to revert). A cancelled
// context during the control run ends it, starts no experiment, and
// returns runner.ErrInterrupted with the control run's outcome; so does
// any other error of the control run (the experiment would have nothing
// to be compared with). Run never prints or exits.
package control
