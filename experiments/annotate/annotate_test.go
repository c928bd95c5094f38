package annotate_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/experiments/annotate"
	"github.com/chaosctl/chaosctl/experiments/report"
)

func TestFaultsWindows(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 123_456_789, time.UTC)
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	res := &report.Result{Experiment: "quick", Header: report.Header{Ended: t0.Add(30 * time.Second)}, Faults: []report.FaultResult{
		{Name: "slow", Kind: "latency", Targets: []string{"n1", "n2"}, Applied: at(time.Second), Reverted: at(3 * time.Second)},
		{Name: "never", Kind: "crash", Targets: []string{"n3"}, Error: "boom"},
		{Name: "stuck", Kind: "pause", Targets: []string{"n3"}, Applied: at(5 * time.Second), StillApplied: true},
		{Name: "cut", Kind: "partition", Links: []string{"n1→n2"}, Applied: at(6 * time.Second)},
	}}
	as := annotate.Faults(res, "quick-1")
	if len(as) != 3 {
		t.Fatalf("%d annotations, want 3 (the fault that never applied has none): %+v", len(as), as)
	}
	slow := as[0]
	if slow.Time != t0.Add(time.Second).UnixMilli() || slow.TimeEnd != t0.Add(3*time.Second).UnixMilli() {
		t.Errorf("slow: %d..%d", slow.Time, slow.TimeEnd)
	}
	wantTags := []string{"chaosctl", "kind:latency", "fault:slow", "target:n1", "target:n2", "experiment:quick", "run:quick-1"}
	if !slices.Equal(slow.Tags, wantTags) {
		t.Errorf("tags %v, want %v", slow.Tags, wantTags)
	}
	if stuck := as[1]; stuck.TimeEnd != res.Ended.UnixMilli() || !strings.Contains(stuck.Text, "may still be in place") {
		t.Errorf("a fault left in place ends with the run and says so: %+v", stuck)
	}
	if cut := as[2]; !strings.Contains(cut.Text, "n1→n2") || !strings.Contains(cut.Text, "until the run ended") {
		t.Errorf("a partition names its links: %+v", cut)
	}
	b, _ := json.Marshal(slow)
	var fields map[string]any
	_ = json.Unmarshal(b, &fields)
	if len(fields) != 4 || fields["time"] == nil || fields["timeEnd"] == nil || fields["tags"] == nil || fields["text"] == nil {
		t.Errorf("JSON %s: want time, timeEnd, tags, text", b)
	}
}

func TestCheckURL(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:3000", "https://grafana.example.com/grafana"} {
		if err := annotate.CheckURL(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "localhost:3000", "ftp://x", "http://", "http://admin:pw@grafana"} {
		err := annotate.CheckURL(bad)
		if err == nil || strings.Contains(err.Error(), "pw@") {
			t.Errorf("%q: %v; want an error that does not quote credentials", bad, err)
		}
	}
}

// A server that never answers costs one request timeout, and the error
// says what failed; a URL given with the API path is not doubled; no token,
// no Authorization header.
func TestPostBoundedAndShaped(t *testing.T) {
	// The handler holds each request until the client gives up on it or
	// the test ends (a server does not always see a client go away).
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer hang.Close()
	defer close(stop)
	c := annotate.Client{URL: hang.URL, Timeout: 200 * time.Millisecond}
	start := time.Now()
	n, err := c.PostAll(context.Background(), []annotate.Annotation{{Time: 1}, {Time: 2}})
	if n != 0 || err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("PostAll to a server that hangs: %d, %v; want 0 and deadline errors", n, err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("two posts with a 200ms timeout took %s", took)
	}

	var paths, auths []string
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		auths = append(auths, r.Header.Get("Authorization"))
	}))
	defer ok.Close()
	for _, u := range []string{ok.URL, ok.URL + "/", ok.URL + "/api/annotations"} {
		if err := (&annotate.Client{URL: u}).Post(context.Background(), annotate.Annotation{Time: 1}); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	if !slices.Equal(paths, []string{"/api/annotations", "/api/annotations", "/api/annotations"}) || !slices.Equal(auths, []string{"", "", ""}) {
		t.Errorf("paths %v, Authorization %q", paths, auths)
	}
}
