package gameday

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/chaosctl/chaosctl/experiments/report"
)

// Event kinds of the GameDay timeline.
const (
	EventStepStarted   = "step-started"
	EventStepEnded     = "step-ended"
	EventFaultApplied  = "fault-applied"
	EventFaultReverted = "fault-reverted"
	EventFaultError    = "fault-error"
	EventProbe         = "probe"
	EventNote          = "note"
)

// Event is one line of the GameDay's timeline.
type Event struct {
	Time    time.Time
	Step    int // 1-based
	Name    string
	Kind    string
	Text    string
	Verdict string // step-ended and probe events
}

// Timeline lists every step start and end, fault applied and reverted,
// probe judgement and note of a GameDay in wall-clock order (steps that
// did not run have none).
func Timeline(r *Result) []Event {
	var out []Event
	for _, s := range r.Steps {
		add := func(t *time.Time, kind, verdict, format string, a ...any) {
			if t == nil || t.IsZero() {
				return
			}
			out = append(out, Event{Time: t.UTC(), Step: s.Index, Name: s.Name, Kind: kind, Verdict: verdict, Text: fmt.Sprintf(format, a...)})
		}
		add(s.Started, EventStepStarted, "", "%s step %s started", s.Kind, s.Name)
		for _, n := range s.Notes {
			add(&n.Time, EventNote, "", "note: %s", n.Text)
		}
		if e := s.Experiment; e != nil {
			for _, f := range e.Faults {
				targets := strings.Join(f.Targets, ", ")
				add(f.Applied, EventFaultApplied, "", "fault %s (%s) applied to %s", f.Name, f.Kind, targets)
				add(f.Reverted, EventFaultReverted, "", "fault %s (%s) reverted on %s", f.Name, f.Kind, targets)
				if f.Error != "" {
					add(s.Ended, EventFaultError, report.Inconclusive, "fault %s (%s) failed: %s", f.Name, f.Kind, f.Error)
				}
			}
			for _, p := range e.Probes {
				add(p.At, EventProbe, p.Verdict, "probe %s (%s): %s, %s", p.Name, p.Phase, verdictWord(p.Verdict), p.Reason)
			}
		}
		if s.Ended != nil {
			add(s.Ended, EventStepEnded, s.Verdict, "%s step %s ended: %s, %s", s.Kind, s.Name, verdictWord(s.Verdict), s.Reason)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

func verdictWord(v string) string {
	if v == "" {
		return "UNKNOWN"
	}
	return strings.ToUpper(v)
}

// stepDuration is how long a step ran, "" when it did not.
func stepDuration(s StepResult) string {
	if s.Started == nil || s.Ended == nil {
		return ""
	}
	return s.Ended.Sub(*s.Started).Round(100 * time.Millisecond).String()
}

func clock(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format("15:04:05.000")
}

func gameDayDuration(r *Result) string {
	if r.Started.IsZero() || r.Ended.IsZero() {
		return ""
	}
	return r.Ended.Sub(r.Started).Round(100 * time.Millisecond).String()
}

// meta lists the GameDay's facts for the headers.
func meta(r *Result) []string {
	out := []string{fmt.Sprintf("seed %d", r.Seed)}
	if r.ChaosctlVersion != "" {
		out = append(out, "chaosctl "+r.ChaosctlVersion)
	}
	if r.File != "" {
		out = append(out, "playbook "+r.File)
	}
	if !r.Started.IsZero() {
		out = append(out, "started "+r.Started.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	if d := gameDayDuration(r); d != "" {
		out = append(out, "ran "+d)
	}
	if r.Unattended {
		out = append(out, "unattended (--yes): manual steps skipped")
	} else {
		out = append(out, "interactive")
	}
	return out
}
