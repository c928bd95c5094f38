// Package explore searches the fault space of an experiment: it draws fault
// schedules from the file's nemesis section (experiments.DrawSchedule, a
// pure function of the file and a run seed), runs each one through the
// experiment runner (experiments/runner) with the file's target, workload,
// SLOs and checks, and stops at the number of runs, the time budget or the
// first failure. A failing schedule is shrunk by delta debugging (drop
// faults, move them earlier, shorten them, lower their intensities, narrow
// their partitions, shorten the workload), keeping a candidate only while
// it fails for the same reason, the same check, SLO or probe; the minimal
// schedule is written as a plain v1 experiment, minimal-<n>.yaml, and its
// reproduction rate measured over K more runs.
//
// The runs share one started target (runner.SharedTarget) where its data
// can be reset (runner.Shareable): started before the first run, readied
// before each other one (SharedTarget.Prepare: the workload's keys deleted
// until no store node holds a value, breakers closed; restarted where a
// run left what a reset cannot clear) and stopped at the end. Options.FreshTarget starts one per run instead.
//
// # Use
//
//	exp, _ := experiments.Load("examples/explore.yaml")
//	out, err := explore.Explore(ctx, exp, explore.Options{File: file, Source: src, Runs: 20, Shrink: true, Repro: 5})
//	// out.Report is explore.json: every run's seed, schedule, verdict and
//	// reason, the shrink steps and the minimal files; out.Dir the folder,
//	// with explore.html, summary.md and each run's own report folder.
//
// # Guarantees
//
// Each run is a real run of the runner, so every fault is reverted on every
// path out of it. Explore never prints or exits: it logs through the
// settings' logrus entry and returns errors wrapping the runner's
// (ErrInterrupted, ErrEnvironment, ErrCrashed, ErrUsage), which the command
// line maps to exit codes; the report is written whatever happens after the
// first run started.
package explore
