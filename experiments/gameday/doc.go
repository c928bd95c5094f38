// Package gameday runs a GameDay playbook (kind: GameDay, decoded and
// validated by experiments.LoadGameDay) against one shared target and
// renders its report: gameday.json, gameday.html and gameday.md.
//
// # Playbook
//
//	apiVersion: chaosctl/v1
//	kind: GameDay
//	metadata: {name: failure-table, description: ...}
//	seed: 7                      # optional; --seed overrides
//	target:                      # the shared target: the demo cluster, process, docker or kubernetes,
//	  runtime: process           # with the defaults of an experiment's target.demo
//	  demo: {nodes: 5, gateways: 1, persistence: disk}
//	steps:
//	  - name: brief              # [a-z0-9-]+, unique; names the step's output folder
//	    manual:
//	      instructions: "..."    # shown to the operator
//	    expect: "..."            # what the team should observe (any step; manual.expect also works)
//	  - name: node-crash
//	    experiment: {path: node-crash.yaml}   # relative to the playbook, in its folder
//	    continueOnFail: true
//	  - name: cut-n1
//	    experiment:
//	      inline: {workload: ..., faults: ..., slos: ..., checks: ...}   # no apiVersion, kind, metadata, target
//	  - {name: settle, wait: 10s}
//	  - name: healthy-again
//	    checkpoint: {duration: 5s, rate: 50, warmup: 1s, probes: [{name: low-errors, metric: error_ratio, max: 1%}]}
//
// A step is exactly one of manual, experiment, wait (above 0, at most 1h)
// and checkpoint. An experiment file named by path is decoded with the
// shared target in place of its own target section (the report says so),
// and must be valid against it: a fault naming n5 fails on a three-node
// shared target, reported at its position in that file (by position and
// field path only: a playbook's errors quote nothing of the files it
// names). The file must lie in the playbook's folder or below it, symlinks
// resolved, or in a folder the caller allows (LoadGameDay's allowedDirs,
// chaosctl gameday --allow-path DIR). An inline
// experiment is an experiment without apiVersion, kind, metadata and target;
// the step's name is its name. A checkpoint is a fault-free experiment of
// Rate requests per second (default 50) for Warmup (default 1s) + Duration
// (1s to 10m) whose steady-state probes are judged over the whole Duration.
// Every problem, in the playbook or in an experiment file, is reported as
// FILE:LINE:COL with the path in the playbook (steps[2].experiment.inline.
// faults[0].crash.nodes[0]), by the decoder of package experiments.
//
// # Running
//
//	gd, err := experiments.LoadGameDay("examples/gameday/failure-table.yaml")
//	out, err := gameday.Run(ctx, gd, gameday.Options{Operator: op, Settings: runner.Settings{OutDir: "gd"}})
//	// out.Result is gameday.json; err wraps runner.ErrUsage (nothing
//	// started), ErrInterrupted or ErrEnvironment.
//
// Run starts the shared target once (runner.StartShared, as an explore
// does), runs the steps in order and stops the target; every experiment
// runs through runner.Run with RunOptions.Target set, so it reverts its
// faults but leaves the target running. Each experiment's seed is --seed, else its own (the file's or
// the inline seed), else the playbook's, else a random one drawn once.
// Before an experiment with consistency checks, the workload's keys are
// deleted until no store node holds a value (SharedTarget.ResetKeys): the
// checkers judge a history from an empty store, and on a shared target the
// keys still hold what earlier steps wrote. The GameDay never restarts its
// target between steps (the team watches that one cluster), so state a
// step leaves (a clock skew's hybrid logical clocks) stays for the next.
//
// Manual steps go to the Operator (the CLI prompts [c]onfirm / [n]ote /
// [a]bort on a terminal); with no Operator (--yes) they are recorded as
// skipped. Notes are kept with their wall-clock time.
//
// A step's verdict is pass, fail or inconclusive (experiments and
// checkpoints, from their result), pass (a completed wait, a confirmed
// manual step), skipped, aborted, interrupted, error or not-run. A failed
// experiment or checkpoint stops the GameDay unless the step sets
// continueOnFail: true; an inconclusive one does not stop it; an
// environment error, an abort and an interruption always do. The remaining
// steps are recorded as not-run with the reason. The GameDay's verdict is
// fail when the operator aborted ("aborted by the operator at step N") or a
// step failed, else inconclusive when a step was inconclusive or hit an
// environment error, else pass; an interrupted GameDay is inconclusive. The
// CLI exits with the matching code (1, 4, 0; 5 for an environment error, 3
// when interrupted).
//
// # Output folder
//
// gameday.json (Result: every step with wall-clock start and end, kind,
// verdict, reason, instructions, expected observations, notes, and for
// experiments a summary with faults, timed probe judgements, SLOs and
// checks), rewritten after every step; steps/<nn>-<name>/ per experiment
// and checkpoint (the run's own result.json, journal, report.html, ...);
// members/ (the shared target's logs); and at the end gameday.html and
// gameday.md. gameday.html is one self-contained page: an SVG timeline (a
// lane per step, faults as bars, probe judgements as diamonds at the time
// their window closed, notes as dots), the same events as a table, each
// step with its expected observations, notes, verdict and a link to its
// report.html, and a closing table. Render re-renders both from
// gameday.json.
package gameday
