package workload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
)

// TestAchievedRate runs alone (not parallel) so that its timing is not disturbed.
// The counts are exact on every attempt; the wall-clock checks (sends per
// second, send lateness) get three attempts, because a machine whose CPUs are
// taken by other processes stalls any generator.
func TestAchievedRate(t *testing.T) {
	tests := []struct {
		name     string
		rate     float64
		duration time.Duration
	}{
		{"100 per second", 100, 2 * time.Second},
		{"400 per second", 400, 2 * time.Second},
		{"fractional rate and duration", 33.3, 1500 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var timing []string
			for attempt := 1; attempt <= 3; attempt++ {
				timing = measureRate(t, tc.rate, tc.duration)
				if len(timing) == 0 {
					return
				}
				t.Logf("attempt %d: %s", attempt, strings.Join(timing, "; "))
			}
			t.Errorf("achieved rate off in three attempts: %s", strings.Join(timing, "; "))
		})
	}
}

// measureRate runs the workload once, checks its counts and returns what was
// wrong with its timing.
func measureRate(t *testing.T, rate float64, duration time.Duration) (timing []string) {
	t.Helper()
	srv := newKVServer(t, nil)
	var hist bytes.Buffer
	// Generous timeout and lateness: the counts must not depend on timing.
	cfg := Config{Rate: rate, Duration: duration, ReadRatio: 0.5, History: &hist,
		Timeout: 10 * time.Second, MaxLateness: 10 * time.Second}
	sum, err := runWorkload(t, cfg, newTestDriver(t, 64, srv.URL), 1)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := int64(math.Ceil(rate * duration.Seconds()))
	all := sum.Measured.All
	if all.Scheduled != want || all.Sent != want || all.Dropped != 0 {
		t.Fatalf("scheduled %d, sent %d, dropped %d; want %d, %d, 0", all.Scheduled, all.Sent, all.Dropped, want, want)
	}
	if all.Total != want || all.Bad() != 0 {
		t.Fatalf("total %d, bad %d; want %d, 0 (first errors %v)", all.Total, all.Bad(), want, sum.FirstErrors)
	}
	// The actual send times, from the history, spread at the target rate.
	ops := readHistoryOps(t, hist.Bytes())
	if int64(len(ops)) != want {
		t.Fatalf("history has %d operations, want %d", len(ops), want)
	}
	perSecond := make(map[int64]int)
	for _, op := range ops {
		perSecond[op.Invoke/int64(time.Second)]++
	}
	for s := range int64(duration / time.Second) {
		if got := float64(perSecond[s]); math.Abs(got-rate) > 0.05*rate+1 {
			timing = append(timing, fmt.Sprintf("second %d: %v requests sent, want %v ± 5%%", s, got, rate))
		}
	}
	if p99 := LatencyAt(sum.SendLateness, 99); p99 > 50*time.Millisecond {
		timing = append(timing, fmt.Sprintf("p99 send lateness %s, want <= 50ms", p99))
	}
	return timing
}

func TestDroppedWhenInFlightIsExhausted(t *testing.T) {
	t.Parallel()
	// The server holds every request until the schedule is over: the first four
	// requests take every worker, and every later one finds none and is dropped.
	release := make(chan struct{})
	srv := newKVServer(t, func(w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-release:
			return false
		case <-r.Context().Done():
			return true
		}
	})
	cfg := Config{Rate: 100, Duration: time.Second, ReadRatio: 0.5, MaxInFlight: 4,
		MaxLateness: 5 * time.Millisecond, Timeout: 30 * time.Second}
	w, err := New(cfg, newTestDriver(t, 4, srv.URL), rand.New(rand.NewPCG(1, 0)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	go func() {
		deadline := time.Now().Add(20 * time.Second)
		for w.Progress().Scheduled < 100 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		close(release)
	}()
	sum, err := w.Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	all := sum.Measured.All
	if all.Scheduled != 100 || all.Sent != 4 || all.Dropped != 96 {
		t.Errorf("scheduled %d, sent %d, dropped %d; want 100, 4, 96", all.Scheduled, all.Sent, all.Dropped)
	}
	if all.Total != 4 || all.OK != 4 {
		t.Errorf("total %d, ok %d; want 4, 4", all.Total, all.OK)
	}
	if len(srv.recorded()) != 4 {
		t.Errorf("server saw %d requests, want 4", len(srv.recorded()))
	}
	var perSecondDropped int64
	for _, k := range []OpKind{OpGet, OpPut} {
		perSecondDropped += sum.Measured.Ops[k].Dropped
	}
	if perSecondDropped != 96 {
		t.Errorf("dropped by kind adds up to %d, want 96", perSecondDropped)
	}
}

// stallOnce stalls the server once: every request that arrives within length of
// the first request that arrives at least after from the first one waits until
// the stall ends.
type stallOnce struct {
	from, length time.Duration

	mu        sync.Mutex
	first     time.Time
	until     time.Time
	triggered bool
}

func (s *stallOnce) before(_ http.ResponseWriter, r *http.Request) bool {
	now := time.Now()
	s.mu.Lock()
	if s.first.IsZero() {
		s.first = now
	}
	if !s.triggered && now.Sub(s.first) >= s.from {
		s.triggered = true
		s.until = now.Add(s.length)
	}
	wait := s.until.Sub(now)
	s.mu.Unlock()
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
		}
	}
	return false
}

func TestLatencyIsTimedFromIntendedSendTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		maxInFlight int
		// An open model with enough workers sends on time: the stall shows in
		// the service time too. With one worker the generator queues during the
		// stall: only timing from the intended send time shows it.
		wantServiceTimeStall bool
	}{
		{"open model, enough workers", 0, true},
		{"one worker, generator queues", 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stall := &stallOnce{from: 500 * time.Millisecond, length: 500 * time.Millisecond}
			srv := newKVServer(t, stall.before)
			cfg := Config{Rate: 200, Duration: 2 * time.Second, ReadRatio: 0.9, MaxInFlight: tc.maxInFlight,
				MaxLateness: 30 * time.Second, Timeout: 30 * time.Second}
			sum, err := runWorkload(t, cfg, newTestDriver(t, 16, srv.URL), 1)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			all := sum.Measured.All
			if all.Dropped != 0 || all.Bad() != 0 || all.OK != 400 {
				t.Fatalf("ok %d, bad %d, dropped %d; want 400, 0, 0", all.OK, all.Bad(), all.Dropped)
			}
			// About 100 of 400 requests fall into the stall: p99 is near 500 ms.
			p99, p99Service := LatencyAt(all.Latency, 99), LatencyAt(sum.ServiceTime, 99)
			if p99 < 400*time.Millisecond {
				t.Errorf("p99 latency %s, want >= 400ms (the stall)", p99)
			}
			if tc.wantServiceTimeStall && p99Service < 400*time.Millisecond {
				t.Errorf("p99 service time %s, want >= 400ms: an open model must send during the stall", p99Service)
			}
			if !tc.wantServiceTimeStall && p99Service > p99/4 {
				t.Errorf("p99 service time %s, want far below the p99 latency %s: one request waited, the rest queued in the generator", p99Service, p99)
			}
			if !tc.wantServiceTimeStall && LatencyAt(sum.SendLateness, 99) < 300*time.Millisecond {
				t.Errorf("p99 send lateness %s, want >= 300ms: the queueing must show as lateness", LatencyAt(sum.SendLateness, 99))
			}
		})
	}
}

func TestErrorsAreClassified(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		before func(http.ResponseWriter, *http.Request) bool
		// refused points the driver at a closed port instead.
		refused bool
		class   func(ErrorCounts) int64
		// writesUnknown: bad writes may have taken effect.
		writesUnknown bool
	}{
		{"503", statusServer(http.StatusServiceUnavailable), false, func(e ErrorCounts) int64 { return e.ServerError }, false},
		{"500", statusServer(http.StatusInternalServerError), false, func(e ErrorCounts) int64 { return e.ServerError }, true},
		{"504", statusServer(http.StatusGatewayTimeout), false, func(e ErrorCounts) int64 { return e.ServerError }, true},
		{"429", statusServer(http.StatusTooManyRequests), false, func(e ErrorCounts) int64 { return e.RateLimited }, false},
		{"400", statusServer(http.StatusBadRequest), false, func(e ErrorCounts) int64 { return e.Unexpected }, false},
		{"timeout", hangServer, false, func(e ErrorCounts) int64 { return e.Timeout }, true},
		{"connection refused", nil, true, func(e ErrorCounts) int64 { return e.Transport }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := serverURL(t, tc.refused, tc.before)
			var hist bytes.Buffer
			cfg := Config{Rate: 50, Duration: 400 * time.Millisecond, ReadRatio: 0.5,
				Timeout: 2 * time.Second, History: &hist}
			sum, err := runWorkload(t, cfg, newTestDriver(t, 16, url), 3)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			all := sum.Measured.All
			if all.Total != 20 || all.OK != 0 || all.Bad() != 20 || tc.class(all.Errors) != 20 {
				t.Errorf("total %d, ok %d, bad %d, errors %+v; want every one of 20 in the class",
					all.Total, all.OK, all.Bad(), all.Errors)
			}
			puts, gets := sum.Measured.Ops[OpPut], sum.Measured.Ops[OpGet]
			if puts.Total == 0 || gets.Total == 0 {
				t.Fatalf("puts %d, gets %d; want both", puts.Total, gets.Total)
			}
			wantUnknown := int64(0)
			if tc.writesUnknown {
				wantUnknown = puts.Total
			}
			if puts.Indeterminate != wantUnknown || gets.Indeterminate != 0 {
				t.Errorf("indeterminate puts %d, gets %d; want %d, 0", puts.Indeterminate, gets.Indeterminate, wantUnknown)
			}
			if sum.FirstErrors[ClassServerError]+sum.FirstErrors[ClassRateLimited]+sum.FirstErrors[ClassTimeout]+
				sum.FirstErrors[ClassTransport]+sum.FirstErrors[ClassUnexpected] == "" {
				t.Errorf("no error message kept: %v", sum.FirstErrors)
			}
			for _, op := range readHistoryOps(t, hist.Bytes()) {
				want := OutcomeFail
				if op.Op == OpPut && tc.writesUnknown {
					want = OutcomeUnknown
				}
				if op.Outcome != want || op.Complete == nil {
					t.Errorf("history op %d (%s): outcome %s, complete %v; want %s with a complete time", op.ID, op.Op, op.Outcome, op.Complete, want)
				}
			}
		})
	}
}

func TestWrittenValuesAreUnique(t *testing.T) {
	t.Parallel()
	srv := newKVServer(t, nil)
	cfg := Config{Rate: 200, Duration: time.Second, ReadRatio: 0, Keys: 10, ValueSize: 40,
		Timeout: 30 * time.Second, MaxLateness: 30 * time.Second}
	if _, err := runWorkload(t, cfg, newTestDriver(t, 16, srv.URL), 1); err != nil {
		t.Fatalf("Run: %v", err)
	}
	seen := make(map[string]bool)
	reqs := srv.recorded()
	if len(reqs) != 200 {
		t.Fatalf("server saw %d requests, want 200", len(reqs))
	}
	for _, r := range reqs {
		v := string(r.body)
		if r.method != http.MethodPut || len(v) != 40 {
			t.Errorf("request %s %s with a %d-byte body; want PUT with 40 bytes", r.method, r.key, len(v))
		}
		if seen[v] {
			t.Errorf("value %q written twice", v)
		}
		seen[v] = true
		// v-<client>-<id>-xxx, and the id is the request's.
		parts := strings.SplitN(v, "-", 4)
		if len(parts) != 4 || parts[0] != "v" || "op-"+parts[2] != r.requestID || strings.Trim(parts[3], "x") != "" {
			t.Errorf("value %q does not match v-<client>-<id>-xxx with request id %q", v, r.requestID)
		}
	}
}

func TestSameSeedSameOperations(t *testing.T) {
	t.Parallel()
	// The operations the server received, in ID order: ID, method, key and the
	// value without its client number and padding (both depend on the worker
	// that sent it: the padding fills the value to its size after the number).
	run := func(seed uint64) []string {
		srv := newKVServer(t, nil)
		cfg := Config{Rate: 200, Duration: 500 * time.Millisecond, ReadRatio: 0.5, DeleteRatio: 0.1,
			Distribution: DistributionZipf, Keys: 50, Timeout: 30 * time.Second, MaxLateness: 30 * time.Second}
		if _, err := runWorkload(t, cfg, newTestDriver(t, 16, srv.URL), seed); err != nil {
			t.Fatalf("Run: %v", err)
		}
		type rec struct {
			id  int
			txt string
		}
		var recs []rec
		for _, r := range srv.recorded() {
			var id int
			if _, err := fmt.Sscanf(r.requestID, "op-%d", &id); err != nil {
				t.Fatalf("request id %q: %v", r.requestID, err)
			}
			value := ""
			if parts := strings.SplitN(string(r.body), "-", 3); len(parts) == 3 {
				value = strings.TrimRight(parts[2], "x")
			}
			recs = append(recs, rec{id, fmt.Sprintf("%d %s %s %s", id, r.method, r.key, value)})
		}
		slices.SortFunc(recs, func(a, b rec) int { return a.id - b.id })
		var ops []string
		for _, r := range recs {
			ops = append(ops, r.txt)
		}
		return ops
	}
	a, b, c := run(7), run(7), run(8)
	if len(a) != 100 {
		t.Fatalf("first run sent %d operations, want 100", len(a))
	}
	if !slices.Equal(a, b) {
		t.Errorf("seed 7 twice gave different operations:\n%v\n%v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 7 and 8 gave the same operations")
	}
}

func TestHistoryFormat(t *testing.T) {
	t.Parallel()
	srv := newKVServer(t, nil)
	var hist bytes.Buffer
	cfg := Config{Rate: 200, Duration: time.Second, ReadRatio: 0.5, DeleteRatio: 0.1, Keys: 5, History: &hist,
		Timeout: 30 * time.Second, MaxLateness: 30 * time.Second}
	sum, err := runWorkload(t, cfg, newTestDriver(t, 16, srv.URL), 1)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	wantKeys := []string{"id", "client", "op", "key", "value", "expect", "invoke", "complete", "outcome"}
	lines := bytes.Split(bytes.TrimSuffix(hist.Bytes(), []byte("\n")), []byte("\n"))
	if int64(len(lines)) != sum.Measured.All.Sent {
		t.Fatalf("history has %d lines, want %d", len(lines), sum.Measured.All.Sent)
	}
	written := make(map[string]bool)
	for _, r := range srv.recorded() {
		if r.method == http.MethodPut {
			written[string(r.body)] = true
		}
	}
	var found, notFound, deletes int
	for i, line := range lines {
		// Field names in the documented order.
		dec := json.NewDecoder(bytes.NewReader(line))
		var keys []string
		if _, err := dec.Token(); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				t.Fatalf("line %d: %v", i+1, err)
			}
			keys = append(keys, k.(string))
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("line %d: %v", i+1, err)
			}
		}
		if !slices.Equal(keys, wantKeys) {
			t.Fatalf("line %d has fields %v, want %v: %s", i+1, keys, wantKeys, line)
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if m["outcome"] != "ok" || m["expect"] != nil {
			t.Errorf("line %d: outcome %v, expect %v; want ok, null", i+1, m["outcome"], m["expect"])
		}
		invoke, _ := m["invoke"].(float64)
		complete, _ := m["complete"].(float64)
		if !(invoke >= 0 && complete >= invoke) {
			t.Errorf("line %d: invoke %v, complete %v", i+1, m["invoke"], m["complete"])
		}
		switch m["op"] {
		case "put":
			if v, _ := m["value"].(string); !written[v] {
				t.Errorf("line %d: put value %v was not received by the server", i+1, m["value"])
			}
		case "get":
			if m["value"] == nil {
				notFound++
			} else if v, _ := m["value"].(string); written[v] {
				found++
			} else {
				t.Errorf("line %d: get value %v was never written", i+1, m["value"])
			}
		case "delete":
			deletes++
			if m["value"] != nil {
				t.Errorf("line %d: delete with value %v, want null", i+1, m["value"])
			}
		default:
			t.Errorf("line %d: op %v", i+1, m["op"])
		}
	}
	if found == 0 || notFound == 0 || deletes == 0 {
		t.Errorf("found %d, not found %d, deletes %d; want some of each", found, notFound, deletes)
	}
}

func TestInterruptedRunWritesOpenOperationsUnknown(t *testing.T) {
	t.Parallel()
	srv := newKVServer(t, hangServer)
	hist := &testkit.SyncBuffer{}
	var seconds []*Second
	cfg := Config{Rate: 100, Duration: 5 * time.Second, ReadRatio: 0.5, Timeout: 10 * time.Second,
		History: hist, OnSecond: func(s *Second) { seconds = append(seconds, s) }}
	w, err := New(cfg, newTestDriver(t, 16, srv.URL), rand.New(rand.NewPCG(1, 0)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Cancel once requests are in flight (or after a deadline: the
		// assertions below then fail).
		deadline := time.Now().Add(10 * time.Second)
		for w.Progress().InFlight < 5 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	sum, err := w.Run(ctx)
	if !errors.Is(err, context.Canceled) || sum == nil || !sum.Interrupted {
		t.Fatalf("Run: summary %v, err %v; want an interrupted summary and context.Canceled", sum, err)
	}
	all := sum.Measured.All
	if all.Sent < 5 || all.Unfinished != all.Sent || all.Total != 0 {
		t.Errorf("sent %d, unfinished %d, total %d; want every sent request unfinished", all.Sent, all.Unfinished, all.Total)
	}
	ops := readHistoryOps(t, hist.Bytes())
	if int64(len(ops)) != all.Sent {
		t.Fatalf("history has %d operations, want %d", len(ops), all.Sent)
	}
	for _, op := range ops {
		if op.Outcome != OutcomeUnknown || op.Complete != nil {
			t.Errorf("op %d: outcome %s, complete %v; want unknown, null", op.ID, op.Outcome, op.Complete)
		}
		if (op.Op == OpPut) != (op.Value != nil) {
			t.Errorf("op %d (%s): value %v; want the written value for a put, null otherwise", op.ID, op.Op, op.Value)
		}
	}
	if len(seconds) != 1 || seconds[0].Length >= time.Second || seconds[0].All.Sent != all.Sent {
		t.Errorf("seconds %+v; want one partial second with every request", seconds)
	}
	if p := w.Progress(); p.InFlight != 0 {
		t.Errorf("progress after the run: %d in flight, want 0", p.InFlight)
	}
}

func TestDriverThatIgnoresItsDeadlineIsAbandoned(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	stuck := DriverFunc(func(context.Context, Op) Result {
		<-release
		return Result{Outcome: OutcomeOK}
	})
	var hist bytes.Buffer
	cfg := Config{Rate: 50, Duration: 200 * time.Millisecond, ReadRatio: 0.5, Timeout: 50 * time.Millisecond, History: &hist}
	began := time.Now()
	sum, err := runWorkload(t, cfg, stuck, 1)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("Run took %s with a stuck driver, want about 2.05s", took)
	}
	if sum.Abandoned != 10 || sum.Measured.All.Unfinished != 10 {
		t.Errorf("abandoned %d, unfinished %d; want 10, 10", sum.Abandoned, sum.Measured.All.Unfinished)
	}
	ops := readHistoryOps(t, hist.Bytes())
	if len(ops) != 10 {
		t.Fatalf("history has %d operations, want 10", len(ops))
	}
	for _, op := range ops {
		if op.Outcome != OutcomeUnknown || op.Complete != nil {
			t.Errorf("op %d: outcome %s, complete %v; want unknown, null", op.ID, op.Outcome, op.Complete)
		}
	}
}

func TestSecondsArriveInOrderAndPhasesAreApart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		warmup, duration time.Duration
		wantIndex        []int
		wantLength       []time.Duration
	}{
		{"whole seconds", time.Second, 2 * time.Second, []int{-1, 0, 1},
			[]time.Duration{time.Second, time.Second, time.Second}},
		{"partial seconds", 500 * time.Millisecond, 1500 * time.Millisecond, []int{-1, 0, 1},
			[]time.Duration{500 * time.Millisecond, time.Second, 500 * time.Millisecond}},
		{"no warmup", 0, time.Second, []int{0}, []time.Duration{time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newKVServer(t, nil)
			var seconds []*Second
			rate := 100.0
			cfg := Config{Rate: rate, Warmup: tc.warmup, FlatWarmup: true, Duration: tc.duration, ReadRatio: 0.9,
				OnSecond: func(s *Second) { seconds = append(seconds, s) }}
			sum, err := runWorkload(t, cfg, newTestDriver(t, 16, srv.URL), 1)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			var index []int
			var length []time.Duration
			var warmupSent, measuredSent int64
			for _, s := range seconds {
				index = append(index, s.Index)
				length = append(length, s.Length)
				if s.Warmup != (s.Index < 0) {
					t.Errorf("second %d: warmup %v", s.Index, s.Warmup)
				}
				if want := int64(math.Round(rate * s.Length.Seconds())); s.All.Sent != want {
					t.Errorf("second %d: sent %d, want %d", s.Index, s.All.Sent, want)
				}
				if s.All.Sent != s.All.Total+s.All.Unfinished {
					t.Errorf("second %d: sent %d != total %d + unfinished %d", s.Index, s.All.Sent, s.All.Total, s.All.Unfinished)
				}
				if s.Ops[OpGet].Sent+s.Ops[OpPut].Sent != s.All.Sent {
					t.Errorf("second %d: kinds do not add up", s.Index)
				}
				if s.Warmup {
					warmupSent += s.All.Sent
				} else {
					measuredSent += s.All.Sent
				}
			}
			if !slices.Equal(index, tc.wantIndex) || !slices.Equal(length, tc.wantLength) {
				t.Errorf("seconds %v with lengths %v, want %v with %v", index, length, tc.wantIndex, tc.wantLength)
			}
			if sum.Warmup.All.Sent != warmupSent || sum.Measured.All.Sent != measuredSent {
				t.Errorf("summary warmup %d, measured %d; seconds say %d, %d",
					sum.Warmup.All.Sent, sum.Measured.All.Sent, warmupSent, measuredSent)
			}
			if sum.Measured.Length != tc.duration || sum.Warmup.Length != tc.warmup {
				t.Errorf("phase lengths %s, %s; want %s, %s", sum.Warmup.Length, sum.Measured.Length, tc.warmup, tc.duration)
			}
		})
	}
}

func TestSlowerThanCountsExactly(t *testing.T) {
	t.Parallel()
	// Puts take 1 s, gets answer at once.
	d := DriverFunc(func(ctx context.Context, op Op) Result {
		if op.Kind == OpPut {
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return Result{Outcome: OutcomeUnknown, Class: ClassTimeout, Err: ctx.Err()}
			}
		}
		return Result{Outcome: OutcomeOK}
	})
	const rate = 100
	thresholds := []time.Duration{time.Millisecond, 100 * time.Millisecond, 500 * time.Millisecond, time.Minute}
	var hist bytes.Buffer
	cfg := Config{Rate: rate, Duration: time.Second, ReadRatio: 0.5, LatencyThresholds: thresholds,
		Timeout: 30 * time.Second, MaxLateness: 30 * time.Second, History: &hist}
	sum, err := runWorkload(t, cfg, d, 1)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	puts, gets := sum.Measured.Ops[OpPut], sum.Measured.Ops[OpGet]
	if puts.OK == 0 || gets.OK == 0 || puts.SlowerThan[500*time.Millisecond] != puts.OK || puts.SlowerThan[time.Minute] != 0 {
		t.Fatalf("puts ok %d, gets ok %d, puts slower than 500ms %d, than 1m %d; want every put slower than 500ms, none than 1m",
			puts.OK, gets.OK, puts.SlowerThan[500*time.Millisecond], puts.SlowerThan[time.Minute])
	}
	// The history has each completion; the intended time of operation i is
	// i/rate. Counting from them must give exactly the workload's counts.
	want := map[OpKind]map[time.Duration]int64{OpGet: {}, OpPut: {}}
	for _, op := range readHistoryOps(t, hist.Bytes()) {
		latency := time.Duration(*op.Complete) - time.Duration(float64(op.ID)*float64(time.Second)/rate)
		for _, th := range thresholds {
			if latency > th {
				want[op.Op][th]++
			}
		}
	}
	for kind, st := range map[OpKind]*OpStats{OpGet: gets, OpPut: puts} {
		for _, th := range thresholds {
			if st.SlowerThan[th] != want[kind][th] {
				t.Errorf("%s slower than %s: %d, want %d", kind, th, st.SlowerThan[th], want[kind][th])
			}
		}
	}
	for _, th := range thresholds {
		if got := sum.Measured.All.SlowerThan[th]; got != want[OpGet][th]+want[OpPut][th] {
			t.Errorf("all slower than %s: %d, want %d", th, got, want[OpGet][th]+want[OpPut][th])
		}
	}
}

func TestProgressDuringRun(t *testing.T) {
	t.Parallel()
	srv := newKVServer(t, nil)
	cfg := Config{Rate: 100, Warmup: time.Second, FlatWarmup: true, Duration: 2 * time.Second, ReadRatio: 0.9,
		Timeout: 30 * time.Second, MaxLateness: 30 * time.Second}
	w, err := New(cfg, newTestDriver(t, 16, srv.URL), rand.New(rand.NewPCG(1, 0)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if p := w.Progress(); !p.Warmup || p.HaveSecond {
		t.Errorf("progress before the run: %+v; want warmup, no second", p)
	}
	var wg sync.WaitGroup
	var sum *Summary
	var runErr error
	wg.Go(func() { sum, runErr = w.Run(context.Background()) })
	testkit.Eventually(t, 10*time.Second, "the first measured second", func() bool {
		p := w.Progress()
		return p.HaveSecond && p.LastSecond >= 0
	})
	p := w.Progress()
	if p.Warmup || p.Elapsed < time.Second || p.SendRate < 90 || p.SendRate > 110 || p.ErrorRatio != 0 || p.P99 <= 0 {
		t.Errorf("progress in the measured phase: %+v", p)
	}
	wg.Wait()
	if runErr != nil {
		t.Fatalf("Run: %v", runErr)
	}
	if p := w.Progress(); p.Sent != 300 || p.Completed != 300 || p.InFlight != 0 || p.LastSecond != 1 {
		t.Errorf("progress after the run: %+v; want 300 sent and completed, last second 1", p)
	}
	if _, err := w.Run(context.Background()); err == nil {
		t.Error("second Run: no error")
	}
	if sum.Measured.All.Sent != 200 {
		t.Errorf("measured sent %d, want 200", sum.Measured.All.Sent)
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	ok := Config{Rate: 1, Duration: time.Second}
	d := DriverFunc(func(context.Context, Op) Result { return Result{Outcome: OutcomeOK} })
	rng := rand.New(rand.NewPCG(1, 0))
	tests := []struct {
		name   string
		cfg    Config
		driver Driver
		rng    *rand.Rand
		want   string
	}{
		{"bad config", Config{}, d, rng, "rate"},
		{"nil driver", ok, nil, rng, "driver"},
		{"nil rng", ok, d, nil, "rng"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg, tc.driver, tc.rng); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error about %s", err, tc.want)
			}
		})
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestHistoryWriteErrorIsReturned(t *testing.T) {
	t.Parallel()
	d := DriverFunc(func(context.Context, Op) Result { return Result{Outcome: OutcomeOK} })
	cfg := Config{Rate: 100, Duration: 200 * time.Millisecond, History: failingWriter{}}
	sum, err := runWorkload(t, cfg, d, 1)
	if err == nil || !strings.Contains(err.Error(), "disk full") || sum == nil || sum.Measured.All.OK != 20 {
		t.Errorf("Run: %v, summary %v; want the write error and the summary", err, sum)
	}
}

// The warmup ramps the rate up from 0: with a 2s warmup at 100/s, 25 requests
// go out in the first second and 75 in the second (the areas under the ramp),
// then 100 a second; the schedule is increasing and continuous at the end of
// the warmup.
func TestWarmupRampsUp(t *testing.T) {
	srv := newKVServer(t, nil)
	var seconds []*Second
	cfg := Config{Rate: 100, Warmup: 2 * time.Second, Duration: time.Second, ReadRatio: 0.9,
		OnSecond: func(s *Second) { seconds = append(seconds, s) }}
	if _, err := runWorkload(t, cfg, newTestDriver(t, 16, srv.URL), 1); err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := map[int]int64{-2: 25, -1: 75, 0: 100}
	if len(seconds) != len(want) {
		t.Fatalf("%d seconds reported, want %d", len(seconds), len(want))
	}
	for _, s := range seconds {
		if s.All.Sent != want[s.Index] {
			t.Errorf("second %d: sent %d, want %d", s.Index, s.All.Sent, want[s.Index])
		}
	}
	w := &Workload{cfg: cfg}
	prev := time.Duration(-1)
	for i := range uint64(300) {
		at := w.intended(i)
		if at <= prev && i > 0 {
			t.Fatalf("request %d due at %s, not after request %d at %s", i, at, i-1, prev)
		}
		prev = at
	}
	if at := w.intended(100); at != 2*time.Second {
		t.Fatalf("request 100 (the first after the ramp) due at %s, want 2s", at)
	}
	if at := w.intended(150); at != 2500*time.Millisecond {
		t.Fatalf("request 150 due at %s, want 2.5s", at)
	}
}
