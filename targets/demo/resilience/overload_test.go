package resilience

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
	"github.com/sony/gobreaker/v2"
)

func TestTrips(t *testing.T) {
	consecutive, err := BreakerConfig{Failures: 3}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	rate, err := BreakerConfig{Trip: TripErrorRate, ErrorRate: 0.5, MinRequests: 10}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	disabled := rate
	disabled.Disabled = true
	tests := []struct {
		name string
		cfg  BreakerConfig
		c    gobreaker.Counts
		want bool
	}{
		{"consecutive: 3 in a row trips", consecutive, gobreaker.Counts{Requests: 3, TotalFailures: 3, ConsecutiveFailures: 3}, true},
		{"consecutive: 2 in a row does not", consecutive, gobreaker.Counts{Requests: 100, TotalFailures: 90, ConsecutiveFailures: 2}, false},
		{"errorRate: half of 10 trips", rate, gobreaker.Counts{Requests: 10, TotalFailures: 5}, true},
		{"errorRate: 4 of 10 does not", rate, gobreaker.Counts{Requests: 10, TotalFailures: 4, ConsecutiveFailures: 4}, false},
		{"errorRate: below the minimum of calls does not, even all failed", rate, gobreaker.Counts{Requests: 9, TotalFailures: 9, ConsecutiveFailures: 9}, false},
		{"errorRate: consecutive timeouts amid successes do not", rate, gobreaker.Counts{Requests: 200, TotalFailures: 40, ConsecutiveFailures: 30}, false},
		{"disabled never trips", disabled, gobreaker.Counts{Requests: 100, TotalFailures: 100, ConsecutiveFailures: 100}, false},
	}
	for _, tt := range tests {
		if got := Trips(tt.cfg, tt.c); got != tt.want {
			t.Errorf("%s: Trips(%+v) = %v, want %v", tt.name, tt.c, got, tt.want)
		}
	}
}

func TestBusyOrDead(t *testing.T) {
	timeout := fmt.Errorf("get k on n1: %w", context.DeadlineExceeded)
	other := errors.New("connection reset")
	tests := []struct {
		name          string
		err           error
		started, last int64 // the call's start and the peer's last answer
		wantBusy      bool
		wantNil       bool
		wantLast      int64
	}{
		{"success moves the last answer", nil, 100, 50, false, true, 200},
		{"timeout after an answer during the call is busy", timeout, 100, 150, true, false, 150},
		{"timeout with no answer since the call began is a failure", timeout, 100, 90, false, false, 90},
		{"a non-timeout error is a failure whatever the answers", other, 100, 150, false, false, 150},
	}
	for _, tt := range tests {
		var last atomic.Int64
		last.Store(tt.last)
		got := busyOrDead(tt.err, tt.started, &last, 200)
		if tt.wantNil != (got == nil) || errors.Is(got, ErrPeerBusy) != tt.wantBusy {
			t.Errorf("%s: busyOrDead = %v, want nil %v busy %v", tt.name, got, tt.wantNil, tt.wantBusy)
		}
		if last.Load() != tt.wantLast {
			t.Errorf("%s: last answer %d, want %d", tt.name, last.Load(), tt.wantLast)
		}
	}
}

// An errorRate breaker stays closed for a peer that times out on some calls
// while answering others, and opens for one that fails every call.
func TestErrorRateBreakerTellsBusyFromDead(t *testing.T) {
	b, err := NewBreakers(BreakerConfig{Trip: TripErrorRate, ErrorRate: 0.5, MinRequests: 10, Window: time.Minute}, []string{"busy", "dead"}, metrics.New("g1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	b.now = func() time.Time { return now }
	for i := range 100 {
		// busy: every call overlaps the next; two of three time out, the
		// third is answered while they were in flight.
		done1, err := b.Allow("busy")
		if err != nil {
			t.Fatalf("call %d to the busy peer refused: %v", i, err)
		}
		done2, _ := b.Allow("busy")
		done3, _ := b.Allow("busy")
		now = now.Add(time.Millisecond)
		done3(nil)
		now = now.Add(time.Millisecond)
		done1(context.DeadlineExceeded)
		done2(context.DeadlineExceeded)
	}
	if s := b.State("busy"); s != gobreaker.StateClosed {
		t.Errorf("busy peer's breaker is %s, want closed: timeouts while it answered others are not failures", s)
	}
	for range 10 {
		done, err := b.Allow("dead")
		if err != nil {
			break
		}
		now = now.Add(time.Millisecond)
		done(context.DeadlineExceeded)
	}
	if s := b.State("dead"); s != gobreaker.StateOpen {
		t.Errorf("dead peer's breaker is %s, want open after 10 of 10 calls failed", s)
	}
}

func TestRetryBudget(t *testing.T) {
	now := time.Unix(0, 0)
	clock := func() time.Time { return now }
	b := NewRetryBudget(0.1, 2, clock)
	// A fresh budget holds the floor: two retries.
	got := 0
	for b.TryRetry() {
		got++
	}
	if got != 2 {
		t.Fatalf("fresh budget allowed %d retries, want the floor 2", got)
	}
	// 100 requests in no time deposit 10 retries.
	for range 100 {
		b.Request()
	}
	got = 0
	for b.TryRetry() {
		got++
	}
	if got != 10 {
		t.Errorf("100 requests allowed %d retries, want 10 (10%%)", got)
	}
	// A second passes with no requests: the floor refills 2.
	now = now.Add(time.Second)
	got = 0
	for b.TryRetry() {
		got++
	}
	if got != 2 {
		t.Errorf("after an idle second %d retries, want 2 (the floor)", got)
	}
	// A long quiet spell saves up at most the depth.
	now = now.Add(time.Hour)
	if tok := b.Tokens(); tok != DefaultRetryBudgetDepth {
		t.Errorf("after an hour %v tokens, want the depth %v", tok, DefaultRetryBudgetDepth)
	}
	// Sustained: 1000 requests a second with every one failing get 10%
	// retries plus the floor, not 100%.
	b = NewRetryBudget(0.1, 2, clock)
	retries := 0
	for range 10 {
		for range 1000 {
			b.Request()
			if b.TryRetry() {
				retries++
			}
		}
		now = now.Add(time.Second)
	}
	if retries < 1000 || retries > 1000+2*10+int(DefaultRetryBudgetDepth)+2 {
		t.Errorf("10 s of 1000 failing requests/s made %d retries, want about 10%% (1000) plus the floor", retries)
	}
	var none *RetryBudget
	if NewRetryBudget(0, 10, nil) != nil || !none.TryRetry() {
		t.Error("a zero ratio must give no budget, which allows every retry")
	}
}

func TestAIMDLimit(t *testing.T) {
	now := time.Unix(0, 0)
	l := NewAIMDLimit(100, 50*time.Millisecond)
	if l.Limit() != DefaultAdmissionStartLimit {
		t.Fatalf("start limit %d, want %d", l.Limit(), DefaultAdmissionStartLimit)
	}
	steps := []struct {
		name     string
		latency  time.Duration
		failed   bool
		inflight int
		advance  time.Duration
		want     int
	}{
		{"fast while busy: +1", 10 * time.Millisecond, false, 20, 0, 33},
		{"fast while mostly idle: unchanged", 10 * time.Millisecond, false, 5, 0, 33},
		{"slow: ×0.9", 80 * time.Millisecond, false, 30, 0, 29},
		{"slow again within the target: no second decrease", 80 * time.Millisecond, false, 30, 10 * time.Millisecond, 29},
		{"slow a target later: ×0.9", 80 * time.Millisecond, false, 30, 50 * time.Millisecond, 26},
		{"failed a target later: ×0.9", time.Millisecond, true, 30, 50 * time.Millisecond, 24},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		l.Observe(s.latency, s.failed, s.inflight, now)
		if got := l.Limit(); got != s.want {
			t.Fatalf("%s: limit %d, want %d", s.name, got, s.want)
		}
	}
	for range 1000 {
		now = now.Add(time.Second)
		l.Observe(time.Second, false, 1, now)
	}
	if l.Limit() != DefaultAdmissionMinLimit {
		t.Errorf("after sustained slowness limit %d, want the floor %d", l.Limit(), DefaultAdmissionMinLimit)
	}
	for range 1000 {
		l.Observe(time.Millisecond, false, 100, now)
	}
	if l.Limit() != 100 {
		t.Errorf("after sustained fast answers limit %d, want the ceiling 100", l.Limit())
	}
}

func TestCoDel(t *testing.T) {
	const target, interval = 5 * time.Millisecond, 100 * time.Millisecond
	c := NewCoDel(target, interval)
	t0 := time.Unix(0, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	steps := []struct {
		name  string
		ms    int
		delay time.Duration
		prio  Priority
		want  bool
		over  bool
	}{
		{"no queue: admitted", 0, time.Millisecond, PriorityLow, true, false},
		{"a burst's 50ms wait, not yet a standing queue: admitted", 10, 50 * time.Millisecond, PriorityLow, true, false},
		{"older than the interval: refused even so", 20, 150 * time.Millisecond, PriorityLow, false, false},
		{"a short delay in the interval: the queue drained", 50, 2 * time.Millisecond, PriorityLow, true, false},
		{"next interval starts: min 2ms was under target, still fine", 100, 20 * time.Millisecond, PriorityLow, true, false},
		{"delays stay above target the whole interval", 150, 30 * time.Millisecond, PriorityLow, true, false},
		{"interval ends with min 20ms > 5ms: overloaded, 20ms refused", 200, 20 * time.Millisecond, PriorityLow, false, true},
		{"overloaded: 4ms admitted", 210, 4 * time.Millisecond, PriorityLow, true, true},
		{"overloaded: a read of 8ms gets twice the target", 220, 8 * time.Millisecond, PriorityHigh, true, true},
		{"overloaded: a write of 8ms is refused", 230, 8 * time.Millisecond, PriorityLow, false, true},
		{"the queue drained (min 4ms): back to normal", 300, 30 * time.Millisecond, PriorityLow, true, false},
	}
	for _, s := range steps {
		got := c.Admit(s.delay, at(s.ms), s.prio)
		if got != s.want || c.Overloaded() != s.over {
			t.Fatalf("%s: Admit = %v overloaded %v, want %v %v", s.name, got, c.Overloaded(), s.want, s.over)
		}
	}
}

func TestRequestAgeAndPriority(t *testing.T) {
	now := time.Unix(100, 0)
	r := httptest.NewRequest(http.MethodGet, "/kv/a", nil)
	if _, ok := RequestAge(r, now); ok {
		t.Error("a request without deadline headers has no age")
	}
	// Sent at 99.97 with 1s left: deadline 100.97.
	r.Header.Set(api.HeaderDeadline, strconv.FormatInt(time.Unix(100, 970_000_000).UnixNano(), 10))
	r.Header.Set(api.HeaderTimeout, "1s")
	if age, ok := RequestAge(r, now); !ok || age != 30*time.Millisecond {
		t.Errorf("age = %v %v, want 30ms", age, ok)
	}
	r.Header.Set(api.HeaderTimeout, "soon")
	if _, ok := RequestAge(r, now); ok {
		t.Error("a malformed timeout gives no age")
	}
	for _, tt := range []struct {
		method, class string
		want          Priority
	}{
		{http.MethodGet, "", PriorityHigh}, {http.MethodHead, "", PriorityHigh},
		{http.MethodPut, "", PriorityLow}, {http.MethodDelete, "", PriorityLow},
		{http.MethodPut, "high", PriorityHigh}, {http.MethodGet, "low", PriorityLow}, {http.MethodGet, "urgent", PriorityHigh},
	} {
		r := httptest.NewRequest(tt.method, "/kv/a", nil)
		if tt.class != "" {
			r.Header.Set(HeaderRequestClass, tt.class)
		}
		if got := RequestPriority(r); got != tt.want {
			t.Errorf("%s class %q: priority %v, want %v", tt.method, tt.class, got, tt.want)
		}
	}
}

func TestShedderPriority(t *testing.T) {
	s := NewAdaptiveShedder(8, nil, true, metrics.New("g1"))
	for i := range 6 {
		if !s.AdmitClass(PriorityLow) {
			t.Fatalf("write %d refused below 75%% of the limit", i+1)
		}
	}
	if s.AdmitClass(PriorityLow) {
		t.Error("a 7th write admitted: writes may fill only 75% (6) of 8")
	}
	if !s.AdmitClass(PriorityHigh) || !s.AdmitClass(PriorityHigh) {
		t.Error("reads refused while the limit had room")
	}
	if s.AdmitClass(PriorityHigh) {
		t.Error("a read admitted beyond the limit")
	}
	// Without priority every request may use the whole limit.
	s = NewAdaptiveShedder(8, nil, false, metrics.New("g1"))
	for i := range 8 {
		if !s.AdmitClass(PriorityLow) {
			t.Fatalf("write %d refused within the limit without priority", i+1)
		}
	}
}

// The middleware wires the admission parts: a request that queued past
// CoDel's interval is refused before the handler, one without deadline
// headers is not judged, and the AIMD limit learns from answered requests.
func TestMiddlewareAdmission(t *testing.T) {
	cfg, err := Config{MaxInflight: 64, Admission: AdmissionConfig{Limit: LimitAIMD, Target: 20 * time.Millisecond, Queue: QueueCoDel, Priority: true}}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New("n1")
	mc := cfg.MiddlewareConfig(m)
	if mc.CoDel == nil || !mc.Priority || mc.Shedder.Limit() != DefaultAdmissionStartLimit {
		t.Fatalf("middleware config %+v: want CoDel, priority and an AIMD limit starting at %d", mc, DefaultAdmissionStartLimit)
	}
	var served atomic.Int64
	srv := httptest.NewServer(Middleware(mc, m, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})))
	defer srv.Close()
	send := func(age time.Duration, headers bool) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPut, srv.URL+"/kv/a", nil)
		if err != nil {
			t.Fatal(err)
		}
		if headers {
			left := time.Second
			sent := time.Now().Add(-age)
			req.Header.Set(api.HeaderTimeout, left.String())
			req.Header.Set(api.HeaderDeadline, strconv.FormatInt(sent.Add(left).UnixNano(), 10))
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send(0, true); code != http.StatusNoContent {
		t.Errorf("a fresh request: %d, want 204", code)
	}
	if code := send(300*time.Millisecond, true); code != http.StatusServiceUnavailable || served.Load() != 1 {
		t.Errorf("a request 300ms old (past the 100ms interval): %d, served %d; want 503 before the handler", code, served.Load())
	}
	if code := send(0, false); code != http.StatusNoContent {
		t.Errorf("a request without deadline headers: %d, want 204 (no age, not judged)", code)
	}
	for range 40 {
		send(0, true)
	}
	// Fast answers with few in flight leave the limit where it was; what
	// Observe does with busy ones TestAIMDLimit shows.
	if l := mc.Shedder.Limit(); l != DefaultAdmissionStartLimit {
		t.Errorf("limit %d after fast, mostly idle requests, want %d", l, DefaultAdmissionStartLimit)
	}
}

func TestOverloadConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"unknown trip", Config{Breaker: BreakerConfig{Trip: "often"}}, `breaker.trip "often": allowed are consecutive, errorRate`},
		{"error rate above 1", Config{Breaker: BreakerConfig{ErrorRate: 1.5}}, "breaker.errorRate 1.5 is outside (0, 1]"},
		{"negative window", Config{Breaker: BreakerConfig{Window: -time.Second}}, "breaker.window -1s is negative"},
		{"retry budget above 1", Config{RetryBudget: 2}, "retryBudget 2 is outside [0, 1]"},
		{"unknown limit", Config{Admission: AdmissionConfig{Limit: "vegas"}}, `admission.limit "vegas": allowed are static, aimd`},
		{"unknown queue", Config{Admission: AdmissionConfig{Queue: "red"}}, `admission.queue "red": allowed are none, codel`},
		{"interval below target", Config{Admission: AdmissionConfig{QueueTarget: time.Second, QueueInterval: time.Millisecond}}, "queueInterval 1ms is below queueTarget 1s"},
		{"valid", Config{RetryBudget: 0.1, Breaker: BreakerConfig{Trip: TripErrorRate}, Admission: AdmissionConfig{Limit: LimitAIMD, Queue: QueueCoDel, Priority: true}}, ""},
	}
	for _, tt := range tests {
		c, err := tt.cfg.Validate()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr == "" && (c.Breaker.ErrorRate != DefaultBreakerErrorRate || c.Admission.QueueTarget != DefaultQueueTarget):
			t.Errorf("%s: defaults not filled: %+v", tt.name, c)
		case tt.wantErr != "" && (err == nil || !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want one containing %q wrapping ErrInvalidConfig", tt.name, err, tt.wantErr)
		}
	}
}

// BenchmarkMiddlewareRefusal is the server's work to refuse a request that
// queued too long (CoDel) and one beyond the in-flight limit: the cost of
// saying no under overload, which must stay far below that of serving.
//
//	go test -run '^$' -bench '^BenchmarkMiddlewareRefusal$' ./targets/demo/resilience/
func BenchmarkMiddlewareRefusal(b *testing.B) {
	cfg, err := Config{MaxInflight: 1, Admission: AdmissionConfig{Queue: QueueCoDel, Priority: true}}.Validate()
	if err != nil {
		b.Fatal(err)
	}
	m := metrics.New("n1")
	mc := cfg.MiddlewareConfig(m)
	h := Middleware(mc, m, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	old := httptest.NewRequest(http.MethodGet, "/kv/a", nil)
	old.Header.Set(api.HeaderTimeout, "1s")
	old.Header.Set(api.HeaderDeadline, strconv.FormatInt(time.Now().Add(500*time.Millisecond).UnixNano(), 10)) // sent 500ms ago
	b.Run("codel", func(b *testing.B) {
		for range b.N {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, old)
			if rec.Code != http.StatusServiceUnavailable {
				b.Fatalf("code %d, want 503", rec.Code)
			}
		}
	})
	b.Run("limit", func(b *testing.B) {
		if !mc.Shedder.Admit() { // fill the one slot
			b.Fatal("the first request was refused")
		}
		defer mc.Shedder.Done()
		fresh := httptest.NewRequest(http.MethodGet, "/kv/a", nil)
		for range b.N {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, fresh)
			if rec.Code != http.StatusServiceUnavailable {
				b.Fatalf("code %d, want 503", rec.Code)
			}
		}
	})
}
