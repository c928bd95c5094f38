package explore

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/experiments/report"
)

// Floors of shrinking: a fault is not shortened below minFaultLength, nor
// the workload's tail after the last fault below minTail.
const (
	minFaultLength = 500 * time.Millisecond
	minTail        = 2 * time.Second
	timeStep       = 100 * time.Millisecond
)

// shrinker shrinks one failing schedule; every candidate is a real run.
type shrinker struct {
	x      *explorer
	n      int    // the minimal file's number
	reason string // what the failure failed on (Failed()[0]); "" for any fail
	sh     *Shrink
	stop   bool // the budget is spent or the run was interrupted
	runs   int
	// tried holds the candidates already judged (their YAML and workload
	// duration), so ddmin never runs one twice.
	tried map[string]bool
}

// minimise shrinks the failing run rec (schedule s) when asked, measures
// the minimal schedule's reproduction rate and writes minimal-<n>.yaml.
func (x *explorer) minimise(ctx context.Context, n int, rec RunRecord, s experiments.Schedule) error {
	k := &shrinker{x: x, n: n, sh: &Shrink{Minimal: n, Run: rec.Run, Seed: rec.Seed, Steps: []ShrinkStep{}}}
	if len(rec.Failed) > 0 {
		k.reason = rec.Failed[0]
	}
	k.sh.Reason = k.reason
	best := s
	if x.opts.Shrink && x.opts.Replay == nil {
		began := x.opts.Now()
		var err error
		best, err = k.shrink(ctx, s)
		k.sh.Took, k.sh.Runs = x.opts.Now().Sub(began).Round(time.Second).String(), k.runs
		if err != nil {
			x.rep.Shrinks = append(x.rep.Shrinks, *k.sh)
			return err
		}
		x.rep.Shrinks = append(x.rep.Shrinks, *k.sh)
	}
	m := Minimal{File: fmt.Sprintf("minimal-%d.yaml", n), Faults: len(best.Faults), Run: rec.Run, Seed: best.Seed,
		Reason: k.reason, Schedule: scheduleFaults(best), Duration: seconds(best.Duration)}
	for i := range x.opts.Repro {
		if x.spent() {
			break
		}
		r, err := x.run(ctx, best, filepath.Join(fmt.Sprintf("minimal-%d", n), fmt.Sprintf("repro-%02d", i+1)))
		m.Of++
		if k.same(r) {
			m.Reproduced++
		}
		if err != nil {
			x.rep.Minimal = append(x.rep.Minimal, m)
			return err
		}
	}
	src, _, err := x.source(best, minimalHeader(x.opts.File, m))
	if err != nil {
		return err
	}
	x.rep.Minimal = append(x.rep.Minimal, m)
	return x.writeFile(m.File, src)
}

func minimalHeader(file string, m Minimal) string {
	why := "fails"
	if m.Reason != "" {
		why = "fails " + m.Reason
	}
	h := fmt.Sprintf("%s: the smallest fault schedule chaosctl explore found that %s,\nshrunk from run %d (seed %d) of %s to %d fault%s.",
		m.File, why, m.Run, m.Seed, file, m.Faults, plural(m.Faults))
	if m.Of > 0 {
		h += fmt.Sprintf("\nIt failed the same way in %d of %d runs.", m.Reproduced, m.Of)
	}
	return h + "\nRun it again with: chaosctl run " + m.File
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// same reports whether a run failed for the reason being shrunk.
func (k *shrinker) same(r RunRecord) bool {
	if r.Verdict != report.Fail {
		return false
	}
	return k.reason == "" || slices.Contains(r.Failed, k.reason)
}

// fails runs candidate c and reports whether it fails for the same reason:
// up to Tries runs that judge it (an inconclusive run does not count, up to
// Tries more), the first that fails the same way deciding.
func (k *shrinker) fails(ctx context.Context, c experiments.Schedule, change string) (ok bool, err error) {
	if k.stop {
		return false, nil
	}
	var key strings.Builder
	_ = experiments.FormatSchedule(&key, c)
	key.WriteString(c.Duration.String())
	if failed, ok := k.tried[key.String()]; ok {
		return failed, nil
	}
	if k.tried == nil {
		k.tried = map[string]bool{}
	}
	defer func() { k.tried[key.String()] = ok }()
	step := ShrinkStep{Step: len(k.sh.Steps) + 1, Change: change, Faults: len(c.Faults), Schedule: scheduleFaults(c), Duration: seconds(c.Duration)}
	defer func() { k.sh.Steps = append(k.sh.Steps, step) }()
	if _, _, err := k.x.source(c, ""); err != nil {
		// A change the format does not allow (faults that would overlap on
		// one member): not a candidate.
		step.Invalid = err.Error()
		return false, nil
	}
	judged := 0
	for attempt := 0; judged < k.x.opts.Tries && attempt < 2*k.x.opts.Tries; attempt++ {
		if k.x.spent() {
			k.stop = true
			k.x.rep.Stopped = StopBudget
			return false, nil
		}
		k.runs++
		rel := filepath.Join(fmt.Sprintf("shrink-%d", k.n), fmt.Sprintf("step-%02d-%d", step.Step, attempt+1))
		r, err := k.x.run(ctx, c, rel)
		step.Runs = append(step.Runs, StepRun{Dir: rel, Verdict: r.Verdict, Failed: r.Failed})
		if err != nil {
			k.stop = true
			return false, err
		}
		if k.same(r) {
			step.Kept = true
			return true, nil
		}
		if r.Verdict != report.Inconclusive {
			judged++
		}
	}
	return false, nil
}

// shrink delta-debugs s: drop faults (ddmin), move them earlier, shorten
// them, lower their intensities, narrow their partitions, shorten the
// workload. Every change is kept only while the schedule still fails for
// the same reason.
func (k *shrinker) shrink(ctx context.Context, s experiments.Schedule) (experiments.Schedule, error) {
	for _, pass := range []func(context.Context, experiments.Schedule) (experiments.Schedule, error){
		k.dropFaults, k.moveEarlier, k.shorten, k.soften, k.narrowPartitions, k.shortenWorkload,
	} {
		var err error
		if s, err = pass(ctx, s); err != nil || k.stop {
			return s, err
		}
	}
	return s, nil
}

// dropFaults is ddmin over the faults: remove one of gran chunks while the
// rest still fails, refining to single faults, so the result is
// 1-minimal (no single fault can go).
func (k *shrinker) dropFaults(ctx context.Context, s experiments.Schedule) (experiments.Schedule, error) {
	gran := 2
	for len(s.Faults) >= 2 && !k.stop {
		chunks := split(len(s.Faults), gran)
		reduced := false
		for _, c := range chunks {
			cand := s
			cand.Faults = slices.Concat(s.Faults[:c[0]], s.Faults[c[1]:])
			var dropped []string
			for _, f := range s.Faults[c[0]:c[1]] {
				dropped = append(dropped, f.Name)
			}
			ok, err := k.fails(ctx, cand, "drop "+strings.Join(dropped, ", "))
			if err != nil {
				return s, err
			}
			if ok {
				s, reduced = cand, true
				gran = max(gran-1, 2)
				break
			}
		}
		if !reduced {
			if gran >= len(s.Faults) {
				break
			}
			gran = min(2*gran, len(s.Faults))
		}
	}
	return s, nil
}

// split cuts n items into gran chunks of near-equal size, as [from, to).
func split(n, gran int) [][2]int {
	var chunks [][2]int
	for i := range gran {
		from, to := i*n/gran, (i+1)*n/gran
		if to > from {
			chunks = append(chunks, [2]int{from, to})
		}
	}
	return chunks
}

// moveEarlier closes the gap before each fault (from the end of warmup, or
// from the end of the fault before it), moving the faults after it by as
// much.
func (k *shrinker) moveEarlier(ctx context.Context, s experiments.Schedule) (experiments.Schedule, error) {
	for i := 0; i < len(s.Faults) && !k.stop; i++ {
		earliest := time.Duration(0)
		if i > 0 {
			earliest = min(s.Faults[i-1].End(), s.Faults[i].At)
		}
		by := s.Faults[i].At - earliest
		if by < timeStep {
			continue
		}
		cand := shifted(s, i, -by)
		ok, err := k.fails(ctx, cand, fmt.Sprintf("move %s to %s", s.Faults[i].Name, earliest))
		if err != nil {
			return s, err
		}
		if ok {
			s = cand
		}
	}
	return s, nil
}

// shifted is s with fault i and every fault after it moved by d.
func shifted(s experiments.Schedule, i int, d time.Duration) experiments.Schedule {
	s.Faults = cloneFaults(s.Faults)
	for j := i; j < len(s.Faults); j++ {
		s.Faults[j].At += d
	}
	return s
}

// shorten halves each fault's duration while the failure holds (not below
// minFaultLength), moving the faults that followed it earlier by as much.
func (k *shrinker) shorten(ctx context.Context, s experiments.Schedule) (experiments.Schedule, error) {
	for i := 0; i < len(s.Faults) && !k.stop; i++ {
		for !k.stop {
			f := s.Faults[i]
			half := (f.Duration / 2).Round(timeStep)
			if f.Duration == 0 || half < minFaultLength || half >= f.Duration {
				break
			}
			cand := s
			cand.Faults = cloneFaults(s.Faults)
			setLength(&cand.Faults[i], half)
			if i+1 < len(s.Faults) && s.Faults[i+1].At >= f.End() {
				cand = shifted(cand, i+1, half-f.Duration)
			}
			ok, err := k.fails(ctx, cand, fmt.Sprintf("shorten %s to %s", f.Name, half))
			if err != nil {
				return s, err
			}
			if !ok {
				break
			}
			s = cand
		}
	}
	return s, nil
}

// setLength sets a fault's duration (a crash's restart delay with it).
func setLength(f *experiments.Fault, d time.Duration) {
	f.Duration = d
	if f.Crash != nil {
		f.Crash.RestartAfter = d
	}
}

// soften lowers each fault's intensity once: half the delay, skew,
// corrupted share or share of requests an http fault acts on (half an
// http delay's latency once its share is below 2%), twice the bandwidth.
func (k *shrinker) soften(ctx context.Context, s experiments.Schedule) (experiments.Schedule, error) {
	for i := 0; i < len(s.Faults) && !k.stop; i++ {
		cand := s
		cand.Faults = cloneFaults(s.Faults)
		f := &cand.Faults[i]
		var change string
		switch {
		case f.Latency != nil && f.Latency.Delay >= 2*time.Millisecond:
			f.Latency.Delay = (f.Latency.Delay / 2).Round(time.Millisecond)
			change = fmt.Sprintf("delay of %s to %s", f.Name, f.Latency.Delay)
		case f.ClockSkew != nil && f.ClockSkew.Offset.Abs() >= 2*timeStep:
			f.ClockSkew.Offset = (f.ClockSkew.Offset / 2).Round(timeStep)
			change = fmt.Sprintf("skew of %s to %s", f.Name, f.ClockSkew.Offset)
		case f.Corrupt != nil && f.Corrupt.Ratio >= 0.002:
			f.Corrupt.Ratio = asPercent(f.Corrupt.Ratio / 2)
			change = fmt.Sprintf("corrupt share of %s to %s", f.Name, f.Corrupt.Ratio)
		case f.HTTP != nil:
			if change = softenHTTP(f); change == "" {
				continue
			}
		case f.Bandwidth != nil:
			f.Bandwidth.Rate *= 2
			change = fmt.Sprintf("bandwidth of %s to %s", f.Name, f.Bandwidth.Rate)
		default:
			continue
		}
		ok, err := k.fails(ctx, cand, "lower the "+change)
		if err != nil {
			return s, err
		}
		if ok {
			s = cand
		}
	}
	return s, nil
}

// softenHTTP halves the share of requests http fault f acts on, down to
// 1%, then a delay's latency; "" when f is as mild as that gets. A fault
// that acts on the first N requests acts on half as many.
func softenHTTP(f *experiments.Fault) string {
	h := f.HTTP
	var share *experiments.HTTPShare
	switch {
	case h.Abort != nil:
		share = &h.Abort.HTTPShare
	case h.Delay != nil:
		share = &h.Delay.HTTPShare
	case h.Drop != nil:
		share = &h.Drop.HTTPShare
	default:
		return ""
	}
	switch {
	case share.FirstN >= 2:
		share.FirstN /= 2
		return fmt.Sprintf("requests %s acts on to the first %d", f.Name, share.FirstN)
	case share.FirstN == 0 && share.Percent >= 0.02:
		share.Percent = asPercent(share.Percent / 2)
		return fmt.Sprintf("share of requests %s acts on to %s", f.Name, share.Percent)
	case h.Delay != nil && h.Delay.Latency >= 2*time.Millisecond:
		h.Delay.Latency = (h.Delay.Latency / 2).Round(time.Millisecond)
		return fmt.Sprintf("request delay of %s to %s", f.Name, h.Delay.Latency)
	}
	return ""
}

// asPercent rounds a share to 0.1% as a file writes it.
func asPercent(p experiments.Percent) experiments.Percent {
	v, err := experiments.ParsePercent(experiments.Percent(float64(int(p*1000)) / 1000).String())
	if err != nil || v <= 0 {
		return p
	}
	return v
}

// shortenWorkload halves the workload's time after the last fault ends
// while the failure holds, down to minTail.
func (k *shrinker) shortenWorkload(ctx context.Context, s experiments.Schedule) (experiments.Schedule, error) {
	for !k.stop {
		last := time.Duration(0)
		for _, f := range s.Faults {
			last = max(last, f.End(), f.At+time.Millisecond)
		}
		tail := s.Duration - last
		next := (last + max(tail/2, minTail)).Round(timeStep)
		if next >= s.Duration || next < last {
			break
		}
		cand := s
		cand.Duration = next
		ok, err := k.fails(ctx, cand, fmt.Sprintf("shorten the workload to %s", next))
		if err != nil || !ok {
			return s, err
		}
		s = cand
	}
	return s, nil
}

// cloneFaults copies faults deeply enough to change their times, lengths
// and intensities.
func cloneFaults(faults []experiments.Fault) []experiments.Fault {
	out := slices.Clone(faults)
	for i := range out {
		f := &out[i]
		f.Crash, f.Latency, f.ClockSkew = clonePtr(f.Crash), clonePtr(f.Latency), clonePtr(f.ClockSkew)
		f.Corrupt, f.Bandwidth = clonePtr(f.Corrupt), clonePtr(f.Bandwidth)
		if f.HTTP != nil {
			h := *f.HTTP
			h.Abort, h.Delay, h.Drop = clonePtr(h.Abort), clonePtr(h.Delay), clonePtr(h.Drop)
			h.Match.Headers = maps.Clone(h.Match.Headers)
			f.HTTP = &h
		}
	}
	return out
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}
