// Package ramp finds an experiment's breaking point: the harshest value of
// one parameter (a latency fault's delay or jitter, a bandwidth, how many
// members a fault picks, the workload's rate) at which every SLO, probe and
// check still holds, and how much margin that leaves.
//
// An experiment file with a ramp section names the parameter and its
// range, from the mild end to the harsh end:
//
//	ramp: {fault: slow-n1, param: latency.delay, from: 20ms, to: 400ms, steps: 6, require: 150ms}
//
// # Search
//
// Search is pure code: a bisection over a grid of whole values (1 ms for a
// delay, 1 kB/s for a bandwidth, 1 for a count or a rate) that calls a
// Probe for each value and never touches a system itself. It probes from,
// then to, then up to steps midpoints between the harshest value that held
// and the mildest that broke. An inconclusive probe is rerun once; one
// inconclusive twice is unknown, and the search stops narrowing above it.
// It assumes the verdict is monotone in intensity and does not check it:
// every figure it reports is a value a probe judged so, but a dip between
// two probes goes unseen. Its tests use fakes (a step function, a noisy one
// with a seeded RNG, a non-monotone one).
//
// # Ramp
//
// Ramp wires Search to real runs. Step n at value V is the file with the
// ramp section removed and V written in (experiments.Experiment.RampStep),
// run in its own folder steps/NN-V inside one parent folder
// (chaosctl-out/<name>-ramp-<UTC time>), with runner.Run, or as a repeat
// (repeat.Repeat, judged by its pass rate) when the ramp asks for more
// than one run per step. Every step runs with the same seed, so the
// members picked and the faults' schedule are the same and only the
// ramped value changes. The parent folder gets result.json
// (report.RampResult, whose margin holds param, holds, breaks, brokenBy
// and every step's value, verdict and folder), summary.md, junit.xml and
// report.html with the SLOs' budget consumed against the ramped value;
// `chaosctl report DIR` re-renders them.
//
// # Verdict
//
// With ramp.require the ramp passes when a value at least as harsh as the
// requirement held, fails when a value no harsher broke, and is otherwise
// inconclusive. Without it, a search that completed passes whatever margin
// it found (the margin is the result), and one left with an unknown value
// in its bracket is inconclusive.
//
// # Use
//
//	exp, _ := experiments.Load("examples/margin-latency.yaml")
//	out, err := ramp.Ramp(ctx, exp, ramp.Options{File: file, Source: src})
//	// out.Result.Margin.Text: "holds to 180ms, breaks at 220ms: fast-reads"
//
// # Guarantees
//
// Each step is a real run of the runner, which reverts every fault on every
// path out of it. A cancelled context ends the current step (its faults
// reverted) and starts no further one; the result is written all the same
// and says interrupted. Ramp never prints or exits: it logs through the
// settings' logrus entry and returns errors wrapping the runner's.
package ramp
