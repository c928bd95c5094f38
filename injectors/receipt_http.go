package injectors

import (
	"context"
	"fmt"
	"time"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/faultplane/httptoxic"
)

// httpLandWait bounds how long an http fault's apply receipt waits for the
// toxics to act on a request (its revert waits for the receipt).
const httpLandWait = 1500 * time.Millisecond

// Baseline implements Verifier: an http fault's receipts read its toxics'
// counts, with nothing to compare.
func (*HTTP) Baseline(context.Context, targets.Target, Fault) Baseline { return Baseline{} }

// Verify implements Verifier. After the apply: both toxics on every link,
// and (within httpLandWait) a request acted on, read from the toxics'
// counts. After the revert: the toxics gone, with the counts read just
// before the revert removed them.
func (h *HTTP) Verify(ctx context.Context, t targets.Target, f Fault, phase Phase, _ Baseline) Receipt {
	t0 := time.Now()
	plane, links, err := resolveLinks(t, f, KindHTTP)
	if err != nil {
		return skipped(t0, "%v", err)
	}
	if phase == PhaseReverted {
		final := h.finalCounts(f.Name)
		checks := make([]ReceiptCheck, 0, len(links))
		for _, l := range links {
			c := ReceiptCheck{Subject: subjectOf(l), Want: "no http toxic of the fault"}
			_, present, err := httpCounts(plane.Proxy(l), f.Name)
			switch {
			case err != nil:
				c.Unmeasured = "read the proxy's toxics: " + err.Error()
			case present:
				c.Got = "its request toxic is still on the proxy"
			default:
				c.OK, c.Got = true, "removed"
				if n, ok := final[l]; ok {
					c.Got += "; it " + describeCounts(n, f)
					c.Value, c.Unit = floatPtr(float64(n.Aborted+n.Delayed+n.Dropped)), "requests acted on"
				}
			}
			checks = append(checks, c)
		}
		return conclude(t0, fmt.Sprintf("http %s reverted", f.Name), checks)
	}
	deadline := time.Now().Add(httpLandWait)
	for {
		checks, acted, matched := h.readLinks(plane, links, f)
		if acted > 0 || time.Now().After(deadline) || ctx.Err() != nil {
			land := ReceiptCheck{Subject: "requests", Want: "a matching request acted on (" + f.HTTP.Action + ")", Unit: "requests"}
			if acted > 0 {
				land.OK, land.Got, land.Value = true, fmt.Sprintf("%d acted on of %d matching", acted, matched), floatPtr(float64(acted))
			} else {
				land.Unmeasured = fmt.Sprintf("none acted on within %s (%d matching so far)", httpLandWait, matched)
			}
			return conclude(t0, "http "+f.Name, append(checks, land))
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (h *HTTP) readLinks(plane *faultplane.Plane, links []faultplane.Link, f Fault) (checks []ReceiptCheck, acted, matched int64) {
	for _, l := range links {
		c := ReceiptCheck{Subject: subjectOf(l), Want: "the http toxics in place"}
		px := plane.Proxy(l)
		n, present, err := httpCounts(px, f.Name)
		down := false
		if err == nil && present {
			if toxics, terr := px.Toxics(); terr == nil {
				for _, tx := range toxics {
					down = down || (tx.Name == ToxicName(f.Name, streamDown) && tx.Type == httptoxic.Type)
				}
			}
		}
		switch {
		case err != nil:
			c.Unmeasured = "read the proxy's toxics: " + err.Error()
		case !present || !down:
			c.Got = "missing"
		default:
			c.OK, c.Got = true, "in place; it "+describeCounts(n, f)
			acted += n.Aborted + n.Delayed + n.Dropped
			matched += n.Matched
		}
		checks = append(checks, c)
	}
	return checks, acted, matched
}

// describeCounts says what an http toxic did: "matched 12 of 40 requests,
// aborted 3".
func describeCounts(n httptoxic.Counts, f Fault) string {
	s := fmt.Sprintf("matched %d of %d requests", n.Matched, n.Requests)
	switch f.HTTP.Action {
	case HTTPAbort:
		s += fmt.Sprintf(", aborted %d with %d", n.Aborted, f.HTTP.Status)
	case HTTPDelay:
		s += fmt.Sprintf(", delayed %d", n.Delayed)
	case HTTPDrop:
		s += fmt.Sprintf(", dropped %d", n.Dropped)
	}
	if n.Migrated > 0 {
		s += fmt.Sprintf(" (%d requests of connections open before the fault sent on with Connection: close)", n.Migrated)
	}
	return s
}
