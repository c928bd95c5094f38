package injectors_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
	"github.com/chaosctl/chaosctl/targets/processdemo"
)

// TestHTTPAbortsMatchingRequestsAndReverts applies an http fault to the
// client→g1 link of a real demo: matching GETs are answered 503 by the fault
// plane, PUTs pass; the receipts read the counts; the revert removes it.
func TestHTTPAbortsMatchingRequestsAndReverts(t *testing.T) {
	d := processtest.StartDemo(t, demo.ClusterSpec{Nodes: 3, Gateways: 1}, processdemo.Options{})
	link := faultplane.Link{From: faultplane.ClientSide, To: "g1"}
	base := "http://" + d.Plane().Addr(link) + "/kv/"
	c := &http.Client{Timeout: 5 * time.Second}
	do := func(method, key string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+key, strings.NewReader("v"))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, key, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("X-Chaosctl-Fault") + string(b)
	}
	if st, _ := do("PUT", "a"); st/100 != 2 {
		t.Fatalf("PUT before the fault: %d", st)
	}
	reg := injectors.DefaultRegistry()
	inj, err := reg.Lookup(injectors.KindHTTP)
	if err != nil {
		t.Fatal(err)
	}
	f := injectors.Fault{Name: "abort-gets", Kind: injectors.KindHTTP, Links: []faultplane.Link{link}, Seed: 1,
		HTTP: &injectors.HTTPFault{Method: "GET", PathPrefix: "/kv/", Action: injectors.HTTPAbort, Status: 503, FirstN: 3}}
	ctx := context.Background()
	revert, err := inj.Inject(ctx, d, f)
	if err != nil {
		t.Fatal(err)
	}
	// The first GET goes on the keep-alive connection the PUT opened before
	// the fault: it passes, with Connection: close, and the client
	// reconnects through the fault; then the first 3 GETs are aborted.
	var got []int
	for range 5 {
		st, body := do("GET", "a")
		if st == 503 && !strings.HasPrefix(body, "abort-gets") {
			t.Errorf("a 503 that does not name the fault: %q", body)
		}
		got = append(got, st)
		if st, _ := do("PUT", "a"); st/100 != 2 {
			t.Errorf("a PUT during the fault: %d", st)
		}
	}
	if fmt.Sprint(got) != "[200 503 503 503 200]" {
		t.Errorf("GET statuses %v, want [200 503 503 503 200]", got)
	}
	rec := reg.Verify(ctx, d, f, injectors.PhaseApplied, injectors.Baseline{})
	if !rec.Verified {
		t.Errorf("apply receipt: %+v", rec)
	}
	if err := revert(ctx); err != nil {
		t.Fatal(err)
	}
	rec = reg.Verify(ctx, d, f, injectors.PhaseReverted, injectors.Baseline{})
	if !rec.Verified || len(rec.Checks) != 1 || rec.Checks[0].Value == nil || *rec.Checks[0].Value != 3 {
		t.Errorf("revert receipt: %+v", rec)
	}
	if st, _ := do("GET", "a"); st != 200 {
		t.Errorf("GET after the revert: %d", st)
	}
}
