package injectors

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chaosctl/chaosctl/targets"
)

// Phase says when a receipt is taken.
type Phase string

// Receipt phases.
const (
	// PhaseApplied: just after the fault was applied; the receipt shows it
	// does what the file says.
	PhaseApplied Phase = "applied"
	// PhaseReverted: just after the revert; the receipt shows it is gone.
	PhaseReverted Phase = "reverted"
)

// Receipt is the evidence that a fault did what its file says (taken after
// it was applied) or that it no longer does (taken after its revert). It is
// result.json's faults[].receipt and faults[].revertReceipt.
type Receipt struct {
	// Verified: every check was measured or excused, and each measured one
	// found what the fault promises.
	Verified bool `json:"verified"`
	// Skipped says why nothing could be measured (no probe path: a member
	// with no control endpoint, a runtime that reports no member state). A
	// skipped receipt decides nothing; Verified is false.
	Skipped string `json:"skipped,omitempty"`
	// Summary is one line for the terminal and the reports.
	Summary string         `json:"summary"`
	Checks  []ReceiptCheck `json:"checks,omitempty"`
	// At is when the measurement ended (UTC); Took how long it took.
	At   time.Time `json:"at"`
	Took string    `json:"took"`
}

// ReceiptCheck is one measurement of a receipt: a link probed, a member's
// state read.
type ReceiptCheck struct {
	Subject string `json:"subject"` // "link n1→n2", "member n2"
	Want    string `json:"want"`    // what the fault promises: "cut", "works", "+100ms ±10ms", "paused"
	Got     string `json:"got"`     // what was measured
	OK      bool   `json:"ok"`
	// Value is the measured figure in Unit, where there is one (added
	// round trip in s, throughput in B/s, clock offset in s).
	Value *float64 `json:"value,omitempty"`
	Unit  string   `json:"unit,omitempty"`
	// Excused says why a failed check does not count against the receipt:
	// another fault or a member's state explains it.
	Excused string `json:"excused,omitempty"`
	// Unmeasured says why the check could not be made (the prober is down).
	Unmeasured string `json:"unmeasured,omitempty"`
}

// Failed reports whether the receipt was measured and contradicts the
// fault: it did not land, or after the revert it is still in place.
func (r *Receipt) Failed() bool { return r != nil && !r.Verified && r.Skipped == "" }

// Baseline is what a Verifier measured just before a fault was applied:
// figures by subject (a link's round trip, a member's count of damaged
// values), and the subjects that could not be probed at all.
type Baseline struct {
	Values      map[string]float64
	Unprobeable map[string]string
}

// Verifier is an Injector whose faults can be measured: chaosctl takes a
// baseline just before a fault is applied, then a receipt after it is
// applied and after it is reverted.
type Verifier interface {
	// Baseline measures what Verify compares with.
	Baseline(ctx context.Context, t targets.Target, f Fault) Baseline
	// Verify measures f on t in phase.
	Verify(ctx context.Context, t targets.Target, f Fault, phase Phase, base Baseline) Receipt
}

// Verify takes f's receipt in phase with the registry's verifier of its
// kind; a kind without one gets a skipped receipt.
func (r *Registry) Verify(ctx context.Context, t targets.Target, f Fault, phase Phase, base Baseline) Receipt {
	v, ok := r.verifier(f.Kind)
	if !ok {
		return skipped(time.Now(), "the %s injector takes no receipts", f.Kind)
	}
	return v.Verify(ctx, t, f, phase, base)
}

// Baseline takes f's baseline with the registry's verifier of its kind.
func (r *Registry) Baseline(ctx context.Context, t targets.Target, f Fault) Baseline {
	if v, ok := r.verifier(f.Kind); ok {
		return v.Baseline(ctx, t, f)
	}
	return Baseline{}
}

func (r *Registry) verifier(kind string) (Verifier, bool) {
	inj, err := r.Lookup(kind)
	if err != nil {
		return nil, false
	}
	v, ok := inj.(Verifier)
	return v, ok
}

// skipped is a receipt that measured nothing.
func skipped(t0 time.Time, format string, args ...any) Receipt {
	why := fmt.Sprintf(format, args...)
	now := time.Now()
	return Receipt{Skipped: why, Summary: "not measured: " + why, At: now.UTC(), Took: now.Sub(t0).Round(time.Millisecond).String()}
}

// conclude fills a receipt's verdict and summary from its checks: verified
// when at least one check was measured and every measured check is OK or
// excused.
func conclude(t0 time.Time, what string, checks []ReceiptCheck) Receipt {
	now := time.Now()
	r := Receipt{Checks: checks, At: now.UTC(), Took: now.Sub(t0).Round(time.Millisecond).String()}
	var measured, bad int
	var failures, unmeasured []string
	for _, c := range checks {
		if c.Unmeasured != "" {
			unmeasured = append(unmeasured, c.Subject+": "+c.Unmeasured)
			continue
		}
		measured++
		if !c.OK && c.Excused == "" {
			bad++
			failures = append(failures, fmt.Sprintf("%s: want %s, got %s", c.Subject, c.Want, c.Got))
		}
	}
	switch {
	case measured == 0 && len(unmeasured) > 0:
		r.Skipped = "nothing could be probed (" + strings.Join(unmeasured, "; ") + ")"
		r.Summary = "not measured: " + r.Skipped
	case measured == 0:
		r.Skipped = "nothing to probe"
		r.Summary = "not measured: nothing to probe"
	case bad > 0:
		r.Summary = fmt.Sprintf("%d of %d checks contradict %s: %s", bad, measured, what, joinFirst(failures, 3))
	default:
		r.Verified = true
		r.Summary = fmt.Sprintf("%s: %s", what, plural(measured, "check holds", "checks hold"))
		if len(unmeasured) > 0 {
			r.Summary += fmt.Sprintf(", %d not measured", len(unmeasured))
		}
	}
	return r
}

// joinFirst joins the first n items with "; " and counts the rest.
func joinFirst(items []string, n int) string {
	if len(items) > n {
		return strings.Join(items[:n], "; ") + fmt.Sprintf("; and %d more", len(items)-n)
	}
	return strings.Join(items, "; ")
}

// memberStatus reads member id's state, or says why it cannot.
func memberStatus(ctx context.Context, t targets.Target, id string) (targets.MemberStatus, string) {
	sr, ok := t.(targets.StatusReporter)
	if !ok {
		return targets.MemberStatus{}, fmt.Sprintf("the %s runtime reports no member state", t.Runtime())
	}
	st, err := sr.MemberStatus(ctx, id)
	if errors.Is(err, targets.ErrUnsupported) {
		return targets.MemberStatus{}, err.Error()
	}
	if err != nil {
		return targets.MemberStatus{}, "read its state: " + err.Error()
	}
	return st, ""
}

func floatPtr(f float64) *float64 { return &f }

// plural is "1 check holds" or "3 checks hold".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
