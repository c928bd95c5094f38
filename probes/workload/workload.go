package workload

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/chaosctl/chaosctl/internal/crash"
)

// drainGrace is how long Run waits, past the per-request timeout, for drivers
// to return before it writes their operations as open and returns.
const drainGrace = 2 * time.Second

// Workload is one run of the open-model generator. Create it with New, run it
// once with Run, and watch it from other goroutines with Progress.
type Workload struct {
	cfg    Config
	driver Driver
	gen    *OpGenerator
	kinds  []OpKind // kinds the configuration generates

	end     time.Duration // warmup + duration, as an offset from start
	buckets []*bucket     // every second of the run, in order
	kMin    int           // Index of buckets[0]

	// Set by Run before any goroutine starts.
	start   time.Time
	reqCtx  context.Context
	slots   *slotPool
	jobs    []chan job // one per worker slot, made when the slot is first used
	workers sync.WaitGroup
	timer   *time.Timer // the scheduler's timer
	emitCh  chan *Second
	// crashed ends the run on a panic in one of its goroutines (a worker,
	// the OnSecond callback's): see Run.
	crashed func(*crash.Panic)

	mu          sync.Mutex // guards everything below
	ran         bool
	finalized   bool
	firstOpen   int // index of the oldest bucket not yet closed
	inflight    []inflightOp
	progress    Progress
	warmup      Phase
	measured    Phase
	lateness    *hdrhistogram.Histogram
	serviceTime *hdrhistogram.Histogram
	firstErrors map[ErrorClass]string
	history     *historyWriter
	abandoned   int64
}

// bucket is one Second while it is open.
type bucket struct {
	sec         Second
	end         time.Duration
	ops         [OpScan + 1]*OpStats // by kind, allocated on first use
	classes     map[string]*OpStats  // by class, allocated on first use
	outstanding int                  // sent and not yet completed
	scheduled   bool                 // no more requests will be assigned
}

// job is one request handed to a worker.
type job struct {
	op       Op
	intended time.Duration
	b        *bucket
}

// inflightOp is what a worker is doing, so that Run can write it as open.
type inflightOp struct {
	active bool
	op     Op
	invoke time.Duration
	b      *bucket
}

// New checks cfg (filling its defaults) and returns a workload that sends cfg's
// operations through driver. rng is the run's seeded source: it is used by the
// scheduler alone, so identical seeds give identical operation sequences.
func New(cfg Config, driver Driver, rng *rand.Rand) (*Workload, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("create workload: %w", err)
	}
	if driver == nil {
		return nil, errors.New("create workload: driver is nil")
	}
	if rng == nil {
		return nil, errors.New("create workload: rng is nil (pass the run's seeded source)")
	}
	w := &Workload{cfg: cfg, driver: driver, gen: NewOpGenerator(cfg, rng), end: cfg.Warmup + cfg.Duration}
	if cfg.ReadRatio > 0 {
		w.kinds = append(w.kinds, OpGet)
	}
	if cfg.ReadRatio+cfg.DeleteRatio < 1 {
		switch cfg.Kind {
		case KindCounter, KindLWWCounter:
			w.kinds = append(w.kinds, OpIncr)
		case KindSet:
			w.kinds = append(w.kinds, OpAdd, OpRemove)
		default:
			w.kinds = append(w.kinds, OpPut)
		}
	}
	if cfg.DeleteRatio > 0 {
		w.kinds = append(w.kinds, OpDelete)
	}
	if cfg.Kind == KindScan {
		w.kinds = append(w.kinds, OpScan)
	}
	w.kMin = -int((cfg.Warmup + time.Second - 1) / time.Second)
	kEnd := int((cfg.Duration + time.Second - 1) / time.Second)
	for k := w.kMin; k < kEnd; k++ {
		start := max(0, cfg.Warmup+time.Duration(k)*time.Second)
		end := min(w.end, cfg.Warmup+time.Duration(k+1)*time.Second)
		w.buckets = append(w.buckets, &bucket{
			sec: Second{Index: k, Start: start, Length: end - start, Warmup: k < 0},
			end: end,
		})
	}
	w.warmup = newPhase(w.kinds, cfg.Classes, cfg.LatencyThresholds)
	w.measured = newPhase(w.kinds, cfg.Classes, cfg.LatencyThresholds)
	w.lateness = NewLatencyHistogram()
	w.serviceTime = NewLatencyHistogram()
	w.firstErrors = make(map[ErrorClass]string)
	w.inflight = make([]inflightOp, cfg.MaxInFlight)
	w.progress.Warmup = cfg.Warmup > 0
	return w, nil
}

// Config returns the configuration with its defaults filled in.
func (w *Workload) Config() Config { return w.cfg }

// Run sends the workload and blocks until it has ended: the schedule is over and
// every request has completed (each within Config.Timeout), or ctx is done.
//
// When ctx ends the run early, requests in flight are cancelled and written to
// the history as open ("unknown", no complete time) and counted as Unfinished;
// Run then returns the summary of what ran, with Interrupted set, and an error
// wrapping context.Cause(ctx).
// A panic in a driver's Do or in OnSecond ends the run the same way, and the
// error wraps the *crash.Panic (the goroutine and its stack); the process
// goes on.
// A history write error is returned too, also with the summary. Run may be
// called once.
func (w *Workload) Run(ctx context.Context) (*Summary, error) {
	w.mu.Lock()
	if w.ran {
		w.mu.Unlock()
		return nil, errors.New("run workload: already run")
	}
	w.ran = true
	if w.cfg.History != nil {
		w.history = newHistoryWriter(w.cfg.History)
	}
	w.mu.Unlock()

	ctx, crashed := context.WithCancelCause(ctx)
	defer crashed(nil)
	w.crashed = func(p *crash.Panic) { crashed(p) }
	reqCtx, cancelRequests := context.WithCancel(ctx)
	defer cancelRequests()
	w.reqCtx = reqCtx
	w.slots = newSlotPool(w.cfg.MaxInFlight)
	w.jobs = make([]chan job, w.cfg.MaxInFlight)
	w.timer = time.NewTimer(time.Hour)
	w.timer.Stop()
	var emitter sync.WaitGroup
	if w.cfg.OnSecond != nil {
		w.emitCh = make(chan *Second, len(w.buckets))
		emitter.Go(func() {
			defer crash.Recover("the workload's OnSecond", w.crashed)
			for s := range w.emitCh {
				w.cfg.OnSecond(s)
			}
		})
	}

	w.mu.Lock()
	w.start = time.Now()
	w.mu.Unlock()

	stoppedAt, interrupted := w.schedule(ctx.Done())
	for _, ch := range w.jobs {
		if ch != nil {
			close(ch)
		}
	}
	grace := drainGrace
	if !interrupted {
		grace += w.cfg.Timeout
	}
	drained := make(chan struct{})
	go func() { w.workers.Wait(); close(drained) }()
	t := time.NewTimer(grace)
	select {
	case <-drained:
	case <-t.C:
	}
	t.Stop()
	// A context that ended during the drain cut the requests still running.
	interrupted = interrupted || ctx.Err() != nil
	cancelRequests()

	w.mu.Lock()
	w.finalize()
	var histErr error
	if w.history != nil {
		histErr = w.history.flush()
	}
	w.mu.Unlock()
	if w.emitCh != nil {
		close(w.emitCh)
	}
	emitter.Wait()

	w.mu.Lock()
	sum := &Summary{
		Start:        w.start,
		Elapsed:      time.Since(w.start),
		Interrupted:  interrupted,
		MaxInFlight:  w.cfg.MaxInFlight,
		Warmup:       w.warmup,
		Measured:     w.measured,
		SendLateness: w.lateness,
		ServiceTime:  w.serviceTime,
		Abandoned:    w.abandoned,
		FirstErrors:  w.firstErrors,
	}
	w.mu.Unlock()
	var errs []error
	if interrupted {
		errs = append(errs, fmt.Errorf("workload interrupted after %s: %w", stoppedAt.Round(time.Millisecond), context.Cause(ctx)))
	}
	if histErr != nil {
		errs = append(errs, histErr)
	}
	return sum, errors.Join(errs...)
}

// intended is the intended send time of request i, as an offset from start.
// During a ramped warmup of W seconds the rate at t is Rate·t/W, so the first
// Rate·W/2 requests are due at sqrt(2·W·i/Rate); the rest follow at Rate.
func (w *Workload) intended(i uint64) time.Duration {
	rate, x := w.cfg.Rate, float64(i)
	if warm := w.cfg.Warmup.Seconds(); warm > 0 && !w.cfg.FlatWarmup {
		ramped := rate * warm / 2
		if x < ramped {
			return time.Duration(math.Sqrt(2*warm*x/rate) * float64(time.Second))
		}
		return time.Duration((warm + (x-ramped)/rate) * float64(time.Second))
	}
	return time.Duration(x * float64(time.Second) / rate)
}

// bucketFor returns the bucket of a request intended at offset t (< end).
func (w *Workload) bucketFor(t time.Duration) *bucket {
	d := t - w.cfg.Warmup
	k := int(d / time.Second)
	if d < 0 && d%time.Second != 0 {
		k--
	}
	return w.buckets[k-w.kMin]
}

// schedule releases requests at their intended times and closes the schedule of
// each bucket as its end passes. It returns the offset at which it stopped and
// whether done ended it early.
func (w *Workload) schedule(done <-chan struct{}) (stoppedAt time.Duration, interrupted bool) {
	var i uint64
	nextSend := w.intended(0)
	bi := 0 // next bucket whose end the scheduler has to pass
	for {
		if nextSend >= w.end && bi == len(w.buckets) {
			return w.end, false
		}
		wake := w.buckets[min(bi, len(w.buckets)-1)].end
		if nextSend < w.end {
			wake = min(wake, nextSend)
		}
		if d := time.Until(w.start.Add(wake)); d > 0 {
			w.timer.Reset(d)
			select {
			case <-done:
				w.timer.Stop()
				return w.stop(bi)
			case <-w.timer.C:
			}
		}
		now := time.Since(w.start)
		for {
			select {
			case <-done:
				return w.stop(bi)
			default:
			}
			switch {
			case nextSend < w.end && nextSend <= now && (bi == len(w.buckets) || nextSend < w.buckets[bi].end):
				if !w.dispatch(done, nextSend) {
					return w.stop(bi)
				}
				i++
				nextSend = w.intended(i)
				now = time.Since(w.start)
				continue
			case bi < len(w.buckets) && w.buckets[bi].end <= now:
				w.mu.Lock()
				w.buckets[bi].scheduled = true
				if w.buckets[bi].sec.Warmup && (bi+1 == len(w.buckets) || !w.buckets[bi+1].sec.Warmup) {
					w.progress.Warmup = false
				}
				w.tryClose()
				w.mu.Unlock()
				bi++
				continue
			}
			break
		}
	}
}

// stop ends the schedule at the current time: bucket bi is cut short there and
// later buckets are dropped.
func (w *Workload) stop(bi int) (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	at := time.Since(w.start)
	if bi < len(w.buckets) {
		b := w.buckets[bi]
		at = min(max(at, b.sec.Start), b.end)
		b.sec.Length = at - b.sec.Start
		b.end = at
		b.scheduled = true
		w.buckets = w.buckets[:bi+1]
		w.tryClose()
	}
	return at, true
}

// dispatch hands the request intended at offset intended to a free worker, or
// drops it when none is free by intended + MaxLateness. It returns false when
// done ended the wait.
func (w *Workload) dispatch(done <-chan struct{}, intended time.Duration) bool {
	op := w.gen.Next() // drawn for dropped requests too, so the sequence never shifts
	b := w.bucketFor(intended)
	slot, ok := w.slots.tryGet()
	for !ok {
		wait := time.Until(w.start.Add(intended + w.cfg.MaxLateness))
		if wait <= 0 {
			w.recordDropped(b, op)
			return true
		}
		w.timer.Reset(wait)
		select {
		case <-w.slots.freed:
			w.timer.Stop()
		case <-w.timer.C:
		case <-done:
			w.timer.Stop()
			return false
		}
		slot, ok = w.slots.tryGet()
	}
	if w.jobs[slot] == nil {
		ch := make(chan job, 1)
		w.jobs[slot] = ch
		w.workers.Go(func() {
			defer crash.Recover("a workload worker", w.crashed)
			w.work(slot, ch)
		})
	}
	w.mu.Lock()
	for _, st := range w.stats(b, op) {
		if st == nil {
			continue
		}
		st.Scheduled++
		st.Sent++
	}
	b.outstanding++
	w.progress.Scheduled++
	w.progress.Sent++
	w.progress.InFlight++
	// Registered here, not by the worker, so that finalize sees every request
	// handed over, also one that a worker has not picked up yet.
	w.inflight[slot] = inflightOp{active: true, op: op, invoke: -1, b: b}
	w.mu.Unlock()
	w.jobs[slot] <- job{op: op, intended: intended, b: b}
	return true
}

func (w *Workload) recordDropped(b *bucket, op Op) {
	w.mu.Lock()
	for _, st := range w.stats(b, op) {
		if st == nil {
			continue
		}
		st.Scheduled++
		st.Dropped++
	}
	w.progress.Scheduled++
	w.progress.Dropped++
	w.mu.Unlock()
}

// stats returns the bucket's stats that op counts in — its kind's, and its
// class's when it has one (else nil) — allocating them. It returns an array,
// not a slice, so that the hot path allocates nothing. Callers hold mu.
func (w *Workload) stats(b *bucket, op Op) [2]*OpStats {
	if b.ops[op.Kind] == nil {
		b.ops[op.Kind] = newOpStats(w.cfg.LatencyThresholds)
	}
	if op.Class == "" {
		return [2]*OpStats{b.ops[op.Kind], nil}
	}
	if b.classes == nil {
		b.classes = map[string]*OpStats{}
	}
	if b.classes[op.Class] == nil {
		b.classes[op.Class] = newOpStats(w.cfg.LatencyThresholds)
	}
	return [2]*OpStats{b.ops[op.Kind], b.classes[op.Class]}
}

// work runs the requests handed to one worker slot until its channel closes.
func (w *Workload) work(slot int, jobs <-chan job) {
	client := slot
	enc := newHistoryEncoder()
	for j := range jobs {
		op := j.op
		op.Client = client
		if op.Kind == OpPut {
			op.Value = MakeValue(client, op.ID, w.cfg.ValueSize)
		}
		invoke := time.Since(w.start)
		w.mu.Lock()
		if w.finalized {
			w.mu.Unlock()
			continue // Run has returned; finalize counted this request
		}
		w.inflight[slot].op, w.inflight[slot].invoke = op, invoke
		recordLatency(w.lateness, invoke-j.intended)
		w.mu.Unlock()

		ctx, cancel := context.WithTimeout(w.reqCtx, w.cfg.Timeout)
		res := w.driver.Do(ctx, op)
		cancel()
		complete := time.Since(w.start)
		// A request the end of the run cut short is not the system's fault.
		cut := res.Outcome != OutcomeOK && w.reqCtx.Err() != nil
		w.finish(slot, enc, j, op, res, cut, invoke, complete)
		if res.Outcome == OutcomeUnknown || cut {
			client += w.cfg.MaxInFlight // retire the client, as Jepsen does
		}
		w.slots.put(slot)
	}
}

// finish records a completed request and writes it to the history.
func (w *Workload) finish(slot int, enc *historyEncoder, j job, op Op, res Result, cut bool, invoke, complete time.Duration) {
	var line []byte
	var encErr error
	if w.cfg.History != nil && op.Kind != OpScan { // scans are not single-key operations (see OpScan)
		h := historyRecord{id: op.ID, client: op.Client, op: op.Kind, key: op.Key, invoke: int64(invoke), outcome: res.Outcome}
		if cut {
			h.outcome = OutcomeUnknown
		} else {
			h.complete, h.hasComplete = int64(complete), true
		}
		switch {
		case op.Kind == OpPut || op.Kind == OpCAS:
			h.value, h.hasValue = op.Value, true
		case op.Kind == OpGet && res.Outcome == OutcomeOK && res.Found && !cut:
			h.value, h.hasValue = res.Value, true
		}
		if op.Kind == OpCAS {
			h.expect, h.hasExpect = op.Expect, true
		}
		h.crdt, h.delta, h.element = crdtFields(op)
		line, encErr = enc.line(&h)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	if w.finalized {
		return // written as open by finalize
	}
	w.inflight[slot].active = false
	w.progress.InFlight--
	stats := w.stats(j.b, op)
	all := stats[:1]
	if stats[1] != nil {
		all = stats[:2]
	}
	switch {
	case cut:
		for _, st := range all {
			st.Unfinished++
		}
	case res.Outcome == OutcomeOK:
		latency := complete - j.intended
		for _, st := range all {
			st.Total++
			st.OK++
			recordLatency(st.Latency, latency)
			for t := range st.SlowerThan {
				if latency > t {
					st.SlowerThan[t]++
				}
			}
		}
		recordLatency(w.serviceTime, complete-invoke)
		w.progress.Completed++
	default:
		class := res.Class
		if class == ClassNone {
			class = ClassUnexpected
		}
		for _, st := range all {
			st.Total++
			st.Errors.add(class, 1)
			if res.Outcome == OutcomeUnknown {
				st.Indeterminate++
			}
		}
		if _, seen := w.firstErrors[class]; !seen {
			msg := fmt.Sprintf("%s %s: outcome %s, status %d", op.Kind, op.Key, res.Outcome, res.Code)
			if res.Err != nil {
				msg = res.Err.Error()
			}
			w.firstErrors[class] = msg
		}
		w.progress.Completed++
		w.progress.Bad++
	}
	j.b.outstanding--
	if w.history != nil {
		if encErr != nil && w.history.err == nil {
			w.history.err = encErr
		}
		w.history.write(line)
	}
	w.tryClose()
}

// tryClose closes, in order, every bucket whose schedule has passed and whose
// requests have all completed. Callers hold mu.
func (w *Workload) tryClose() {
	for w.firstOpen < len(w.buckets) {
		b := w.buckets[w.firstOpen]
		if !b.scheduled || b.outstanding > 0 {
			return
		}
		w.closeBucket(b)
		w.buckets[w.firstOpen] = nil // release the histograms
		w.firstOpen++
	}
}

// closeBucket turns a bucket into its Second, adds it to its phase and hands it
// to OnSecond. Callers hold mu.
func (w *Workload) closeBucket(b *bucket) {
	s := &b.sec
	s.Ops = make(map[OpKind]*OpStats, len(w.kinds))
	s.All = newOpStats(w.cfg.LatencyThresholds)
	for _, k := range w.kinds {
		st := b.ops[k]
		if st == nil {
			st = newOpStats(w.cfg.LatencyThresholds)
		}
		s.Ops[k] = st
		s.All.Merge(st)
	}
	if len(w.cfg.Classes) > 0 {
		s.Classes = make(map[string]*OpStats, len(w.cfg.Classes))
		for _, c := range w.cfg.Classes {
			st := b.classes[c.Name]
			if st == nil {
				st = newOpStats(w.cfg.LatencyThresholds)
			}
			s.Classes[c.Name] = st
		}
	}
	if s.Warmup {
		w.warmup.add(s)
	} else {
		w.measured.add(s)
	}
	p := &w.progress
	p.HaveSecond, p.LastSecond = true, s.Index
	p.SendRate, p.ErrorRatio = s.SendRate(), s.All.ErrorRatio()
	p.P99 = LatencyAt(s.All.Latency, 99)
	if w.emitCh != nil {
		w.emitCh <- s // buffered for every bucket: never blocks
	}
}

// finalize writes the operations still running as open, closes every bucket
// left and stops recording. Callers hold mu.
func (w *Workload) finalize() {
	w.finalized = true
	for slot := range w.inflight {
		f := &w.inflight[slot]
		if !f.active {
			continue
		}
		f.active = false
		w.progress.InFlight--
		for _, st := range w.stats(f.b, f.op) {
			if st != nil {
				st.Unfinished++
			}
		}
		f.b.outstanding--
		if f.invoke < 0 {
			continue // handed over but never sent: nothing to write
		}
		w.abandoned++
		if w.history != nil && f.op.Kind != OpScan {
			h := historyRecord{id: f.op.ID, client: f.op.Client, op: f.op.Kind, key: f.op.Key,
				invoke: int64(f.invoke), outcome: OutcomeUnknown}
			if f.op.Kind == OpPut {
				h.value, h.hasValue = f.op.Value, true
			}
			h.crdt, h.delta, h.element = crdtFields(f.op)
			line, err := newHistoryEncoder().line(&h)
			if err != nil && w.history.err == nil {
				w.history.err = err
			}
			w.history.write(line)
		}
	}
	for _, b := range w.buckets[w.firstOpen:] {
		b.scheduled = true // already so, unless a bug left one behind
	}
	w.tryClose()
	w.progress.Elapsed = time.Since(w.start)
}

// Progress returns a live view of the run; safe to call at any time from any
// goroutine.
func (w *Workload) Progress() Progress {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.progress
	if !w.start.IsZero() && !w.finalized {
		p.Elapsed = time.Since(w.start)
	}
	return p
}

// crdtFields are the history fields of a CRDT workload's operation: its
// value's type, and an incr's delta or an add's or remove's element.
func crdtFields(op Op) (crdt string, delta *int64, element *string) {
	switch op.Kind {
	case OpIncr:
		d := op.Delta
		delta = &d
	case OpAdd, OpRemove:
		e := op.Element
		element = &e
	}
	return op.CRDT, delta, element
}
