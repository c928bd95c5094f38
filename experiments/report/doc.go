// Package report renders a run: the result.json schema (Result), the journal
// of events (journal.ndjson), and the reports made from them: the terminal
// summary, junit.xml, summary.md and report.html. Every renderer reads a
// Result (and, where it draws over time, the journal), so `chaosctl report
// DIR` can re-render a finished run from its output folder.
//
// result.json is a stable schema: fields are only ever added. Times are
// RFC 3339 with milliseconds in UTC; fractions are fractions (consumed 1.0 is
// the whole budget), durations in probe values are seconds. Each SLO says
// the rule that judged it (judge: run or faults) and, unless its SLI is a
// Prometheus ratio, its bad events attributed to before the faults, each
// fault's window (until 5 s after its revert), recovery and other, summing
// to its bad events (Attribution); the reports print the same split.
//
// # Reports
//
// Re-render a run folder (all formats, or the ones named):
//
//	if err := report.Render(dir); err != nil { ... }           // report.html, summary.md, junit.xml
//	if err := report.Render(dir, report.FormatHTML); err != nil { ... }
//
// Or render a run held in memory, or several runs into one JUnit file:
//
//	run, err := report.LoadRun(dir)                    // result.json + journal.ndjson + experiment.yaml
//	err = report.WriteHTML(w, run)                     // one self-contained page, charts as inline SVG
//	err = report.WriteMarkdown(w, run)                 // GitHub-flavoured summary
//	err = report.WriteJUnitFile("junit.xml", a, b)     // one testsuite per run
//	path, err := report.AppendGitHubStepSummary(md)    // when $GITHUB_STEP_SUMMARY is set
//
// A repeat's parent folder (`chaosctl run --repeat N`) holds a result.json
// of its own, RepeatResult (ReadRepeatJSON tells the two apart), and its
// summary.md and junit.xml (WriteRepeatReports, RenderRepeat): a testsuite
// for the repeat, whose "pass rate" case the pass-rate policy judges, then
// one per run.
//
// A ramp's parent folder (a file with a ramp section) holds RampResult
// (ReadRampJSON tells it apart by its margin section) and its summary.md,
// junit.xml and report.html (WriteRampReports, RenderRamp): a testsuite for
// the ramp, whose "margin" case its verdict judges, then one per step, read
// from the steps' folders; the page charts each SLO's budget consumed
// against the ramped value.
// A run with a control run (control: true, --control) carries the
// comparison in Result.Control (ControlResult): per availability and
// latency SLO, the two runs' per-second medians, the effect with its 95 %
// interval, the Mann-Whitney p-value, the degradation limit and verdict.
// Every report shows it ("Against the control run"); JUnit has a case
// "control SLO NAME" per compared SLO, and an SLO the control run excuses
// (it failed there too) is no failed case.
//
// JUnit has one test case per SLO, per probe judgement and per check (plus
// the stop condition, fault errors and run errors when there are any); a
// failure's message carries the figures, an inconclusive judgement is
// skipped with its reason. The shape is the common junit.xsd that Jenkins,
// GitLab and GitHub's reporters read.
//
// # One clock
//
// Every rendering places time at one origin, t = 0 at the end of warmup
// (Result.MeasuredStart; estimated from the journal's seconds for results
// written before it), where a fault's `at` in the experiment file counts
// from, and gives the UTC wall-clock time beside it: the run's start, t = 0
// and end, each fault's applied and reverted times, the stop condition.
// Burn rates are (bad ÷ eligible) ÷ (1 − objective) over a window, always
// named with it: "burn rate (whole run)" in the SLO tables, "burn rate
// (last 5s)" for the stop condition and the journal's burn events.
//
// report.html draws, over t (the x axis names the UTC time of t = 0):
// throughput, error ratio and p50/p99 latency with every fault window
// shaded and labelled; the error-budget burn-down per SLO, bad events so far
// over the whole run's budget, so it never falls, with 100 % and the second
// it was exhausted marked (from the cumulative counts of "burn" events,
// else from the per-second counts for an availability SLO over all
// operations, else a no-data panel saying why); and a USE panel per member
// (CPU, in-flight, shed rate) from "member" events, with the spans it was
// down (a crash's or pause's own window where one explains them), or a note
// that there are none. Every axis has a labelled tick at or above its
// largest value. The charts are drawn with gonum/plot into SVG on the
// server; the page loads nothing.
package report
