package workload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// LockConfig configures a LockWorkload.
type LockConfig struct {
	// Bases are the gateways' base URLs ("http://host:port"); client i uses
	// Bases[i % len(Bases)].
	Bases []string
	// Name is the lock's name; Resource the key of the protected resource.
	Name, Resource string
	// Clients is how many clients compete for the lock.
	Clients int
	// Lease is the lease each acquire asks for; Hold how long a holder
	// waits between its two writes of one critical section.
	Lease, Hold time.Duration
	// Fencing sends the token with every resource write (X-Fencing-Token).
	Fencing bool
	// PauseEvery, when above 0, schedules a pause (a simulated GC pause)
	// about every PauseEvery: the first holder past its first write after a
	// pause is due sleeps for Pause, still believing it holds the lock, then
	// writes again. The schedule is drawn from the seed.
	PauseEvery, Pause time.Duration
	// Warmup and Duration as in Config; the run lasts Warmup + Duration.
	Warmup, Duration time.Duration
	// Timeout bounds one request.
	Timeout time.Duration
	// LatencyThresholds, History and OnSecond as in Config.
	LatencyThresholds []time.Duration
	History           io.Writer
	OnSecond          func(*Second)
}

// lockRetry is how long a client waits before it asks again for a held lock.
const lockRetry = 25 * time.Millisecond

// Validate reports the first bad field, and fills defaults.
func (c *LockConfig) Validate() error {
	switch {
	case len(c.Bases) == 0:
		return errors.New("lock workload: no gateway base URLs")
	case c.Name == "" || c.Resource == "":
		return errors.New("lock workload: name and resource are required")
	case c.Clients < 1:
		return fmt.Errorf("lock workload: clients %d; at least 1", c.Clients)
	case c.Lease <= 0 || c.Hold < 0:
		return fmt.Errorf("lock workload: lease %s must be above 0 and hold %s at least 0", c.Lease, c.Hold)
	case c.PauseEvery < 0 || (c.PauseEvery > 0 && c.Pause <= 0):
		return fmt.Errorf("lock workload: pauseEvery %s needs a pause above 0 (got %s)", c.PauseEvery, c.Pause)
	case c.Duration <= 0 || c.Warmup < 0:
		return fmt.Errorf("lock workload: duration %s must be above 0, warmup %s at least 0", c.Duration, c.Warmup)
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return nil
}

// LockWorkload is the lock workload: closed-loop clients that acquire one lock
// with a lease, write the protected resource twice while they hold it (with
// or without the fencing token), and release it; some pause past their lease
// on a seeded schedule. Every call is an operation of the history (acquire,
// put with its token, release) for the mutual-exclusion check, and counts in
// the per-second stats as the key-value workload's requests do. Answers that
// refuse (409: the lock is held, a stale token, a lost lock) are good answers
// with outcome fail.
type LockWorkload struct {
	cfg    LockConfig
	client *http.Client
	pauses []time.Duration // offsets from the start at which a pause falls due

	mu        sync.Mutex
	start     time.Time
	nextID    uint64
	nextPause int
	buckets   map[int]*Second
	closed    int // buckets below this index are closed
	warmup    Phase
	measured  Phase
	progress  Progress
	firstErrs map[ErrorClass]string
	history   *historyWriter
	enc       *historyEncoder
}

// lockKinds are the operations of the lock workload's stats.
var lockKinds = []OpKind{OpAcquire, OpPut, OpRelease}

// NewLockWorkload builds a lock workload; rng draws the pause schedule.
func NewLockWorkload(cfg LockConfig, client *http.Client, rng *rand.Rand) (*LockWorkload, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	for _, b := range cfg.Bases {
		if u, err := url.Parse(b); err != nil || u.Host == "" {
			return nil, fmt.Errorf("lock workload: base URL %q: want http://host:port", b)
		}
	}
	if client == nil {
		client = NewHTTPClient(cfg.Clients)
	}
	l := &LockWorkload{cfg: cfg, client: client, buckets: map[int]*Second{}, firstErrs: map[ErrorClass]string{}}
	if cfg.PauseEvery > 0 {
		end := cfg.Warmup + cfg.Duration
		for at := cfg.Warmup + cfg.PauseEvery/2; at < end; at += cfg.PauseEvery {
			l.pauses = append(l.pauses, at+time.Duration(rng.Int64N(int64(cfg.PauseEvery/2)+1)))
		}
	}
	l.warmup = newPhase(lockKinds, nil, cfg.LatencyThresholds)
	l.measured = newPhase(lockKinds, nil, cfg.LatencyThresholds)
	l.closed = l.index(0)
	if cfg.History != nil {
		l.history, l.enc = newHistoryWriter(cfg.History), newHistoryEncoder()
	}
	return l, nil
}

// Pauses returns the pause schedule (offsets from the workload start).
func (l *LockWorkload) Pauses() []time.Duration { return append([]time.Duration(nil), l.pauses...) }

// index is the second (from the end of the warmup) that offset t falls in.
func (l *LockWorkload) index(t time.Duration) int {
	d := t - l.cfg.Warmup
	if d < 0 {
		return -int((-d + time.Second - 1) / time.Second)
	}
	return int(d / time.Second)
}

// Run runs the clients for Warmup + Duration, then waits for their last
// requests (each bounded by Timeout) and closes every second.
func (l *LockWorkload) Run(ctx context.Context) (*Summary, error) {
	l.mu.Lock()
	l.start = time.Now()
	l.mu.Unlock()
	end := l.cfg.Warmup + l.cfg.Duration
	cctx, cancel := context.WithDeadline(ctx, l.start.Add(end))
	defer cancel()
	var wg sync.WaitGroup
	for i := range l.cfg.Clients {
		wg.Go(func() { l.client1(cctx, i) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case <-done:
			break loop
		case <-tick.C:
			l.closeDue(time.Since(l.start))
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	last := l.index(time.Since(l.start)) + 1
	l.closeBelow(last)
	sum := &Summary{Start: l.start, Elapsed: time.Since(l.start), Interrupted: ctx.Err() != nil, MaxInFlight: l.cfg.Clients,
		Warmup: l.warmup, Measured: l.measured, SendLateness: NewLatencyHistogram(), ServiceTime: NewLatencyHistogram(), FirstErrors: l.firstErrs}
	sum.ServiceTime.Merge(l.measured.All.Latency)
	var err error
	if l.history != nil {
		err = l.history.flush()
	}
	return sum, err
}

func (l *LockWorkload) closeDue(now time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closeBelow(l.index(now))
}

// closeBelow closes the buckets with indices below upTo. Callers hold mu.
func (l *LockWorkload) closeBelow(upTo int) {
	for ; l.closed < upTo; l.closed++ {
		s := l.bucket(l.closed)
		delete(l.buckets, l.closed)
		s.All = newOpStats(l.cfg.LatencyThresholds)
		for _, k := range lockKinds {
			s.All.Merge(s.Ops[k])
		}
		if s.Warmup {
			l.warmup.add(s)
		} else {
			l.measured.add(s)
		}
		p := &l.progress
		p.HaveSecond, p.LastSecond = true, s.Index
		p.SendRate, p.ErrorRatio = s.SendRate(), s.All.ErrorRatio()
		p.P99 = LatencyAt(s.All.Latency, 99)
		if l.cfg.OnSecond != nil {
			l.cfg.OnSecond(s)
		}
	}
}

// bucket returns second i's bucket. Callers hold mu.
func (l *LockWorkload) bucket(i int) *Second {
	if s := l.buckets[i]; s != nil {
		return s
	}
	start := l.cfg.Warmup + time.Duration(i)*time.Second
	length := time.Second
	if i < 0 && start < 0 {
		length, start = start+time.Second, 0
	}
	s := &Second{Index: i, Start: start, Length: length, Warmup: i < 0, Ops: map[OpKind]*OpStats{}}
	for _, k := range lockKinds {
		s.Ops[k] = newOpStats(l.cfg.LatencyThresholds)
	}
	l.buckets[i] = s
	return s
}

// call is one request's result as the client saw it.
type call struct {
	code    int
	body    []byte
	class   ErrorClass
	outcome Outcome
	err     error
}

// do sends one request and classifies it: 2xx ok; 409 fail (a refusal, a
// good answer); 503 and 429 fail (no effect); other 4xx fail, unexpected;
// other 5xx, a timeout or a lost connection unknown (a write may have
// applied).
func (l *LockWorkload) do(ctx context.Context, method, u string, body []byte, header map[string]string, id uint64) call {
	rctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, method, u, bytes.NewReader(body))
	if err != nil {
		return call{class: ClassUnexpected, outcome: OutcomeFail, err: err}
	}
	req.Header.Set("X-Request-Id", "lock-"+strconv.FormatUint(id, 10))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		var op *net.OpError
		switch {
		case errors.As(err, &op) && op.Op == "dial":
			return call{class: ClassTransport, outcome: OutcomeFail, err: err}
		case errors.Is(err, context.DeadlineExceeded):
			return call{class: ClassTimeout, outcome: OutcomeUnknown, err: err}
		}
		return call{class: ClassTransport, outcome: OutcomeUnknown, err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	c := call{code: resp.StatusCode, body: b}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		c.outcome = OutcomeOK
	case code == http.StatusConflict:
		c.outcome = OutcomeFail
	case code == http.StatusTooManyRequests:
		c.class, c.outcome = ClassRateLimited, OutcomeFail
	case code == http.StatusServiceUnavailable:
		c.class, c.outcome = ClassServerError, OutcomeFail
	case code >= 500:
		c.class, c.outcome = ClassServerError, OutcomeUnknown
	default:
		c.class, c.outcome = ClassUnexpected, OutcomeFail
	}
	if c.class != ClassNone {
		c.err = fmt.Errorf("%s %s: status %d %s", method, u, resp.StatusCode, resp.Header.Get("X-Error"))
	}
	return c
}

// record writes op to the history and counts it in its second.
func (l *LockWorkload) record(h HistoryOp, c call, invoke, complete time.Duration) {
	h.Invoke, h.Outcome = int64(invoke), c.outcome
	if c.outcome != OutcomeUnknown {
		ct := int64(complete)
		h.Complete = &ct
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.enc != nil {
		line, err := l.enc.encode(&h)
		if err != nil && l.history.err == nil {
			l.history.err = err
		}
		l.history.write(line)
	}
	i := l.index(complete)
	if i < l.closed {
		i = l.closed // a late answer counts in the first open second
	}
	s := l.bucket(i)
	st := s.Ops[h.Op]
	st.Scheduled++
	st.Sent++
	st.Total++
	l.progress.Scheduled++
	l.progress.Sent++
	l.progress.Completed++
	if c.class == ClassNone {
		st.OK++
		lat := complete - invoke
		recordLatency(st.Latency, lat)
		for t := range st.SlowerThan {
			if lat > t {
				st.SlowerThan[t]++
			}
		}
		return
	}
	st.Errors.add(c.class, 1)
	if c.outcome == OutcomeUnknown {
		st.Indeterminate++
	}
	l.progress.Bad++
	if _, seen := l.firstErrs[c.class]; !seen && c.err != nil {
		l.firstErrs[c.class] = c.err.Error()
	}
}

func (l *LockWorkload) newID() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nextID++
	return l.nextID
}

// takePause reports whether a scheduled pause is due at offset now, and
// consumes it.
func (l *LockWorkload) takePause(now time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.nextPause < len(l.pauses) && now >= l.pauses[l.nextPause] {
		l.nextPause++
		return true
	}
	return false
}

// lockAnswer is the part of the lock API's answer a client reads.
type lockAnswer struct {
	Token int64 `json:"token"`
}

// client1 is client i's loop: acquire, write, (pause,) hold, write, release.
func (l *LockWorkload) client1(ctx context.Context, i int) {
	base := l.cfg.Bases[i%len(l.cfg.Bases)]
	owner := "c" + strconv.Itoa(i)
	lockURL := base + "/lock/" + url.PathEscape(l.cfg.Name)
	resURL := base + "/kv/" + url.PathEscape(l.cfg.Resource)
	since := func() time.Duration { return time.Since(l.start) }
	sleep := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	writes := 0
	for ctx.Err() == nil {
		id := l.newID()
		inv := since()
		c := l.do(ctx, http.MethodPost, lockURL+"?op=acquire&owner="+owner+"&lease="+l.cfg.Lease.String(), nil, nil, id)
		h := HistoryOp{ID: id, Client: i, Op: OpAcquire, Key: l.cfg.Name, Lock: l.cfg.Name, Lease: int64(l.cfg.Lease)}
		var a lockAnswer
		if c.outcome == OutcomeOK {
			if err := json.Unmarshal(c.body, &a); err != nil || a.Token < 1 {
				c.outcome, c.class, c.err = OutcomeUnknown, ClassUnexpected, fmt.Errorf("acquire answer %q: %v", c.body, err)
			} else {
				h.Token = &a.Token
			}
		}
		l.record(h, c, inv, since())
		if c.outcome != OutcomeOK {
			if !sleep(lockRetry) {
				return
			}
			continue
		}
		token := a.Token
		write := func() {
			writes++
			id := l.newID()
			hdr := map[string]string{}
			if l.cfg.Fencing {
				hdr["X-Fencing-Token"] = strconv.FormatInt(token, 10)
			}
			v := fmt.Sprintf("%s-t%d-w%d", owner, token, writes)
			inv := since()
			c := l.do(context.WithoutCancel(ctx), http.MethodPut, resURL, []byte(v), hdr, id)
			l.record(HistoryOp{ID: id, Client: i, Op: OpPut, Key: l.cfg.Resource, Value: &v, Lock: l.cfg.Name, Token: &token, Fenced: l.cfg.Fencing}, c, inv, since())
		}
		write()
		if l.takePause(since()) {
			// The simulated GC pause: the client stops, its lease runs out,
			// and it carries on as if it still held the lock.
			if !sleep(l.cfg.Pause) {
				return
			}
		}
		if !sleep(l.cfg.Hold) {
			return
		}
		write()
		id = l.newID()
		inv = since()
		c = l.do(context.WithoutCancel(ctx), http.MethodPost, lockURL+"?op=release&owner="+owner+"&token="+strconv.FormatInt(token, 10), nil, nil, id)
		l.record(HistoryOp{ID: id, Client: i, Op: OpRelease, Key: l.cfg.Name, Lock: l.cfg.Name, Token: &token}, c, inv, since())
	}
}

// Progress returns a live view of the run.
func (l *LockWorkload) Progress() Progress {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.progress
	if !l.start.IsZero() {
		p.Elapsed = time.Since(l.start)
		p.Warmup = p.Elapsed < l.cfg.Warmup
	}
	return p
}
