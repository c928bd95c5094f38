package gameday

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// WriteMarkdown writes gameday.md: the verdict, the closing table of the
// steps, the timeline of every event with wall-clock times, and each step's
// instructions, expected observations and notes, in GitHub-flavoured
// Markdown.
func WriteMarkdown(w io.Writer, r *Result) error {
	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("## chaosctl GameDay `%s`: %s\n\n", r.GameDay, verdictWord(r.Verdict))
	p("**Verdict: %s.** %s\n\n", verdictWord(r.Verdict), mdText(r.Reason))
	if r.Description != "" {
		p("%s\n\n", mdText(r.Description))
	}
	p("%s\n\n", mdText(strings.Join(meta(r), " · ")))
	p("**Shared target:** %s.\n\n", mdText(r.Target))
	for _, e := range r.Errors {
		p("- **Error:** %s\n", mdText(e))
	}
	if len(r.Errors) > 0 {
		p("\n")
	}

	p("### Steps\n\n")
	p("| # | Step | Kind | Started (UTC) | Duration | Verdict | Reason | Report |\n")
	p("|---:|---|---|---|---:|---|---|---|\n")
	for _, s := range r.Steps {
		link := ""
		if e := s.Experiment; e != nil {
			link = fmt.Sprintf("[report.html](%s)", e.Report)
		}
		reason := s.Reason
		if n := len(s.Notes); n > 0 {
			reason += fmt.Sprintf(" (%d note%s)", n, plural(n))
		}
		p("| %d | %s | %s | %s | %s | **%s** | %s | %s |\n", s.Index, mdCell(s.Name), s.Kind, clock(s.Started), stepDuration(s),
			verdictWord(s.Verdict), mdCell(reason), link)
	}
	p("\n")

	p("### Timeline\n\n")
	if events := Timeline(r); len(events) == 0 {
		p("No step ran.\n\n")
	} else {
		p("| Time (UTC) | Offset | Step | Event |\n|---|---:|---|---|\n")
		for _, e := range events {
			p("| %s | %s | %d. %s | %s |\n", clock(&e.Time), offset(r.Started, e.Time), e.Step, mdCell(e.Name), mdCell(e.Text))
		}
		p("\n")
	}

	p("### Step details\n\n")
	for _, s := range r.Steps {
		p("#### %d. %s (%s): %s\n\n", s.Index, mdText(s.Name), s.Kind, verdictWord(s.Verdict))
		p("%s\n\n", mdText(s.Reason))
		if s.Instructions != "" {
			p("**Instructions:**\n\n%s\n\n", quote(s.Instructions))
		}
		if s.Expect != "" {
			p("**Expected observations:** %s\n\n", mdText(s.Expect))
		}
		for _, n := range s.Notes {
			p("- note at %s UTC: %s\n", clock(&n.Time), mdText(n.Text))
		}
		if len(s.Notes) > 0 {
			p("\n")
		}
		if e := s.Experiment; e != nil {
			p("Experiment `%s`: **%s**, %s (seed %d; [report](%s)).", e.Name, verdictWord(e.Verdict), mdText(e.Reason), e.Seed, filepath.ToSlash(e.Report))
			if e.TargetReplaced {
				p(" The file's own target section was replaced by the shared target.")
			}
			if s.KeysReset > 0 {
				p(" Before it, the workload's %d keys were deleted so the consistency checks start from an empty store.", s.KeysReset)
			}
			p("\n\n")
			for _, f := range e.Faults {
				p("- fault `%s` (%s) on %s: applied %s, reverted %s", f.Name, f.Kind, strings.Join(f.Targets, ", "), orDash(clock(f.Applied)), orDash(clock(f.Reverted)))
				if f.Error != "" {
					p(", error: %s", mdText(f.Error))
				}
				p("\n")
			}
			for _, pr := range e.Probes {
				p("- probe `%s` (%s, window closed %s): **%s**, %s\n", pr.Name, pr.Phase, orDash(clock(pr.At)), verdictWord(pr.Verdict), mdText(pr.Reason))
			}
			if len(e.Faults)+len(e.Probes) > 0 {
				p("\n")
			}
		}
	}
	_, err := w.Write(b.Bytes())
	if err != nil {
		return fmt.Errorf("write %s: %w", FileMarkdown, err)
	}
	return nil
}

// WriteReports writes gameday.html and gameday.md into dir.
func WriteReports(dir string, r *Result) error {
	for _, f := range []struct {
		name  string
		write func(io.Writer, *Result) error
	}{{FileHTML, WriteHTML}, {FileMarkdown, WriteMarkdown}} {
		var buf bytes.Buffer
		if err := f.write(&buf, r); err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(dir, f.name), buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// Render re-renders gameday.html and gameday.md from a GameDay's output
// folder (its gameday.json).
func Render(dir string) error {
	r, err := ReadJSON(dir)
	if err != nil {
		return err
	}
	return WriteReports(dir, r)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// mdText keeps text on one line and escapes what Markdown would take as
// markup at the start of a line or as HTML.
func mdText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(s)
}

// mdCell is mdText for a table cell: pipes are escaped.
func mdCell(s string) string { return strings.ReplaceAll(mdText(s), "|", `\|`) }

// quote renders multi-line text as a block quote.
func quote(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "> " + strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(l)
	}
	return strings.Join(lines, "\n")
}
