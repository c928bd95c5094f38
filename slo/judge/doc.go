// Package judge turns what a run measured into its verdict. It is pure: the
// caller feeds it the workload's closed seconds, the per-second samples of
// the other probes, the SLO tallies, the check results and the fault records;
// it returns probe verdicts, SLO budgets, burn rates, the stop decision and
// the final verdict. It starts no goroutine, does no I/O and reads time only
// through Spec.Now, so every rule of the verdict is tested with table tests
// instead of end-to-end runs.
//
// The rules, in the order they decide:
//
//   - a fault whose revert failed may still be in place: the run is not
//     judged (inconclusive) and the reason says so first; so does a fault
//     whose revert receipt shows it still in place ("FAULT LEFT IN PLACE");
//   - an interrupted run, or one that sent no request, is inconclusive;
//   - a fault whose receipt shows it did not do what the file says ("fault
//     did not land") makes the run inconclusive whatever the SLOs say: they
//     did not judge the fault the file describes. Outcome.ReceiptsWarn
//     (receipts: warn) turns both receipt rules into reports only;
//   - a steady state broken before the first fault makes a run with faults
//     inconclusive (unless a consistency check failed: an anomaly is
//     evidence whatever the load): its stop condition fired before any
//     fault was applied, an SLO judged on the whole run spent its budget
//     before the first fault, or a probe failed before it. The faults were
//     judged against no baseline; Outcome.Host (the machine's load) is
//     named in the reason, for a starved machine is the usual cause;
//   - the stop condition (an SLO burning faster than Abort.BurnRate over
//     Abort.Window) fails the run;
//   - any failed SLO, probe or check fails it, and so does an SLO that the
//     control comparison (Outcome.Control, CompareControl) finds degraded
//     beyond its limit; an SLO that failed in the control run too, and
//     whose kind has a degradation limit, is excused: the comparison
//     decides for it (ControlRule);
//   - any inconclusive SLO, probe or check, or a fault that did not apply,
//     makes it inconclusive; so does having nothing to judge;
//   - else it passes.
//
// Budgets follow the SRE workbook (see slo.Budget). A request the generator
// dropped (could not send on time) is a bad event of every SLO: the user
// intended it, so an overloaded generator cannot hide an overloaded system.
// Warmup seconds count for nothing. A burn rate is (bad ÷ eligible) ÷
// (1 − objective) over a window, named with it: the budget's over the whole
// run, each Burn's over the last Spec.BurnWindow seconds (BurnWindowText,
// "last 5s"), which the stop condition's reason names too. A Burn also
// carries the cumulative bad and eligible counts, from which a burn-down
// against the whole run's budget is drawn.
//
// Attribution: every SLO's bad events are split by the measured second they
// happened in: before the first fault, in each fault's window plus
// SettleMargin (5 s; a second in several windows goes to the fault that
// started most recently), in recovery (from the last fault's end until
// RecoveryWithin after it) and other; the parts sum to the SLO's bad events,
// a remainder the per-second tallies could not place going to other. The
// windows are the applied ones when the caller gives them
// (UseAppliedFaults), else the planned ones. An SLO with Judge JudgeFaults is
// judged on its fault windows and recovery only, against the budget of every
// eligible event of the measured period; the stop condition still watches
// every bad event.
//
// Probe windows: a probe is judged "before" over the Window that ends where
// the first fault starts; "after" in the first Window, starting within
// RecoveryWithin of the last fault's end, in which it holds; and "during"
// over the seconds between the first fault's start and the last one's end
// when it asks. Without faults only "before" is judged, over the Window that
// ends with the measured period.
//
// Control runs: Series gives an SLO's per-second series (its events and
// its latency at the objective's quantile); CompareControl compares a
// control run's series with an experiment's, a Mann-Whitney U test and the
// effect with its 95 % interval per SLO (slo/stats), and judges them by the
// degradation limits. CausedByFaults says which seconds an SLO with judge:
// faults compares.
//
// Use:
//
//	j := judge.New(spec)
//	step := j.AddSecond(sec)  // each closed second; step.Stop fires once
//	j.AddSample("health", s)  // each second of a series probe
//	res.SLOs = append(res.SLOs, j.Budget(slo, tally))
//	res.Probes = j.Probes()
//	res.Verdict, res.Reason = judge.Decide(judge.Outcome{...})
package judge
