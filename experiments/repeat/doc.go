// Package repeat runs one experiment N times and judges the runs together:
// a single run on a shared machine is an anecdote, N runs give a pass rate.
//
// Run i (from 1) has seed S+i-1, S the --seed or the file's seed, and its
// own output folder, runs/<i>-seed-<S+i-1>, inside one parent folder, which
// also holds the aggregate: result.json (report.RepeatResult: the pass rate
// with its Wilson 95 % score interval, each run's seed, verdict, reason and
// folder, per SLO the verdicts and the budget consumed as median, min and
// max, per check and probe the verdicts, and flaky when the runs' verdicts
// differ), summary.md and junit.xml (one testsuite for the repeat, then one
// per run).
//
// # Use
//
//	exp, _ := experiments.Load("examples/quickstart.yaml")
//	out, err := repeat.Repeat(ctx, exp, repeat.Options{File: file, Source: src, Runs: 10, Required: 0.9})
//	// out.Result.Verdict is pass, fail or inconclusive; out.Result.Repeat.Rule
//	// says why ("pass rate 9/10 = 90 % (95 % CI 60–98 %) meets the required 90 %").
//
// # Policy
//
// A repeat requires a pass rate P (default 1: every run): of its N runs at
// least ⌈P·N⌉ must pass. Decide passes it when the passes reach that, fails
// it when they cannot even if every undecided run (inconclusive,
// interrupted or not made) had passed, and leaves it inconclusive
// otherwise. The arithmetic (Wilson, SpreadOf, Flaky, Decide, Aggregate) is
// pure code with table tests.
//
// # Guarantees
//
// Each run is a real run of the runner, which reverts every fault on every
// path out of it. A cancelled context ends the current run (its faults
// reverted) and starts no further one; the aggregate is written and says
// interrupted. Repeat never prints or exits: it logs through the settings'
// logrus entry and returns errors wrapping the runner's.
package repeat
