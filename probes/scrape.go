package probes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/internal/crash"
	"github.com/chaosctl/chaosctl/targets"
)

// DefaultScrapeInterval is how often a Scraper reads every member's /metrics.
const DefaultScrapeInterval = time.Second

// scrapeTimeoutShare is the part of the interval a scrape may take: a round
// ends, and is emitted, before the next one starts, so a member that stops
// answering shows as down within two intervals.
const scrapeTimeoutShare = 0.8

// maxExpositionBytes bounds what one scrape reads.
const maxExpositionBytes = 16 << 20

// roleGateway is targets.Member.Role of a client-facing demo gateway.
const roleGateway = "gateway"

// Metric families a scrape reads (the demo cluster's chaosdemo_*
// metrics and the process collector).
const (
	familyRequests = "chaosdemo_requests_total"
	familyDuration = "chaosdemo_request_duration_seconds"
	familyInflight = "chaosdemo_inflight_requests"
	familyShed     = "chaosdemo_shed_total"
	familyBreaker  = "chaosdemo_breaker_state"
	familyCache    = "chaosdemo_cache_requests_total"
	familyCPU      = "process_cpu_seconds_total"
	familyStart    = "process_start_time_seconds"
)

// cacheLookupResults are the results of chaosdemo_cache_requests_total that
// count as lookups; "hit" is the good one.
var cacheLookupResults = map[string]bool{"hit": true, "miss": true, "stale": true, "negative": true}

// breakerOpen is the value of chaosdemo_breaker_state for an open breaker.
const breakerOpen = 2

// Scraper reads every member's /metrics once per interval and turns two
// consecutive scrapes of a member into a MemberSample.
type Scraper struct {
	members  func() []targets.Member
	interval time.Duration
	timeout  time.Duration
	client   *http.Client
	log      *logrus.Entry

	// Touched by Run's goroutine only.
	prev map[string]*snapshot // last good scrape by member ID
	down map[string]bool      // members whose last scrape failed (to log changes once)
}

// NewScraper returns a scraper of the members the function lists at each
// round (so restarted or replaced members are followed). interval ≤ 0 means
// DefaultScrapeInterval; a nil client gets a private one; a nil log discards.
func NewScraper(members func() []targets.Member, interval time.Duration, client *http.Client, log *logrus.Entry) *Scraper {
	if interval <= 0 {
		interval = DefaultScrapeInterval
	}
	if client == nil {
		client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second}}
	}
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = logrus.NewEntry(l)
	}
	return &Scraper{
		members:  members,
		interval: interval,
		timeout:  time.Duration(float64(interval) * scrapeTimeoutShare),
		client:   client,
		log:      log.WithField("component", "scraper"),
		prev:     map[string]*snapshot{},
		down:     map[string]bool{},
	}
}

// Interval is the time between two rounds.
func (s *Scraper) Interval() time.Duration { return s.interval }

// Run scrapes every member at once, then once per interval, and calls emit
// with each round's start time and one sample per member, in the order the
// members function lists them. A member that does not answer within 80 % of
// the interval is reported with Up false. Run returns nil when ctx ends (a
// round cut short by ctx is not emitted) and an error only for a scraper
// without members function or emit. Call it once; emit runs on Run's
// goroutine.
func (s *Scraper) Run(ctx context.Context, emit func(second time.Time, samples []MemberSample)) error {
	if s.members == nil || emit == nil {
		return errors.New("scraper: members function and emit are required")
	}
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	now := time.Now()
	for {
		samples := s.round(ctx)
		if ctx.Err() != nil {
			return nil
		}
		emit(now, samples)
		select {
		case <-ctx.Done():
			return nil
		case now = <-tick.C:
		}
	}
}

// round scrapes every member concurrently and turns the answers into samples.
func (s *Scraper) round(ctx context.Context) []MemberSample {
	members := s.members()
	snaps := make([]*snapshot, len(members))
	errs := make([]error, len(members))
	// A panic in a scrape (parsing a member's metrics) is passed on to
	// Run's goroutine, whose caller ends the run on it.
	var g crash.Group
	for i, m := range members {
		g.Go("the scrape of member "+m.ID, func() { snaps[i], errs[i] = s.scrape(ctx, m) })
	}
	g.Wait()

	out := make([]MemberSample, len(members))
	seen := make(map[string]bool, len(members))
	for i, m := range members {
		seen[m.ID] = true
		log := s.log.WithField("member", m.ID)
		if errs[i] != nil {
			out[i] = MemberSample{Time: time.Now(), Member: m.ID, Role: m.Role, Error: errs[i].Error()}
			delete(s.prev, m.ID)
			if !s.down[m.ID] && ctx.Err() == nil {
				log.WithError(errs[i]).Info("member does not answer /metrics")
			}
			s.down[m.ID] = true
			continue
		}
		if s.down[m.ID] {
			log.Info("member answers /metrics again")
			delete(s.down, m.ID)
		}
		prev := s.prev[m.ID]
		if prev != nil && prev.addr != snaps[i].addr {
			prev = nil // another process at another address: start afresh
		}
		out[i] = memberSample(m.ID, m.Role, prev, snaps[i])
		s.prev[m.ID] = snaps[i]
	}
	for id := range s.prev {
		if !seen[id] {
			delete(s.prev, id)
			delete(s.down, id)
		}
	}
	return out
}

// scrape reads one member's /metrics.
func (s *Scraper) scrape(ctx context.Context, m targets.Member) (*snapshot, error) {
	if m.Addr == "" {
		return nil, errors.New("scrape: member has no address")
	}
	url := metricsURL(m.Addr)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := s.client.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("scrape %s: no answer within %s", url, s.timeout)
		}
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	at := time.Now()
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("scrape %s: status %d", url, resp.StatusCode)
	}
	switch f := expfmt.ResponseFormat(resp.Header); f.FormatType() {
	case expfmt.TypeTextPlain, expfmt.TypeUnknown:
	default:
		return nil, fmt.Errorf("scrape %s: exposition format %q: only the text format is read", url, f)
	}
	snap, err := parseSnapshot(io.LimitReader(resp.Body, maxExpositionBytes), at)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("scrape %s: no complete answer within %s", url, s.timeout)
		}
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	snap.addr = m.Addr
	return snap, nil
}

// metricsURL is the /metrics URL of a member address (host:port or a URL).
func metricsURL(addr string) string {
	if strings.Contains(addr, "://") {
		return strings.TrimSuffix(addr, "/") + "/metrics"
	}
	return "http://" + addr + "/metrics"
}

// snapshot is what one scrape holds that samples need.
type snapshot struct {
	addr        string
	at          time.Time
	startTime   float64 // process_start_time_seconds; 0 when not exported
	cpu         float64 // process_cpu_seconds_total
	haveCPU     bool
	inflight    float64
	breakerOpen int
	shed        float64
	requests    map[string]requestSeries   // by label signature
	cache       map[string]float64         // by result label
	latency     map[string]histogramSeries // by label signature
}

type requestSeries struct {
	value float64
	bad   bool // 5xx or 429
}

type histogramSeries struct {
	count   float64
	buckets map[float64]float64 // finite upper bound → cumulative count
}

// parseSnapshot reads a text exposition.
func parseSnapshot(r io.Reader, at time.Time) (*snapshot, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse exposition: %w", err)
	}
	s := &snapshot{
		at:       at,
		requests: map[string]requestSeries{},
		cache:    map[string]float64{},
		latency:  map[string]histogramSeries{},
	}
	if f := families[familyStart]; f != nil && len(f.GetMetric()) > 0 {
		s.startTime = value(f.GetMetric()[0])
	}
	if f := families[familyCPU]; f != nil && len(f.GetMetric()) > 0 {
		s.cpu, s.haveCPU = value(f.GetMetric()[0]), true
	}
	for _, m := range families[familyInflight].GetMetric() {
		s.inflight += value(m)
	}
	for _, m := range families[familyShed].GetMetric() {
		s.shed += value(m)
	}
	for _, m := range families[familyBreaker].GetMetric() {
		if value(m) == breakerOpen {
			s.breakerOpen++
		}
	}
	for _, m := range families[familyCache].GetMetric() {
		if r := label(m, "result"); cacheLookupResults[r] {
			s.cache[r] += value(m)
		}
	}
	for _, m := range families[familyRequests].GetMetric() {
		code := label(m, "code")
		s.requests[signature(m)] = requestSeries{value: value(m), bad: code == "429" || (len(code) == 3 && code[0] == '5')}
	}
	for _, m := range families[familyDuration].GetMetric() {
		h := m.GetHistogram()
		if h == nil {
			continue
		}
		hs := histogramSeries{count: float64(h.GetSampleCount()), buckets: map[float64]float64{}}
		for _, b := range h.GetBucket() {
			if le := b.GetUpperBound(); !math.IsInf(le, +1) {
				hs.buckets[le] = float64(b.GetCumulativeCount())
			}
		}
		s.latency[signature(m)] = hs
	}
	return s, nil
}

// value reads a counter, gauge or untyped sample.
func value(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetUntyped() != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// signature identifies a series within its family.
func signature(m *dto.Metric) string {
	pairs := make([]string, 0, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		pairs = append(pairs, l.GetName()+"="+l.GetValue())
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "\xff")
}

// increase is how much a counter grew from prev to cur. After a restart
// counters begin again from zero, so everything in cur is new; a series new
// since prev grew from zero within the interval (client_golang creates a
// labelled series at its first event). NaN and negative values count 0.
func increase(prev float64, inPrev, restarted bool, cur float64) float64 {
	if !(cur > 0) {
		return 0
	}
	if !inPrev || restarted || !(cur >= prev) {
		return cur
	}
	return cur - prev
}

// restartedBetween reports whether the member's process started anew between
// two scrapes: its start time changed, or any counter went down (counters of
// one registry reset together, and only a restart makes them go down).
func restartedBetween(prev, cur *snapshot) bool {
	if prev.startTime != 0 && cur.startTime != 0 && prev.startTime != cur.startTime {
		return true
	}
	if (prev.haveCPU && cur.haveCPU && cur.cpu < prev.cpu) || cur.shed < prev.shed {
		return true
	}
	for sig, c := range cur.requests {
		if p, ok := prev.requests[sig]; ok && c.value < p.value {
			return true
		}
	}
	for sig, c := range cur.latency {
		if p, ok := prev.latency[sig]; ok && c.count < p.count {
			return true
		}
	}
	for result, c := range cur.cache {
		if p, ok := prev.cache[result]; ok && c < p {
			return true
		}
	}
	return false
}

// memberSample compares two scrapes of one member; prev nil gives a sample
// without rates.
func memberSample(member, role string, prev, cur *snapshot) MemberSample {
	out := MemberSample{
		Time: cur.at, Member: member, Role: role, Up: true,
		Inflight: cur.inflight, BreakerOpen: cur.breakerOpen,
	}
	if prev == nil {
		return out
	}
	dt := cur.at.Sub(prev.at)
	if dt <= 0 {
		return out
	}
	secs := dt.Seconds()
	restarted := restartedBetween(prev, cur)
	out.HaveRates, out.Interval, out.Restarted = true, dt, restarted

	for sig, c := range cur.requests {
		p, ok := prev.requests[sig]
		n := increase(p.value, ok, restarted, c.value)
		out.Requests += n
		if c.bad {
			out.Errors += n
		}
	}
	out.RequestRate = out.Requests / secs
	out.ErrorRate = out.Errors / secs
	if out.Requests > 0 {
		out.ServerErrorRatio = out.Errors / out.Requests
	}

	merged := map[float64]float64{}
	for sig, c := range cur.latency {
		p, ok := prev.latency[sig]
		if !ok || restarted {
			p = histogramSeries{} // reset: everything in cur is new
		}
		out.LatencyCount += max(c.count-p.count, 0)
		for le, n := range c.buckets {
			merged[le] += max(n-p.buckets[le], 0)
		}
	}
	if out.LatencyCount > 0 {
		out.LatencyBuckets = bucketsOf(merged)
		out.ServerLatencyP99, _ = bucketQuantile(0.99, out.LatencyBuckets, out.LatencyCount)
	}

	if cur.haveCPU && prev.haveCPU {
		out.CPUUtilization = increase(prev.cpu, true, restarted, cur.cpu) / secs
	}
	out.ShedRate = increase(prev.shed, true, restarted, cur.shed) / secs

	var hits float64
	for result, c := range cur.cache {
		p, ok := prev.cache[result]
		n := increase(p, ok, restarted, c)
		out.CacheLookups += n
		if result == "hit" {
			hits = n
		}
	}
	if out.CacheLookups > 0 {
		out.HaveCache, out.CacheHitRatio = true, hits/out.CacheLookups
	}
	return out
}
