package injectors

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chaosctl/chaosctl/internal/crash"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// How links are probed for receipts. A probe is one HTTP request on a new
// connection through the link's proxy, made by the member at the link's
// start (its reach control) or, for the client side, by chaosctl: the same
// path the traffic takes.
const (
	// cutProbeTimeout is how long a probe of a link that should be cut
	// waits: a cut link (drop, blackhole) hangs until it.
	cutProbeTimeout = 500 * time.Millisecond
	// workProbeTimeout bounds one probe of a link that should work, and
	// workDeadline the retries: one answer proves the link works, so a busy
	// machine costs time, not a false alarm.
	workProbeTimeout = 2 * time.Second
	workDeadline     = 5 * time.Second
	// rttSamples probes measure a round trip (the minimum is kept: noise
	// only adds).
	rttSamples = 3
	// delaySamples probes at most measure a slowed link (sampling stops
	// once the smallest round trip is within the tolerance).
	delaySamples = 6
	// maxWitnesses bounds the links a partition's receipt checks still work.
	maxWitnesses = 12
	// probeParallel bounds the probes in flight.
	probeParallel = 8
)

// linkEffect is what a link fault does to each link it acts on.
type linkEffect int

const (
	effectCut      linkEffect = iota // partition, blackhole: a probe fails
	effectReset                      // reset: a probe fails (the connection is reset, after the fault's timeout)
	effectDelay                      // latency: the round trip grows by the delay
	effectThrottle                   // bandwidth: throughput is at most the rate
)

func subjectOf(l faultplane.Link) string { return "link " + l.String() }

// probeLink probes link l once. unmeasured says why no probe could be made
// (the member at the link's start is down, or has no reach control).
func probeLink(ctx context.Context, t targets.Target, l faultplane.Link, timeout time.Duration, pad int) (ans api.ReachAnswer, unmeasured string) {
	if l.From == faultplane.ClientSide {
		addr := ""
		if ca, ok := t.(targets.ClientAddresser); ok {
			addr = ca.ClientAddr(l.To)
		}
		if addr == "" && t.Plane() != nil {
			addr = t.Plane().Addr(l)
		}
		if addr == "" {
			return ans, "no address for the link"
		}
		req := api.ReachRequest{To: l.To, Pad: pad}
		if t.Runtime() == "external" {
			// A user's service: any HTTP answer shows the link carries data.
			req.Path = "/"
		}
		return api.Reach(ctx, addr, req, timeout), ""
	}
	cctx, cancel := context.WithTimeout(ctx, timeout+3*time.Second)
	defer cancel()
	err := t.Control(cctx, l.From, "reach", api.ReachRequest{To: l.To, Timeout: timeout.String(), Pad: pad}, &ans)
	if err != nil {
		if errors.Is(err, targets.ErrUnsupported) {
			return ans, fmt.Sprintf("%s has no reach control", l.From)
		}
		return ans, fmt.Sprintf("%s's reach control did not answer: %v", l.From, err)
	}
	return ans, ""
}

// probeWorks probes l until one probe succeeds or workDeadline passes.
func probeWorks(ctx context.Context, t targets.Target, l faultplane.Link) (api.ReachAnswer, string) {
	ctx, cancel := context.WithTimeout(ctx, workDeadline)
	defer cancel()
	for {
		ans, un := probeLink(ctx, t, l, workProbeTimeout, 0)
		if ans.OK || ctx.Err() != nil {
			return ans, un
		}
		select {
		case <-ctx.Done():
			return ans, un
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// minRTT probes l up to n times and returns the smallest round trip of the
// probes that succeeded (0, false when none did); stop, when set, ends the
// sampling early once it holds for the minimum so far.
func minRTT(ctx context.Context, t targets.Target, l faultplane.Link, n int, timeout time.Duration, stop func(float64) bool) (float64, bool, string) {
	best, ok, last := math.Inf(1), false, ""
	for i := 0; i < n && ctx.Err() == nil; i++ {
		ans, un := probeLink(ctx, t, l, timeout, 0)
		if un != "" {
			return 0, false, un
		}
		if !ans.OK {
			last = ans.Error
			continue
		}
		best, ok = math.Min(best, ans.RTT), true
		if stop != nil && i >= 1 && stop(best) {
			break
		}
	}
	if !ok {
		return 0, false, last
	}
	return best, true, ""
}

// linkFault is what a link fault's receipts need to know of it.
type linkFault struct {
	effect linkEffect
	cut    []faultplane.Link // the links the fault acts on
	// witnesses are links between the fault's members it must leave
	// working (a partition's other directions and groups).
	witnesses []faultplane.Link
	// reference is, for each link a latency fault slows, a link from the
	// same member that it leaves alone: when the slowed link measures too
	// slow, the reference says how much of that the machine added.
	reference map[faultplane.Link]faultplane.Link
}

// linksFor resolves the links of a link fault for its receipts.
func linksFor(t targets.Target, f Fault, effect linkEffect) (linkFault, error) {
	lf := linkFault{effect: effect}
	plane := t.Plane()
	if plane == nil {
		return lf, fmt.Errorf("the %s target has no fault plane", t.Runtime())
	}
	if _, iso := t.(targets.Isolator); f.Kind == KindPartition && len(f.Links) == 0 && iso && f.Behavior == BehaviorIsolate {
		for _, l := range plane.Links() {
			if slices.Contains(f.Targets, l.From) || slices.Contains(f.Targets, l.To) {
				lf.cut = append(lf.cut, l)
			}
		}
	} else {
		_, links, err := resolveLinks(t, f, f.Kind)
		if err != nil {
			return lf, err
		}
		lf.cut = links
	}
	if effect == effectDelay {
		lf.reference = map[faultplane.Link]faultplane.Link{}
		for _, l := range lf.cut {
			for _, r := range plane.Links() {
				if r.From == l.From && !slices.Contains(lf.cut, r) {
					lf.reference[l] = r
					break
				}
			}
		}
	}
	if f.Kind == KindPartition {
		for _, l := range plane.Links() {
			if len(lf.witnesses) == maxWitnesses {
				break
			}
			if slices.Contains(lf.cut, l) || !slices.Contains(f.Targets, l.From) || !slices.Contains(f.Targets, l.To) {
				continue
			}
			lf.witnesses = append(lf.witnesses, l)
		}
	}
	return lf, nil
}

// linkBaseline probes every link a receipt will check once (the cut links
// rttSamples times, for a latency fault's round trip).
func linkBaseline(ctx context.Context, t targets.Target, f Fault, effect linkEffect) Baseline {
	b := Baseline{Values: map[string]float64{}, Unprobeable: map[string]string{}}
	lf, err := linksFor(t, f, effect)
	if err != nil {
		return b
	}
	var mu sync.Mutex
	// A panic in a probe is passed on to the receipt's goroutine (the
	// run's crash path), where errgroup would end the process.
	var g crash.Group
	g.SetLimit(probeParallel)
	probe := append(slices.Clone(lf.cut), lf.witnesses...)
	for _, r := range lf.reference {
		if !slices.Contains(probe, r) {
			probe = append(probe, r)
		}
	}
	for _, l := range probe {
		g.Go("the baseline probe of "+subjectOf(l), func() {
			rtt, ok, why := minRTT(ctx, t, l, rttSamples, workProbeTimeout, nil)
			mu.Lock()
			defer mu.Unlock()
			if ok {
				b.Values[subjectOf(l)] = rtt
			} else {
				b.Unprobeable[subjectOf(l)] = why
			}
		})
	}
	g.Wait()
	return b
}

// verifyLinks takes a link fault's receipt.
func verifyLinks(ctx context.Context, t targets.Target, f Fault, effect linkEffect, phase Phase, base Baseline) Receipt {
	t0 := time.Now()
	lf, err := linksFor(t, f, effect)
	if err != nil {
		return skipped(t0, "%v", err)
	}
	checks := make([]ReceiptCheck, len(lf.cut)+len(lf.witnesses))
	var g crash.Group
	g.SetLimit(probeParallel)
	for i, l := range lf.cut {
		g.Go("the check of "+subjectOf(l), func() {
			checks[i] = checkLink(ctx, t, f, l, effect, phase, base, lf.reference)
		})
	}
	for i, l := range lf.witnesses {
		g.Go("the check of "+subjectOf(l), func() {
			checks[len(lf.cut)+i] = checkWorks(ctx, t, f, l, base, "works (not cut by this fault)")
		})
	}
	g.Wait()
	what := fmt.Sprintf("%s %s", f.Kind, f.Name)
	if phase == PhaseReverted {
		what += " reverted"
	}
	return conclude(t0, what, checks)
}

// checkLink measures one link the fault acts on.
func checkLink(ctx context.Context, t targets.Target, f Fault, l faultplane.Link, effect linkEffect, phase Phase, base Baseline, refs map[faultplane.Link]faultplane.Link) ReceiptCheck {
	subject := subjectOf(l)
	if why, ok := base.Unprobeable[subject]; ok {
		return ReceiptCheck{Subject: subject, Want: "a probe path", Unmeasured: "it did not answer before the fault either: " + why}
	}
	if phase == PhaseReverted {
		c := checkWorks(ctx, t, f, l, base, "works again")
		if c.OK && effect == effectDelay {
			return checkDelay(ctx, t, f, l, base, refs, true)
		}
		return c
	}
	switch effect {
	case effectDelay:
		return checkDelay(ctx, t, f, l, base, refs, false)
	case effectThrottle:
		return checkThrottle(ctx, t, f, l)
	}
	want, wait := "cut (a probe fails)", cutProbeTimeout
	if effect == effectReset {
		want = "reset (a probe fails)"
		if rt := f.ResetTimeout.Round(time.Millisecond); rt > 0 {
			// The toxic holds the probe's request rt before the reset;
			// waiting for it shows the reset, up to a bound: any failure
			// shows the link carries no data.
			wait += min(rt, workProbeTimeout)
			want = fmt.Sprintf("reset after %s (a probe fails; one waits %s)", rt, wait)
		}
	}
	ans, un := probeLink(ctx, t, l, wait, 0)
	if un != "" {
		return ReceiptCheck{Subject: subject, Want: want, Unmeasured: un}
	}
	if ans.OK {
		return ReceiptCheck{Subject: subject, Want: want, Got: fmt.Sprintf("works: answered %d in %s", ans.Status, seconds(ans.RTT))}
	}
	return ReceiptCheck{Subject: subject, Want: want, Got: "fails: " + shortError(ans.Error), OK: true}
}

// checkWorks probes a link that must carry traffic; a failure another fault
// or a member's state explains is excused.
func checkWorks(ctx context.Context, t targets.Target, f Fault, l faultplane.Link, base Baseline, want string) ReceiptCheck {
	subject := subjectOf(l)
	if why, ok := base.Unprobeable[subject]; ok {
		return ReceiptCheck{Subject: subject, Want: want, Unmeasured: "it did not answer before the fault either: " + why}
	}
	ans, un := probeWorks(ctx, t, l)
	c := ReceiptCheck{Subject: subject, Want: want}
	switch {
	case un != "":
		c.Unmeasured = un
		if why := interference(ctx, t, f, l); why != "" {
			c.Unmeasured += " (" + why + ")"
		}
	case ans.OK:
		c.OK, c.Got = true, fmt.Sprintf("answered in %s", seconds(ans.RTT))
	default:
		c.Got = fmt.Sprintf("fails for %s: %s", workDeadline, shortError(ans.Error))
		c.Excused = interference(ctx, t, f, l)
	}
	return c
}

// checkDelay compares a link's round trip with its baseline: after the
// apply the added time must be the delay ± jitter (within a tolerance);
// after the revert it must be gone.
func checkDelay(ctx context.Context, t targets.Target, f Fault, l faultplane.Link, base Baseline, refs map[faultplane.Link]faultplane.Link, reverted bool) ReceiptCheck {
	subject := subjectOf(l)
	before, ok := base.Values[subject]
	delay, jitter := f.Delay.Round(time.Millisecond).Seconds(), f.Jitter.Round(time.Millisecond).Seconds()
	lo := delay - jitter - math.Max(0.002, 0.1*delay)
	hi := delay + jitter + math.Max(0.025, 0.5*delay)
	floor := delay - jitter - 0.002
	want := fmt.Sprintf("+%s ±%s (accepted %s to %s, or a round trip of at least %s)", seconds(delay), seconds(jitter), seconds(math.Max(lo, 0)), seconds(hi), seconds(math.Max(floor, 0)))
	// A baseline taken on a busy moment is too high (make test-long saw 56
	// ms for a link that answers in 5), so the added time reads low. Every
	// round trip through the toxic carries the whole delay, though: a
	// smallest round trip of at least the delay shows the toxic in place,
	// unless the link was that slow before the fault; then it must also
	// have added half the delay.
	within := func(rtt float64) bool {
		added := rtt - before
		switch {
		case added > hi:
			return false
		case added >= lo:
			return true
		}
		return rtt >= floor && (before < floor || added >= (delay-jitter)/2)
	}
	if reverted {
		want = fmt.Sprintf("no added delay (less than %s)", seconds(delay/2))
		within = func(rtt float64) bool { return rtt-before < delay/2 }
	}
	c := ReceiptCheck{Subject: subject, Want: want, Unit: "s"}
	if !ok {
		c.Unmeasured = "no round trip measured before the fault"
		return c
	}
	rtt, ok, why := minRTT(ctx, t, l, delaySamples, time.Duration(hi*float64(time.Second))+workProbeTimeout, within)
	if !ok {
		if strings.Contains(why, "reach control") {
			c.Unmeasured = why
		} else {
			c.Got = "no probe answered: " + shortError(why)
		}
		return c
	}
	added := rtt - before
	c.Value = floatPtr(added)
	c.OK = within(rtt)
	c.Got = fmt.Sprintf("+%s (round trip %s, %s before)", seconds(added), seconds(rtt), seconds(before))
	if !c.OK {
		c.Excused = machineSlowdown(ctx, t, f, refs[l], base, rtt, within)
	}
	if !c.OK && c.Excused == "" && !reverted {
		c.Excused = interference(ctx, t, f, l)
	}
	return c
}

// machineSlowdown measures the reference link (one the fault leaves alone,
// from the same member) when a slowed link measured outside the tolerance:
// if the reference grew slower than its baseline by enough that the
// measurement, less that growth, is within the tolerance, the machine (a
// busy CPU, a queue in the member), not the fault, added the difference.
func machineSlowdown(ctx context.Context, t targets.Target, f Fault, ref faultplane.Link, base Baseline, rtt float64, within func(float64) bool) string {
	refBase, ok := base.Values[subjectOf(ref)]
	if ref == (faultplane.Link{}) || !ok || interference(ctx, t, f, ref) != "" {
		// No reference, or one another fault acts on: it cannot tell the
		// machine's share.
		return ""
	}
	refRTT, ok, _ := minRTT(ctx, t, ref, rttSamples, workProbeTimeout, nil)
	if !ok {
		return ""
	}
	slowdown := refRTT - refBase
	if slowdown <= 0 || !within(rtt-slowdown) {
		return ""
	}
	return fmt.Sprintf("the machine was slow: %s, which this fault leaves alone, measured +%s over its baseline too", subjectOf(ref), seconds(slowdown))
}

// checkThrottle measures a link's throughput against a bandwidth fault's
// rate: a download long enough to take about half a second at the rate.
func checkThrottle(ctx context.Context, t targets.Target, f Fault, l faultplane.Link) ReceiptCheck {
	subject := subjectOf(l)
	rate := float64(f.BytesPerSecond)
	pad := int(math.Min(math.Max(rate/2, 4000), float64(api.MaxPad)))
	want := fmt.Sprintf("at most %.0f B/s (accepted up to %.0f)", rate, 1.5*rate)
	c := ReceiptCheck{Subject: subject, Want: want, Unit: "B/s"}
	if t.Runtime() == "external" && l.From == faultplane.ClientSide {
		c.Unmeasured = "a user's service has no endpoint that sends a known number of bytes"
		return c
	}
	timeout := time.Duration(3*float64(pad)/rate*float64(time.Second)) + workProbeTimeout
	ans, un := probeLink(ctx, t, l, timeout, pad)
	switch {
	case un != "":
		c.Unmeasured = un
	case !ans.OK:
		c.Got = "the download failed: " + shortError(ans.Error)
	default:
		tp := float64(ans.Bytes) / math.Max(ans.RTT, 1e-6)
		c.Value = floatPtr(tp)
		c.OK = tp <= 1.5*rate
		c.Got = fmt.Sprintf("%.0f B/s (%d bytes in %s)", tp, ans.Bytes, seconds(ans.RTT))
	}
	return c
}

// interference says what else may be acting on link l (another fault's
// toxics or hold, a member that is down or paused), "" when nothing is.
func interference(ctx context.Context, t targets.Target, f Fault, l faultplane.Link) string {
	var why []string
	plane := t.Plane()
	if plane != nil {
		for _, owner := range plane.HeldBy(l) {
			if !strings.HasPrefix(owner, "partition "+f.Name+" #") {
				why = append(why, "held disabled by "+owner)
			}
		}
		if px := plane.Proxy(l); px != nil {
			if toxics, err := px.Toxics(); err == nil {
				for _, tx := range toxics {
					if !strings.HasPrefix(tx.Name, ToxicName(f.Name, "")) {
						why = append(why, "toxic "+tx.Name)
					}
				}
			}
		}
	}
	for _, id := range []string{l.From, l.To} {
		if id == faultplane.ClientSide {
			continue
		}
		if st, un := memberStatus(ctx, t, id); un == "" {
			switch {
			case !st.Running:
				why = append(why, id+" is down")
			case st.Paused:
				why = append(why, id+" is paused")
			}
		}
	}
	if len(why) == 0 {
		return ""
	}
	return "another fault acts on it: " + strings.Join(why, ", ")
}

// seconds formats a duration in seconds for a receipt.
func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(100 * time.Microsecond).String()
}

// shortError keeps the end of a probe's error, which says what happened
// (the URL before it is the same on every probe).
func shortError(s string) string {
	if i := strings.LastIndex(s, ": "); i >= 0 && len(s)-i < 120 {
		return s[i+2:]
	}
	if len(s) > 160 {
		return s[len(s)-160:]
	}
	return s
}
