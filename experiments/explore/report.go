package explore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
	"go.yaml.in/yaml/v3"
)

// Why an explore stopped.
const (
	StopRuns    = "runs"    // every run was made
	StopBudget  = "budget"  // the time budget was spent
	StopFailure = "failure" // the first failure (then shrunk)
	StopError   = "error"   // a run could not be judged (interrupted, environment)
)

// Report is explore.json.
type Report struct {
	Experiment string `json:"experiment"`
	File       string `json:"file"`
	// Verdict is fail when a run failed, inconclusive when none failed and
	// one was inconclusive (or none ran), pass otherwise.
	Verdict string      `json:"verdict"`
	Reason  string      `json:"reason"`
	Stopped string      `json:"stopped"`
	Seeds   []int64     `json:"seeds"` // the run seeds drawn
	Started time.Time   `json:"started"`
	Ended   time.Time   `json:"ended"`
	Runs    []RunRecord `json:"runs"`
	Shrinks []Shrink    `json:"shrinks"`
	Minimal []Minimal   `json:"minimal"`
	// ToFind is how long the explore took to the end of its first failing
	// run; RunsPerHour counts every run (shrink steps and reproductions
	// included) over the whole explore.
	ToFind      string  `json:"toFind,omitempty"`
	RunCount    int     `json:"runCount"`
	RunsPerHour float64 `json:"runsPerHour"`
	// Target says whether the runs shared one started target.
	Target TargetUse `json:"target"`
}

// TargetUse is how the runs got their target: one started target shared
// (Starts counts its starts, Restarts the runs before which it was
// restarted), or a fresh one per run and why.
type TargetUse struct {
	Shared   bool   `json:"shared"`
	Fresh    string `json:"fresh,omitempty"`
	Starts   int    `json:"starts,omitempty"`
	Restarts int    `json:"restarts,omitempty"`
}

// RunRecord.Target: how a run on the shared target found it.
const (
	TargetStarted   = "started"   // the run that started it
	TargetReset     = "reset"     // its data reset after the run before
	TargetRestarted = "restarted" // restarted after the run before, and why
)

// RunRecord is one run of a drawn schedule.
type RunRecord struct {
	Run     int      `json:"run"`
	Seed    int64    `json:"seed"`
	Verdict string   `json:"verdict"`
	Reason  string   `json:"reason"`
	Failed  []string `json:"failed,omitempty"` // checks, SLOs and probes it failed on
	// Schedule is the faults run; Duration the workload's measured seconds.
	Schedule []ScheduledFault `json:"schedule"`
	Duration float64          `json:"duration"`
	Dir      string           `json:"dir"` // the run's report folder, inside the explore folder
	// Target is how the run found the shared target ("" when it started
	// its own): TargetStarted, TargetReset or "restarted: why".
	Target string `json:"target,omitempty"`
	// Took is the run's time, the shared target's reset before it included.
	Took  string `json:"took"`
	Error string `json:"error,omitempty"`
}

// ScheduledFault is one fault of a schedule: its name, kind, window in
// seconds from the end of warmup, what it acts on, and its line of YAML.
type ScheduledFault struct {
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`
	At       float64  `json:"at"`
	Duration float64  `json:"duration"`
	On       []string `json:"on"`
	YAML     string   `json:"yaml"`
}

// Shrink is the shrinking of one failing run into minimal-<Minimal>.yaml.
type Shrink struct {
	Minimal int          `json:"minimal"`
	Run     int          `json:"run"`
	Seed    int64        `json:"seed"`
	Reason  string       `json:"reason"` // what every kept candidate failed on
	Steps   []ShrinkStep `json:"steps"`
	Took    string       `json:"took"` // shrinking, reproduction runs not included
	Runs    int          `json:"runs"` // runs of candidates
}

// ShrinkStep is one candidate: the change tried, its schedule, its runs
// and whether it was kept (it failed for the same reason).
type ShrinkStep struct {
	Step     int              `json:"step"`
	Change   string           `json:"change"`
	Faults   int              `json:"faults"`
	Kept     bool             `json:"kept"`
	Invalid  string           `json:"invalid,omitempty"` // why the format refused it (not run)
	Runs     []StepRun        `json:"runs"`
	Schedule []ScheduledFault `json:"schedule"`
	Duration float64          `json:"duration"`
}

// StepRun is one run of a shrink candidate.
type StepRun struct {
	Dir     string   `json:"dir"`
	Verdict string   `json:"verdict"`
	Failed  []string `json:"failed,omitempty"`
}

// Minimal is a minimal failing schedule written as a plain v1 experiment,
// and how often it failed the same way over Of more runs.
type Minimal struct {
	File       string           `json:"file"`
	Faults     int              `json:"faults"`
	Reproduced int              `json:"reproduced"`
	Of         int              `json:"of"`
	Run        int              `json:"run"` // the run it was shrunk from
	Seed       int64            `json:"seed"`
	Reason     string           `json:"reason"`
	Schedule   []ScheduledFault `json:"schedule"`
	Duration   float64          `json:"duration"`
}

func seconds(d time.Duration) float64 { return d.Seconds() }

// scheduleFaults describes a schedule's faults for the report.
func scheduleFaults(s experiments.Schedule) []ScheduledFault {
	out := []ScheduledFault{}
	for i := range s.Faults {
		f := &s.Faults[i]
		line, _ := yaml.Marshal(experiments.FaultNode(f))
		out = append(out, ScheduledFault{Name: f.Name, Kind: string(f.Kind()), At: seconds(f.At), Duration: seconds(f.Duration),
			On: faultOn(f), YAML: strings.TrimSpace(string(line))})
	}
	return out
}

// faultOn is what a fault acts on: its nodes or proxies, a partition's
// groups ("n1 | n2 n3") or mode.
func faultOn(f *experiments.Fault) []string {
	if p := f.Partition; p != nil {
		if p.Mode != "" {
			return []string{string(p.Mode)}
		}
		var groups []string
		for _, g := range p.Groups {
			groups = append(groups, strings.Join(g, " "))
		}
		return []string{strings.Join(groups, " | ")}
	}
	if s := f.Selector(); s != nil {
		return append(append([]string{}, s.Nodes...), s.Proxies...)
	}
	return nil
}

// Sentence says how the runs got their target.
func (t TargetUse) Sentence() string {
	switch {
	case !t.Shared && t.Fresh != "":
		return "Every run started and stopped its own target: " + t.Fresh + "."
	case !t.Shared:
		return "No target was started."
	case t.Restarts == 0:
		return "The runs shared one started target, its data reset between runs."
	}
	return fmt.Sprintf("The runs shared a started target, its data reset between runs; it was restarted %d time%s where a run left what a reset cannot clear (see each run's target).", t.Restarts, plural(t.Restarts))
}

// judge sets the verdict and its reason.
func (r *Report) judge() {
	var failed, inconclusive []RunRecord
	for _, run := range r.Runs {
		switch run.Verdict {
		case report.Fail:
			failed = append(failed, run)
		case report.Inconclusive:
			inconclusive = append(inconclusive, run)
		}
	}
	switch {
	case len(failed) > 0:
		r.Verdict = report.Fail
		f := failed[0]
		r.Reason = fmt.Sprintf("run %d (seed %d, %d fault%s) failed: %s", f.Run, f.Seed, len(f.Schedule), plural(len(f.Schedule)), f.Reason)
		for _, m := range r.Minimal {
			r.Reason += fmt.Sprintf("; %s holds %d fault%s", m.File, m.Faults, plural(m.Faults))
			if m.Of > 0 {
				r.Reason += fmt.Sprintf(" and failed the same way in %d of %d runs", m.Reproduced, m.Of)
			}
		}
	case len(r.Runs) == 0:
		r.Verdict, r.Reason = report.Inconclusive, "no run was made"
	case len(inconclusive) > 0:
		r.Verdict = report.Inconclusive
		r.Reason = fmt.Sprintf("no failure in %d run%s; %d inconclusive (run %d: %s)", len(r.Runs), plural(len(r.Runs)), len(inconclusive), inconclusive[0].Run, inconclusive[0].Reason)
	default:
		r.Verdict = report.Pass
		r.Reason = fmt.Sprintf("no failure in %d run%s", len(r.Runs), plural(len(r.Runs)))
	}
	if r.Stopped == StopBudget {
		r.Reason += " (the time budget ran out)"
	}
}

// Write writes explore.json, summary.md and explore.html into dir.
func (r *Report) Write(dir string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", FileJSON, err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileJSON), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", FileJSON, err)
	}
	var md, page bytes.Buffer
	r.writeMarkdown(&md)
	if err := r.writeHTML(&page); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, FileMarkdown), md.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", FileMarkdown, err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileHTML), page.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", FileHTML, err)
	}
	return nil
}

// ReadReport reads explore.json from dir.
func ReadReport(dir string) (*Report, error) {
	return report.ReadJSONFile[Report](filepath.Join(dir, FileJSON))
}

func (r *Report) writeMarkdown(b *bytes.Buffer) {
	fmt.Fprintf(b, "# Explore %s: %s\n\n%s\n\n", r.Experiment, strings.ToUpper(r.Verdict), r.Reason)
	fmt.Fprintf(b, "File `%s`, %d run%s, stopped by: %s, %s; %d runs in all (%.0f an hour)", r.File, len(r.Runs), plural(len(r.Runs)), r.Stopped,
		r.Ended.Sub(r.Started).Round(time.Second), r.RunCount, r.RunsPerHour)
	if r.ToFind != "" {
		fmt.Fprintf(b, "; the first failure after %s", r.ToFind)
	}
	b.WriteString(".\n\n" + r.Target.Sentence() + "\n\n")
	b.WriteString("| run | seed | faults | verdict | reason | report |\n|---|---|---|---|---|---|\n")
	for _, run := range r.Runs {
		var names []string
		for _, f := range run.Schedule {
			names = append(names, f.Name)
		}
		fmt.Fprintf(b, "| %d | %d | %s | %s | %s | [%s](%s/report.html) |\n", run.Run, run.Seed, mdCell(strings.Join(names, ", ")), run.Verdict, mdCell(run.Reason), run.Dir, run.Dir)
	}
	for _, m := range r.Minimal {
		fmt.Fprintf(b, "\n## %s: %d fault%s, failed the same way in %d of %d runs\n\n```yaml\n", m.File, m.Faults, plural(m.Faults), m.Reproduced, m.Of)
		for _, f := range m.Schedule {
			fmt.Fprintf(b, "- %s\n", f.YAML)
		}
		fmt.Fprintf(b, "```\n\n    chaosctl run %s\n", m.File)
	}
	for _, s := range r.Shrinks {
		fmt.Fprintf(b, "\n### Shrinking run %d (failing on %s): %d runs, %s\n\n| step | change | faults | kept |\n|---|---|---|---|\n", s.Run, s.Reason, s.Runs, s.Took)
		for _, st := range s.Steps {
			fmt.Fprintf(b, "| %d | %s | %d | %s |\n", st.Step, mdCell(st.Change), st.Faults, keptWord(st))
		}
	}
}

// mdCell makes s one table cell: pipes escaped, one line, at most 200
// characters (a checker's reason can run long; explore.json has it whole).
func mdCell(s string) string {
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

func keptWord(st ShrinkStep) string {
	switch {
	case st.Invalid != "":
		return "not valid"
	case st.Kept:
		return "kept"
	}
	return "no"
}
