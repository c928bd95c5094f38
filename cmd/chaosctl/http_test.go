package main

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/injectors"
)

// TestHTTPAbortOnTheClientLink runs the demo cluster (process runtime) with
// an http fault that answers half of the workload's reads 503: the fault's
// receipts count the aborted requests, their share of the matching ones is
// the fault's, and the workload saw every one of them as a failed read in
// the fault's window.
func TestHTTPAbortOnTheClientLink(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	res, stdout, stderr, code := runExperiment(t, "testdata/http-abort.yaml")
	if code != 0 || res == nil || res.Verdict != report.Pass {
		t.Fatalf("exit %d, verdict %v\nstdout:\n%s\nstderr:\n%s", code, res, stdout, tail(stderr, 30))
	}
	if len(res.Faults) != 1 || res.Faults[0].Kind != injectors.KindHTTP {
		t.Fatalf("faults %+v", res.Faults)
	}
	f := res.Faults[0]
	if f.Receipt == nil || !f.Receipt.Verified || f.RevertReceipt == nil || !f.RevertReceipt.Verified {
		t.Fatalf("receipts: applied %+v, reverted %+v", f.Receipt, f.RevertReceipt)
	}
	var aborted, matched float64
	for _, c := range f.RevertReceipt.Checks {
		if c.Value == nil || !strings.HasPrefix(c.Subject, "link client→") {
			continue
		}
		aborted += *c.Value
		var m, r, a, status int
		if _, err := fmt.Sscanf(c.Got, "removed; it matched %d of %d requests, aborted %d with %d", &m, &r, &a, &status); err != nil {
			t.Fatalf("revert receipt check %q: %v", c.Got, err)
		}
		matched += float64(m)
		if status != 503 || float64(a) != *c.Value {
			t.Errorf("revert receipt check %q: value %v", c.Got, *c.Value)
		}
	}
	// 50% of about 100 × 0.9 × 5 reads; binomial, 5σ either side.
	if matched < 200 {
		t.Fatalf("the fault matched %v reads; want the reads of its 5 s window", matched)
	}
	share, sigma := aborted/matched, math.Sqrt(0.25/matched)
	if math.Abs(share-0.5) > 5*sigma {
		t.Errorf("aborted %v of %v matching reads (%.1f%%), want 50%% ± %.1f%%", aborted, matched, 100*share, 500*sigma)
	}
	var reads *report.SLOResult
	for i := range res.SLOs {
		if res.SLOs[i].Name == "reads" {
			reads = &res.SLOs[i]
		}
	}
	if reads == nil || reads.Attribution == nil {
		t.Fatalf("no attribution of the reads SLO: %+v", res.SLOs)
	}
	// Every aborted read reached the workload as a failure, in the fault's
	// window (a busy machine may add failures of its own, never remove one).
	if got := float64(reads.Attribution.Faults["half-reads"]); got < aborted {
		t.Errorf("the workload saw %v failed reads in the fault's window, fewer than the %v the fault aborted", got, aborted)
	}
}
