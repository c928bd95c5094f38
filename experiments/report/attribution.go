package report

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// maxAttributedFaults is how many faults an attribution line names; the rest
// are summed.
const maxAttributedFaults = 4

// attributionText says where an SLO's bad events happened, in the same words
// in every report: "bad events: 12 before faults, 30 in kill-n2, 4 in
// recovery, 0 other", with what judge: faults counted. Ratio SLIs have no
// per-second data and are "not attributed"; a result without an attribution
// (written by an older chaosctl) gets no line. faults gives the order in
// which faults are named (the run's).
func attributionText(s SLOResult, faults []FaultResult) string {
	a := s.Attribution
	if a == nil {
		if s.SLI == "ratio" {
			return "bad events: not attributed (a ratio SLI has no per-second data)"
		}
		return ""
	}
	parts := []string{fmt.Sprintf("%d before faults", a.BeforeFaults)}
	var named []string
	seen := map[string]bool{}
	for _, f := range faults {
		if _, ok := a.Faults[f.Name]; ok && !seen[f.Name] {
			named, seen[f.Name] = append(named, f.Name), true
		}
	}
	var rest []string
	for name := range a.Faults {
		if !seen[name] {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	named = append(named, rest...)
	var inFaults []string
	var more, moreFaults int64
	for _, name := range named {
		n := a.Faults[name]
		switch {
		case n == 0:
		case len(inFaults) < maxAttributedFaults:
			inFaults = append(inFaults, fmt.Sprintf("%d in %s", n, name))
		default:
			more += n
			moreFaults++
		}
	}
	switch {
	case len(inFaults) > 0:
		parts = append(parts, inFaults...)
		if moreFaults > 0 {
			parts = append(parts, fmt.Sprintf("%d in %d more faults", more, moreFaults))
		}
	case len(named) > 0:
		parts = append(parts, "0 in fault windows")
	}
	parts = append(parts, fmt.Sprintf("%d in recovery", a.Recovery), fmt.Sprintf("%d other", a.Other))
	text := "bad events: " + strings.Join(parts, ", ")
	if s.Judge == "faults" {
		text += fmt.Sprintf("; judged on the %d the faults caused (judge: faults)", a.FromFaults())
	}
	return text
}

// writeAttributions lists each SLO's attribution under the Markdown SLO
// table (nothing when no SLO has one).
func writeAttributions(b *bytes.Buffer, rows []sloRow) {
	var lines []string
	for _, s := range rows {
		if s.Attribution != "" {
			lines = append(lines, fmt.Sprintf("- %s: %s\n", mdCode(s.Name), mdText(s.Attribution)))
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(b, "%s\n\n", attributionNote)
	for _, l := range lines {
		b.WriteString(l)
	}
	b.WriteString("\n")
}

// attributionNote says how bad events are attributed, in the Markdown and
// HTML reports.
const attributionNote = "Bad events by when they happened: before the first fault, in a fault's window (until 5 s after its revert), in recovery (until recoveryWithin after the last fault), or other."
