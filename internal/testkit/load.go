package testkit

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// LoadResult is what a burst of requests got.
type LoadResult struct {
	OK     int // 2xx and 404 (a read of a key not written yet)
	Shed   int // 503
	Other  int // any other status
	Failed int // no answer (a transport error)
	// Unsent counts the requests an open loop could not send on time
	// because every worker was still waiting for an answer.
	Unsent   int
	Admitted []time.Duration // latency of each OK answer
	Elapsed  time.Duration
}

// Quantile returns the q-quantile (0 < q ≤ 1) of the admitted requests'
// latencies, 0 when there were none.
func (r LoadResult) Quantile(q float64) time.Duration {
	if len(r.Admitted) == 0 {
		return 0
	}
	s := slices.Clone(r.Admitted)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*q))]
}

// Goodput is the OK answers per second.
func (r LoadResult) Goodput() float64 { return float64(r.OK) / r.Elapsed.Seconds() }

func (r LoadResult) String() string {
	return fmt.Sprintf("%d ok (%.0f/s, p50 %s, p99 %s), %d shed with 503, %d other, %d failed, %d unsent, in %s",
		r.OK, r.Goodput(), r.Quantile(0.5).Round(10*time.Microsecond), r.Quantile(0.99).Round(10*time.Microsecond),
		r.Shed, r.Other, r.Failed, r.Unsent, r.Elapsed.Round(time.Millisecond))
}

// load sends requests and collects their answers.
type load struct {
	c       *http.Client
	request func(i int) *http.Request
	mu      sync.Mutex
	res     LoadResult
}

func (l *load) send(i int) {
	req := l.request(i)
	start := time.Now()
	resp, err := l.c.Do(req)
	took := time.Since(start)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err != nil:
		l.res.Failed++
	case resp.StatusCode < 300 || resp.StatusCode == http.StatusNotFound:
		l.res.OK++
		l.res.Admitted = append(l.res.Admitted, took)
	case resp.StatusCode == http.StatusServiceUnavailable:
		l.res.Shed++
	default:
		l.res.Other++
	}
}

// workers starts n workers sending the request of each index sent on next;
// close next, then wait on wg.
func (l *load) workers(n int) (next chan int, wg *sync.WaitGroup) {
	next, wg = make(chan int), &sync.WaitGroup{}
	for range n {
		wg.Go(func() {
			for i := range next {
				l.send(i)
			}
		})
	}
	return next, wg
}

// ClosedLoop sends n requests (request(i) is the i-th) from workers clients,
// each sending its next request when its last was answered.
func ClosedLoop(c *http.Client, request func(i int) *http.Request, workers, n int) LoadResult {
	l := &load{c: c, request: request}
	next, wg := l.workers(workers)
	start := time.Now()
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	l.res.Elapsed = time.Since(start)
	return l.res
}

// OpenLoop offers rate requests per second for d, whether or not earlier
// ones were answered (the offered load does not slow down when the server
// does), from at most workers requests in flight: a request due while all
// are busy is counted Unsent. Bounded in time (d, then the answers of the
// requests in flight) and in count (rate·d).
func OpenLoop(c *http.Client, request func(i int) *http.Request, rate float64, d time.Duration, workers int) LoadResult {
	l := &load{c: c, request: request}
	next, wg := l.workers(workers)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for i := 0; time.Since(start) < d; i++ {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait) // pacing the offered load, not synchronisation
		}
		select {
		case next <- i:
		default:
			l.mu.Lock()
			l.res.Unsent++
			l.mu.Unlock()
		}
	}
	close(next)
	wg.Wait()
	l.res.Elapsed = time.Since(start)
	return l.res
}
