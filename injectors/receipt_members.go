package injectors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chaosctl/chaosctl/targets"
)

// memberWant is the state a membership fault promises for its members.
type memberWant int

const (
	wantDown    memberWant = iota // crash, restart: the process or container is gone
	wantPaused                    // pause: frozen
	wantRunning                   // after any revert: running, not frozen, and answering
)

func (w memberWant) String() string {
	switch w {
	case wantDown:
		return "down"
	case wantPaused:
		return "paused"
	}
	return "running and ready"
}

// verifyMembers reads each target member's state as the runtime observes
// it (/proc, docker inspect) and compares it with what the fault promises.
func verifyMembers(ctx context.Context, t targets.Target, f Fault, want memberWant) Receipt {
	t0 := time.Now()
	var checks []ReceiptCheck
	for _, id := range uniq(f.Targets) {
		c := ReceiptCheck{Subject: "member " + id, Want: want.String()}
		st, un := memberStatus(ctx, t, id)
		if un != "" {
			c.Unmeasured = un
			checks = append(checks, c)
			continue
		}
		state := "running"
		switch {
		case !st.Running:
			state = "down"
		case st.Paused:
			state = "paused"
		}
		c.Got = fmt.Sprintf("%s (%s)", state, st.Detail)
		switch want {
		case wantDown:
			c.OK = !st.Running
		case wantPaused:
			c.OK = st.Running && st.Paused
		case wantRunning:
			c.OK = st.Running && !st.Paused
			if c.OK {
				c.OK, c.Got = answers(ctx, t, id, c.Got)
			}
		}
		checks = append(checks, c)
	}
	what := fmt.Sprintf("%s %s", f.Kind, f.Name)
	if want == wantRunning {
		what += " reverted"
	}
	return conclude(t0, what, checks)
}

// answers checks that a running demo member answers its control endpoint
// (it is ready again); members without one count as answering.
func answers(ctx context.Context, t targets.Target, id, got string) (bool, string) {
	cctx, cancel := context.WithTimeout(ctx, workDeadline)
	defer cancel()
	var st struct {
		PID int `json:"pid"`
	}
	err := t.Control(cctx, id, "status", nil, &st)
	switch {
	case errors.Is(err, targets.ErrUnsupported):
		return true, got
	case err != nil:
		return false, got + ", but its control endpoint does not answer: " + err.Error()
	}
	return true, fmt.Sprintf("%s, answering as pid %d", got, st.PID)
}

func uniq(ids []string) []string {
	var out []string
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// memberStatusOf is a demo member's control status, as the receipts of the
// control faults read it.
type memberStatusOf struct {
	PID         int    `json:"pid"`
	ClockOffset string `json:"clockOffset"`
	Corrupted   *int64 `json:"corrupted"`
}

func controlStatus(ctx context.Context, t targets.Target, id string) (memberStatusOf, string) {
	cctx, cancel := context.WithTimeout(ctx, workDeadline)
	defer cancel()
	var st memberStatusOf
	if err := t.Control(cctx, id, "status", nil, &st); err != nil {
		if errors.Is(err, targets.ErrUnsupported) {
			return st, fmt.Sprintf("%s has no control endpoint", id)
		}
		return st, "its control status did not answer: " + err.Error()
	}
	return st, ""
}

// verifyClock reads each target's clock offset from its control status.
func verifyClock(ctx context.Context, t targets.Target, f Fault, want time.Duration) Receipt {
	t0 := time.Now()
	var checks []ReceiptCheck
	for _, id := range uniq(f.Targets) {
		c := ReceiptCheck{Subject: "member " + id, Want: "clock offset " + want.String(), Unit: "s"}
		st, un := controlStatus(ctx, t, id)
		if un != "" {
			c.Unmeasured = un
			checks = append(checks, c)
			continue
		}
		got, err := time.ParseDuration(st.ClockOffset)
		if err != nil {
			c.Got = fmt.Sprintf("no clock offset in its status (%q)", st.ClockOffset)
		} else {
			c.Value, c.OK, c.Got = floatPtr(got.Seconds()), got == want, "clock offset "+got.String()
		}
		checks = append(checks, c)
	}
	what := fmt.Sprintf("clockSkew %s", f.Name)
	if want == 0 {
		what += " reverted"
	}
	return conclude(t0, what, checks)
}

// corruptBaseline reads each target's count of damaged values.
func corruptBaseline(ctx context.Context, t targets.Target, f Fault) Baseline {
	b := Baseline{Values: map[string]float64{}, Unprobeable: map[string]string{}}
	for _, id := range uniq(f.Targets) {
		st, un := controlStatus(ctx, t, id)
		switch {
		case un != "":
			b.Unprobeable["member "+id] = un
		case st.Corrupted == nil:
			b.Unprobeable["member "+id] = "its status has no count of damaged values"
		default:
			b.Values["member "+id] = float64(*st.Corrupted)
		}
	}
	return b
}

// verifyCorrupt compares each target's count of damaged values with the
// baseline: a corrupt fault that damaged nothing (nothing was stored yet)
// did not land.
func verifyCorrupt(ctx context.Context, t targets.Target, f Fault, base Baseline) Receipt {
	t0 := time.Now()
	var checks []ReceiptCheck
	for _, id := range uniq(f.Targets) {
		subject := "member " + id
		want := "values damaged"
		if f.Count > 0 {
			want = fmt.Sprintf("%d values damaged", f.Count)
		}
		c := ReceiptCheck{Subject: subject, Want: want, Unit: "values"}
		before, ok := base.Values[subject]
		if !ok {
			c.Unmeasured = base.Unprobeable[subject]
			if c.Unmeasured == "" {
				c.Unmeasured = "no count before the fault"
			}
			checks = append(checks, c)
			continue
		}
		st, un := controlStatus(ctx, t, id)
		if un != "" || st.Corrupted == nil {
			c.Unmeasured = un
			if c.Unmeasured == "" {
				c.Unmeasured = "its status has no count of damaged values"
			}
			checks = append(checks, c)
			continue
		}
		n := float64(*st.Corrupted) - before
		c.Value, c.Got = floatPtr(n), fmt.Sprintf("%.0f values damaged", n)
		c.OK = n > 0 && (f.Count == 0 || int(n) == f.Count)
		if n == 0 {
			c.Got += " (nothing was stored to damage)"
		}
		checks = append(checks, c)
	}
	return conclude(t0, "corrupt "+f.Name, checks)
}

// The verifiers of the built-in kinds.

// linkVerifier is the Verifier of the link faults (partition, latency,
// bandwidth, reset, blackhole), embedded in their injectors.
type linkVerifier struct{}

// effectOf is what a link fault of kind does to its links.
func effectOf(kind string) linkEffect {
	switch kind {
	case KindLatency:
		return effectDelay
	case KindBandwidth:
		return effectThrottle
	case KindReset:
		return effectReset
	}
	return effectCut
}

// Baseline implements Verifier.
func (linkVerifier) Baseline(ctx context.Context, t targets.Target, f Fault) Baseline {
	return linkBaseline(ctx, t, f, effectOf(f.Kind))
}

// Verify implements Verifier.
func (linkVerifier) Verify(ctx context.Context, t targets.Target, f Fault, phase Phase, base Baseline) Receipt {
	return verifyLinks(ctx, t, f, effectOf(f.Kind), phase, base)
}

// memberVerifier is the Verifier of the faults that change members' process
// state (crash, restart, pause), embedded in their injectors.
type memberVerifier struct{}

// Baseline implements Verifier: the members' state needs none.
func (memberVerifier) Baseline(context.Context, targets.Target, Fault) Baseline { return Baseline{} }

// Verify implements Verifier.
func (memberVerifier) Verify(ctx context.Context, t targets.Target, f Fault, phase Phase, _ Baseline) Receipt {
	switch {
	case phase == PhaseReverted:
		return verifyMembers(ctx, t, f, wantRunning)
	case f.Kind == KindPause:
		return verifyMembers(ctx, t, f, wantPaused)
	}
	return verifyMembers(ctx, t, f, wantDown)
}

// Baseline implements Verifier.
func (ClockSkew) Baseline(context.Context, targets.Target, Fault) Baseline { return Baseline{} }

// Verify implements Verifier.
func (ClockSkew) Verify(ctx context.Context, t targets.Target, f Fault, phase Phase, _ Baseline) Receipt {
	if phase == PhaseReverted {
		return verifyClock(ctx, t, f, 0)
	}
	return verifyClock(ctx, t, f, f.Offset)
}

// Baseline implements Verifier.
func (Corrupt) Baseline(ctx context.Context, t targets.Target, f Fault) Baseline {
	return corruptBaseline(ctx, t, f)
}

// Verify implements Verifier. A corrupt fault has nothing to revert, so its
// reverted phase has nothing to measure.
func (Corrupt) Verify(ctx context.Context, t targets.Target, f Fault, phase Phase, base Baseline) Receipt {
	if phase == PhaseReverted {
		return skipped(time.Now(), "a corrupt fault has nothing to revert")
	}
	return verifyCorrupt(ctx, t, f, base)
}
