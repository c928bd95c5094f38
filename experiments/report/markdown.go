package report

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// GitHubStepSummaryEnv names the file GitHub Actions renders as the job
// summary.
const GitHubStepSummaryEnv = "GITHUB_STEP_SUMMARY"

// WriteMarkdown writes summary.md: the verdict line, the SLO table, probes,
// checks, faults with their windows and the seed, in GitHub-flavoured
// Markdown. The verdict is spelled out (PASS, FAIL, INCONCLUSIVE), so it
// reads the same without colour or emoji.
func WriteMarkdown(w io.Writer, run *Run) error {
	var b bytes.Buffer
	r := run.Result
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }

	p("## chaosctl experiment %s: %s\n\n", mdCode(r.Experiment), verdictWord(r.Verdict))
	p("**Verdict: %s.** %s\n\n", verdictWord(r.Verdict), mdText(r.Reason))
	if r.Description != "" {
		p("%s\n\n", mdText(r.Description))
	}
	meta := []string{"seed " + mdCode(fmt.Sprint(r.Seed))}
	meta = append(meta, headerMeta(r.Header)...)
	if s := runTimes(r, clockOf(run)); s != "" {
		meta = append(meta, s, "ran "+runDuration(r))
	}
	p("%s\n\n", strings.Join(meta, " · "))
	if c := clockOf(run); c.anchored() {
		p("Times: %s.\n\n", OriginText)
	}
	p("**Workload:** %s.\n\n", mdText(workloadLine(r)))
	if s := stopLine(run); s != "" {
		p("**Stopped early:** %s.\n\n", mdText(s))
	}
	if r.Interrupted {
		p("**Interrupted:** the run was cancelled before the end; every fault was reverted.\n\n")
	}

	p("### SLOs\n\n")
	if rows := sloRows(r); len(rows) == 0 {
		p("No SLOs in this experiment.\n\n")
	} else {
		p("| SLO | SLI | Objective | Bad / total | Budget consumed | Burn rate (whole run) | Verdict | Reason |\n")
		p("|---|---|---:|---:|---:|---:|---|---|\n")
		for _, s := range rows {
			p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", mdCell(s.Name), mdCell(s.SLI), s.Objective, s.BadTotal,
				s.Consumed, s.Burn, mdVerdict(s.Verdict), mdCell(s.Reason))
		}
		p("\n")
		writeAttributions(&b, rows)
	}

	if c := r.Control; c != nil {
		p("### Against the control run\n\n")
		p("%s.\n\n", mdText(upperFirst(controlLine(c))))
		p("| SLO | Series | Seconds (control / experiment) | Control | Experiment | Shift | 95%% CI | p | Limit | Verdict |\n")
		p("|---|---|---:|---:|---:|---:|---|---:|---:|---|\n")
		for _, row := range controlRows(r) {
			v := "reported only"
			if row.Verdict != "" {
				v = mdVerdict(row.Verdict)
			}
			if row.Excused {
				v += " (SLO failed in the control run too)"
			}
			p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", mdCell(row.Name), mdCell(row.Series), row.Seconds, mdCell(row.Control),
				mdCell(row.Experiment), row.Effect, row.Interval, row.P, row.Limit, v)
		}
		p("\nRule: %s.\n\n", mdText(c.Rule))
	}

	p("### Steady-state probes\n\n")
	if rows := probeRows(r); len(rows) == 0 {
		p("No steady-state probes in this experiment.\n\n")
	} else {
		p("| Probe | Phase | Metric | Value | Bound | Samples | Verdict | Reason |\n")
		p("|---|---|---|---:|---|---:|---|---|\n")
		for _, pr := range rows {
			p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", mdCell(pr.Name), pr.Phase, mdCell(pr.Metric), mdCell(pr.Value),
				mdCell(pr.Bound), pr.Samples, mdVerdict(pr.Verdict), mdCell(pr.Reason))
		}
		p("\n")
	}

	p("### Consistency checks\n\n")
	if rows := checkRows(r); len(rows) == 0 {
		p("No consistency checks in this experiment.\n\n")
	} else {
		p("| Check | Operations | Keys | Anomalies | Verdict | Detail |\n")
		p("|---|---:|---:|---:|---|---|\n")
		for _, c := range rows {
			p("| %s | %s | %s | %s | %s | %s |\n", mdCell(c.Name), c.Operations, c.Keys, c.Anomalies, mdVerdict(c.Verdict), mdCell(c.Detail))
		}
		p("\n")
		for _, c := range rows {
			if len(c.ByKind)+len(c.Listed) == 0 {
				continue
			}
			p("Anomalies of %s (%s):\n\n", mdCode(c.Name), mdText(strings.Join(c.ByKind, ", ")))
			for _, l := range c.Listed {
				p("- %s\n", mdText(l))
			}
			p("\n")
		}
	}

	p("### Faults\n\n")
	rows, origin := faultRows(run)
	if len(rows) == 0 {
		p("No faults in this experiment.\n\n")
	} else {
		p("Windows in %s.\n\n", origin)
		p("| Fault | Kind | Targets | Window | Duration | Note |\n")
		p("|---|---|---|---|---:|---|\n")
		for _, f := range rows {
			p("| %s | %s | %s | %s | %s | %s |\n", mdCell(f.Name), mdCell(f.Kind), mdCell(f.Targets), f.Window, f.Duration, mdCell(f.Note))
		}
		p("\n")
	}
	if rows := receiptRows(r); len(rows) > 0 {
		p("### Fault receipts\n\n")
		p("What chaosctl measured just after each fault was applied and after it was reverted.\n\n")
		p("| Fault | Phase | State | Evidence | Took |\n")
		p("|---|---|---|---|---:|\n")
		for _, rw := range rows {
			p("| %s | %s | %s | %s | %s |\n", mdCell(rw.Fault), rw.Phase, mdReceiptState(rw.State), mdCell(rw.Summary), rw.Took)
		}
		p("\n")
	}
	if rows := actionRows(r, clockOf(run)); len(rows) > 0 {
		p("### Actions\n\n")
		p("Each action, then its rollback; times in %s.\n\n", mdText(OriginText))
		p("| Action | Step | Ran | Outcome |\n")
		p("|---|---|---|---|\n")
		for _, a := range rows {
			p("| %s | %s | %s | %s |\n", mdCell(a.Name), mdCell(a.Step), a.When, mdCell(a.Outcome))
		}
		p("\n")
	}
	if len(r.Errors) > 0 {
		p("### Errors\n\n")
		for _, e := range r.Errors {
			p("- %s\n", mdText(e))
		}
		p("\n")
	}
	p("Seed %s: run again with `--seed %d` to repeat every random choice.\n", mdCode(fmt.Sprint(r.Seed)), r.Seed)
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write summary.md: %w", err)
	}
	return nil
}

// AppendGitHubStepSummary appends a Markdown summary to the file named by
// $GITHUB_STEP_SUMMARY, separated from what is already there by a blank
// line. It returns the file's path, or "" when the variable is not set
// (nothing is written then).
func AppendGitHubStepSummary(markdown []byte) (string, error) {
	path := os.Getenv(GitHubStepSummaryEnv)
	if path == "" {
		return "", nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return path, fmt.Errorf("open $%s: %w", GitHubStepSummaryEnv, err)
	}
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		markdown = append([]byte("\n"), markdown...)
	}
	if _, err := f.Write(markdown); err != nil {
		_ = f.Close()
		return path, fmt.Errorf("append to $%s: %w", GitHubStepSummaryEnv, err)
	}
	if err := f.Close(); err != nil {
		return path, fmt.Errorf("close $%s: %w", GitHubStepSummaryEnv, err)
	}
	return path, nil
}

// htmlStart matches what GitHub would take as the start of an HTML tag or
// comment.
var htmlStart = regexp.MustCompile(`<([A-Za-z/!?])`)

// htmlEntity matches what would be read as a character reference.
var htmlEntity = regexp.MustCompile(`&([A-Za-z#][A-Za-z0-9]*;)`)

// mdText makes text safe in a Markdown paragraph: no raw HTML, one line.
func mdText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = htmlEntity.ReplaceAllString(s, "&amp;$1")
	return htmlStart.ReplaceAllString(s, "&lt;$1")
}

// mdCell makes text safe in a table cell: also no pipes.
func mdCell(s string) string {
	if s == "" {
		return ""
	}
	return strings.ReplaceAll(mdText(s), "|", `\|`)
}

func mdCode(s string) string {
	if strings.Contains(s, "`") {
		return "``" + s + "``"
	}
	return "`" + s + "`"
}

func mdVerdict(v string) string {
	if v == Fail {
		return "**" + verdictWord(v) + "**"
	}
	return verdictWord(v)
}

// mdReceiptState is a receipt's state in the summary.
func mdReceiptState(state string) string {
	switch state {
	case Pass:
		return "✅ verified"
	case Fail:
		return "❌ **did not hold**"
	}
	return state
}

// upperFirst is s with its first letter in upper case.
func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// headerMeta is the version, runtime and file of a summary's meta line,
// each where known.
func headerMeta(h Header) []string {
	var meta []string
	if h.ChaosctlVersion != "" {
		meta = append(meta, "chaosctl "+mdCode(h.ChaosctlVersion))
	}
	if h.Runtime != "" {
		meta = append(meta, "runtime "+mdCode(h.Runtime))
	}
	if h.File != "" {
		meta = append(meta, "file "+mdCode(h.File))
	}
	return meta
}
