// Package runner runs an experiment end to end: it starts the target through
// the runtime registry (targets/runtimes), drives the workload
// (probes/workload), applies and reverts the faults on schedule through the
// injectors' Tracker, samples the probes, feeds every closed second and
// sample to the pure judge (slo/judge), runs the consistency checkers (slo)
// and writes the output folder (experiments/report).
//
// The file format lives apart, in package experiments, so that a program that
// only reads or validates experiment files links neither the Docker SDK nor
// client-go.
//
// # Use
//
//	exp, err := experiments.Load("examples/quickstart.yaml")
//	out, err := runner.Run(ctx, exp, runner.RunOptions{File: "examples/quickstart.yaml", Settings: runner.Settings{Log: log}})
//	// out.Result.Verdict is pass, fail or inconclusive; out.Dir the folder.
//	// err wraps ErrInterrupted or ErrEnvironment when the run could not be
//	// judged normally (a revert failed: exit 5).
//
// # Guarantees
//
// Every fault is reverted on every path out of Run: normal end, error,
// cancellation, panic and the stop condition. A fault whose revert fails
// is recorded as still applied (FaultResult.StillApplied), the verdict says
// so, the error wraps ErrEnvironment, and the fault ledger ends the run as
// revert-failed so that `chaosctl recover` retries it.
//
// Nothing Run writes shows a sensitive value of the experiment
// (experiments.Experiment.Redactor: secrets, members' env, sensitive
// headers): experiment.yaml, the journal, result.json (and so the reports
// and Outcome.Result), its log lines, the ledger and its error are redacted
// as they are written, and the output folder is swept when the run ends
// (the members' own logs) (redact.go).
//
// # Shared targets
//
// A GameDay's steps and an explore's runs share one started demo cluster
// (SharedTarget, started by StartShared and given to each Run as
// RunOptions.Target, which Run neither starts nor stops). Between runs
// Prepare deletes the workload's keys and checks that the target looks as
// a fresh one would (no stored value on any replica, breakers closed, no
// pending hint or write-behind write, no clock offset, every member
// running, the fault plane clean), and restarts it where a run left what
// a reset cannot clear (ReuseBlocker, NextBlocker).
//
// The runner only feeds the judge: which windows a probe is judged in, how
// budgets burn and when the stop condition fires are the judge's rules,
// tested as pure code there.
package runner
