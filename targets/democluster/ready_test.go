package democluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/democluster"
)

// fakeMembers serves every member on one real listener: /m/<id>/<path>
// answers 503 until the member has been asked readyAfter times, then 200.
type fakeMembers struct {
	srv        *httptest.Server
	readyAfter int64
	mu         sync.Mutex
	asked      map[string]int64
	paths      []string
}

func newFakeMembers(t *testing.T, readyAfter int64) *fakeMembers {
	f := &fakeMembers{readyAfter: readyAfter, asked: map[string]int64{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, path, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/m/"), "/")
		f.mu.Lock()
		f.asked[id]++
		n := f.asked[id]
		f.paths = append(f.paths, id+" /"+path+"?"+r.URL.RawQuery)
		f.mu.Unlock()
		if n < f.readyAfter {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("starting: " + id + "\nsecond line\n"))
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// readiness reaches member id at the fake's listener; the member's id goes
// in the path, so Addr returns host:port/m/<id>.
func (f *fakeMembers) readiness(timeout time.Duration) democluster.Readiness {
	host := strings.TrimPrefix(f.srv.URL, "http://")
	return democluster.Readiness{
		Timeout: timeout, Interval: time.Millisecond,
		Addr: func(id string) string { return host + "/m/" + id },
	}
}

func TestWaitReadyPollsUntilEveryMemberAnswers(t *testing.T) {
	f := newFakeMembers(t, 3)
	if err := democluster.WaitReady(context.Background(), "/readyz", f.readiness(10*time.Second), "n1", "n2"); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.asked["n1"] != 3 || f.asked["n2"] != 3 {
		t.Fatalf("asked %v: each member until its first 200, and no more", f.asked)
	}
}

func TestWaitReadyTimesOutWithTheMembersStillPending(t *testing.T) {
	f := newFakeMembers(t, 1<<40)
	r := f.readiness(50 * time.Millisecond)
	err := democluster.WaitReady(context.Background(), "/readyz", r, "n1", "n2")
	var nr *democluster.NotReadyError
	if !errors.As(err, &nr) {
		t.Fatalf("err = %v, want a NotReadyError", err)
	}
	if !slices.Equal(nr.Pending, []string{"n1", "n2"}) || nr.Path != "/readyz" || nr.Timeout != 50*time.Millisecond {
		t.Fatalf("NotReadyError %+v", nr)
	}
	// The last answer is the 503, or the deadline cut the last poll short.
	if !errors.Is(err, context.DeadlineExceeded) || nr.Last == nil {
		t.Fatalf("err = %v (last %v): want the deadline and the last answer", err, nr.Last)
	}
	// The message says what was asked and what the first pending member
	// last said (its body's first line), so a failed start can be read.
	if msg := err.Error(); !strings.Contains(msg, "/readyz") || !strings.Contains(msg, "last answer of n1") {
		t.Fatalf("message %q: want the path and n1's last answer", msg)
	}
	if nr.Last.Error() != "status 503: starting: n1" && !errors.Is(nr.Last, context.DeadlineExceeded) {
		t.Fatalf("last answer %q, want the status and the body's first line", nr.Last)
	}
	if want := "members [n1 n2] not ready within 50ms (/readyz; last answer of n1: "; !strings.HasPrefix(err.Error(), want) ||
		!strings.HasSuffix(err.Error(), "): context deadline exceeded") {
		t.Fatalf("err = %q, want %q…): context deadline exceeded", err, want)
	}
}

func TestWaitReadyWithoutAnAddressKeepsPolling(t *testing.T) {
	f := newFakeMembers(t, 1)
	r := f.readiness(10 * time.Second)
	var polls atomic.Int64
	addr := r.Addr
	r.Addr = func(id string) string {
		if polls.Add(1) < 5 {
			return "" // no address yet: a pod without an IP
		}
		return addr(id)
	}
	if err := democluster.WaitReady(context.Background(), "/readyz", r, "n1"); err != nil {
		t.Fatal(err)
	}
	if polls.Load() != 5 {
		t.Fatalf("%d polls, want 5", polls.Load())
	}
}

func TestWaitReadyEndsAtOnceWhenCheckFails(t *testing.T) {
	f := newFakeMembers(t, 1<<40)
	r := f.readiness(time.Minute)
	died := errors.New("n2 exited")
	var checks atomic.Int64
	r.CheckEvery = 3
	r.Check = func(_ context.Context, id string) error {
		checks.Add(1)
		if id == "n2" {
			return died
		}
		return nil
	}
	start := time.Now()
	err := democluster.WaitReady(context.Background(), "/readyz", r, "n1", "n2")
	if !errors.Is(err, died) {
		t.Fatalf("err = %v, want Check's", err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("took %s: a dead member must not cost the timeout", took)
	}
	if checks.Load() != 2 {
		t.Fatalf("%d checks, want 2 (n1 then n2, on the third poll)", checks.Load())
	}
}

func TestWaitReadyStopsWithTheContext(t *testing.T) {
	f := newFakeMembers(t, 1<<40)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := democluster.WaitReady(ctx, "/readyz", f.readiness(time.Minute), "n1")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestWaitStartedWaitsForReadyThenSettledStoreNodes(t *testing.T) {
	f := newFakeMembers(t, 1)
	spec := demo.ClusterSpec{Nodes: 2, Gateways: 1}
	if err := democluster.WaitStarted(context.Background(), spec, f.readiness(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	want := []string{"n1 /readyz?", "n2 /readyz?", "g1 /readyz?", "n1 /readyz?settled=1", "n2 /readyz?settled=1"}
	if !slices.Equal(f.paths, want) {
		t.Fatalf("asked %v, want %v", f.paths, want)
	}
}

func TestCallControl(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		var in map[string]int
		_ = json.NewDecoder(r.Body).Decode(&in)
		_ = json.NewEncoder(w).Encode(map[string]any{"action": r.URL.Path, "n": in["n"] + 1})
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	var out struct {
		Action string `json:"action"`
		N      int    `json:"n"`
	}
	if err := democluster.CallControl(context.Background(), srv.Client(), addr, "tok", "corrupt", map[string]int{"n": 1}, &out); err != nil {
		t.Fatal(err)
	}
	if out.Action != "/control/v1/corrupt" || out.N != 2 {
		t.Fatalf("answer %+v", out)
	}
	err := democluster.CallControl(context.Background(), srv.Client(), addr, "wrong", "corrupt", nil, nil)
	if want := "control corrupt on " + addr + ": status 401: bad token"; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestWaitProbeUsesTheCallersCheck(t *testing.T) {
	var calls atomic.Int64
	probe := func(_ context.Context, hc *http.Client, id string) error {
		if hc == nil || id != "web" {
			t.Errorf("probe(%v, %q)", hc, id)
		}
		if calls.Add(1) < 3 {
			return errors.New("not yet")
		}
		return nil
	}
	r := democluster.Readiness{Timeout: 5 * time.Second, Interval: time.Millisecond}
	if err := democluster.WaitProbe(context.Background(), "tcp", r, probe, "web"); err != nil || calls.Load() != 3 {
		t.Fatalf("err %v after %d probes, want nil after 3", err, calls.Load())
	}
	r.Timeout = 20 * time.Millisecond
	err := democluster.WaitProbe(context.Background(), "tcp", r, func(context.Context, *http.Client, string) error { return errors.New("refused") }, "web")
	var nr *democluster.NotReadyError
	if !errors.As(err, &nr) || nr.Path != "tcp" || nr.Last == nil || nr.Last.Error() != "refused" {
		t.Fatalf("err = %#v, want a NotReadyError naming the check and its last error", err)
	}
}
