package workload

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Latency histograms count microseconds from 1 µs to LatencyHistogramMax with
// LatencyHistogramDigits significant digits. Longer latencies are recorded as
// LatencyHistogramMax. Histograms made by NewLatencyHistogram merge without loss.
const (
	LatencyHistogramMax    = 5 * time.Minute
	LatencyHistogramDigits = 3
)

// NewLatencyHistogram returns an empty histogram of the workload's geometry.
func NewLatencyHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(LatencyHistogramMax/time.Microsecond), LatencyHistogramDigits)
}

// recordLatency records d in h, clamped to the histogram's range.
func recordLatency(h *hdrhistogram.Histogram, d time.Duration) {
	us := min(max(d.Microseconds(), 0), int64(LatencyHistogramMax/time.Microsecond))
	_ = h.RecordValue(us) // in range by construction
}

// LatencyAt returns the latency at percentile p (0 to 100) of a workload
// histogram, 0 when it is empty or nil.
func LatencyAt(h *hdrhistogram.Histogram, p float64) time.Duration {
	if h == nil || h.TotalCount() == 0 {
		return 0
	}
	return time.Duration(h.ValueAtPercentile(p)) * time.Microsecond
}

// ErrorCounts counts bad requests by class.
type ErrorCounts struct {
	ServerError int64 // 5xx
	RateLimited int64 // 429
	Timeout     int64
	Transport   int64
	Unexpected  int64
}

// Total is the number of bad requests.
func (e ErrorCounts) Total() int64 {
	return e.ServerError + e.RateLimited + e.Timeout + e.Transport + e.Unexpected
}

func (e *ErrorCounts) add(c ErrorClass, n int64) {
	switch c {
	case ClassServerError:
		e.ServerError += n
	case ClassRateLimited:
		e.RateLimited += n
	case ClassTimeout:
		e.Timeout += n
	case ClassTransport:
		e.Transport += n
	default:
		e.Unexpected += n
	}
}

func (e *ErrorCounts) merge(o ErrorCounts) {
	e.ServerError += o.ServerError
	e.RateLimited += o.RateLimited
	e.Timeout += o.Timeout
	e.Transport += o.Transport
	e.Unexpected += o.Unexpected
}

// OpStats counts the requests of one kind (or of all kinds) over a second or a
// phase. Once a second has closed, Sent = Total + Unfinished.
//
// For SLIs: the eligible events are Total, the bad ones Bad(); Dropped and
// Unfinished are neither (the caller decides whether drops make a run
// inconclusive). A latency SLI "requests slower than T" is SlowerThan[T] (exact,
// counted from each raw latency) over OK, given T was in Config.LatencyThresholds.
type OpStats struct {
	// Scheduled requests were due in the period: Sent + Dropped.
	Scheduled int64
	// Sent requests were handed to the driver.
	Sent int64
	// Dropped requests were never sent: no worker was free by their intended
	// time plus Config.MaxLateness.
	Dropped int64
	// Total requests completed with an answer or an error: the eligible events.
	Total int64
	// OK requests were good (Result.Outcome == OutcomeOK).
	OK int64
	// Errors counts the bad requests by class.
	Errors ErrorCounts
	// Indeterminate counts the bad requests whose outcome is unknown (writes
	// that may have taken effect).
	Indeterminate int64
	// Unfinished requests were sent but cut short by the end of the run (its
	// context was cancelled) or were still running when Run returned. They are
	// neither good nor bad.
	Unfinished int64
	// Latency holds the latency of OK requests in microseconds, timed from the
	// intended send time (so a stall of the system or of the generator shows).
	Latency *hdrhistogram.Histogram
	// SlowerThan counts OK requests whose latency exceeded each of
	// Config.LatencyThresholds.
	SlowerThan map[time.Duration]int64
}

func newOpStats(thresholds []time.Duration) *OpStats {
	s := &OpStats{Latency: NewLatencyHistogram(), SlowerThan: make(map[time.Duration]int64, len(thresholds))}
	for _, t := range thresholds {
		s.SlowerThan[t] = 0
	}
	return s
}

// Bad is the number of bad requests: errors of any class.
func (s *OpStats) Bad() int64 { return s.Errors.Total() }

// ErrorRatio is Bad / Total, 0 when nothing completed (check Total: no events is
// inconclusive, not good).
func (s *OpStats) ErrorRatio() float64 {
	if s.Total == 0 {
		return 0
	}
	return float64(s.Bad()) / float64(s.Total)
}

// Merge adds o's counts and latencies to s.
func (s *OpStats) Merge(o *OpStats) {
	s.Scheduled += o.Scheduled
	s.Sent += o.Sent
	s.Dropped += o.Dropped
	s.Total += o.Total
	s.OK += o.OK
	s.Errors.merge(o.Errors)
	s.Indeterminate += o.Indeterminate
	s.Unfinished += o.Unfinished
	if o.Latency != nil && o.Latency.TotalCount() > 0 {
		if s.Latency == nil {
			s.Latency = NewLatencyHistogram()
		}
		s.Latency.Merge(o.Latency)
	}
	if len(o.SlowerThan) > 0 && s.SlowerThan == nil {
		s.SlowerThan = make(map[time.Duration]int64, len(o.SlowerThan))
	}
	for t, n := range o.SlowerThan {
		s.SlowerThan[t] += n
	}
}

// Second is one bucket of requests by intended send time. Buckets are aligned
// to the end of the warmup (where fault offsets start), so Index 0 is the first
// measured second and warmup seconds have negative indices.
type Second struct {
	// Index counts seconds from the end of the warmup.
	Index int
	// Start is the bucket's start as an offset from the workload start.
	Start time.Duration
	// Length is 1 s, or less for a partial first or last bucket, or for the
	// bucket in which the run was interrupted.
	Length time.Duration
	// Warmup marks buckets of the warmup phase.
	Warmup bool
	// Ops holds the kinds the configuration generates.
	Ops map[OpKind]*OpStats
	// Classes holds every configured request class (nil without classes).
	Classes map[string]*OpStats
	// All sums Ops.
	All *OpStats
}

// SendRate is the number of requests sent per second of the bucket.
func (s *Second) SendRate() float64 {
	if s.Length <= 0 {
		return 0
	}
	return float64(s.All.Sent) / s.Length.Seconds()
}

// Phase sums the seconds of the warmup or of the measured phase.
type Phase struct {
	// Seconds is the number of buckets; Length the time they cover.
	Seconds int
	Length  time.Duration
	// Ops holds the kinds the configuration generates (no deletes when
	// DeleteRatio is 0, and so on).
	Ops map[OpKind]*OpStats
	// Classes holds every configured request class (nil without classes).
	Classes map[string]*OpStats
	// All sums Ops.
	All *OpStats
}

func newPhase(kinds []OpKind, classes []Class, thresholds []time.Duration) Phase {
	p := Phase{Ops: make(map[OpKind]*OpStats, len(kinds)), All: newOpStats(thresholds)}
	for _, k := range kinds {
		p.Ops[k] = newOpStats(thresholds)
	}
	if len(classes) > 0 {
		p.Classes = make(map[string]*OpStats, len(classes))
		for _, c := range classes {
			p.Classes[c.Name] = newOpStats(thresholds)
		}
	}
	return p
}

func (p *Phase) add(s *Second) {
	p.Seconds++
	p.Length += s.Length
	for k, st := range s.Ops {
		p.Ops[k].Merge(st)
	}
	for c, st := range s.Classes {
		p.Classes[c].Merge(st)
	}
	p.All.Merge(s.All)
}

// Summary is the result of a run.
type Summary struct {
	// Start is the wall-clock time of the workload start: time zero of the
	// history and of Second.Start.
	Start time.Time
	// Elapsed runs from Start to the end of Run.
	Elapsed time.Duration
	// Interrupted is true when the run's context ended it early.
	Interrupted bool
	// MaxInFlight is the worker pool size used.
	MaxInFlight int
	// Warmup and Measured sum the seconds of each phase. SLOs use Measured.
	Warmup, Measured Phase
	// SendLateness is actual send time − intended send time of every sent
	// request, in microseconds: how far the generator fell behind.
	SendLateness *hdrhistogram.Histogram
	// ServiceTime is the latency of OK requests timed from their actual send
	// time, in microseconds: what a closed-loop tool would report. Compare with
	// the Latency of the phases to see queueing in the generator.
	ServiceTime *hdrhistogram.Histogram
	// Abandoned counts requests whose driver had not returned when Run
	// returned (a driver that ignores its context). They are in Unfinished too.
	Abandoned int64
	// FirstErrors holds the first error message seen of each class.
	FirstErrors map[ErrorClass]string
}

// Progress is a live view of a run, for a progress line.
type Progress struct {
	// Elapsed since the workload start.
	Elapsed time.Duration
	// Warmup is true while requests of the warmup are being scheduled.
	Warmup bool
	// Totals so far, all phases.
	Scheduled, Sent, Dropped, Completed, Bad, InFlight int64
	// LastSecond is the index of the most recently closed second; the fields
	// below describe it. HaveSecond is false before the first one closes.
	HaveSecond bool
	LastSecond int
	SendRate   float64
	ErrorRatio float64
	P99        time.Duration
}
