package injectors_test

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
)

// The bound: a fault takes effect within 5 ms of its scheduled time
// and is gone within 5 ms of its end.
const effectBudget = 5 * time.Millisecond

// planeTarget is a target that is only a fault plane (like an external
// target with declared proxies), for benchmarks of link faults.
type planeTarget struct{ plane *faultplane.Plane }

func (p planeTarget) Runtime() string                      { return "external" }
func (p planeTarget) Members() []targets.Member            { return nil }
func (p planeTarget) ClientAddrs() []string                { return nil }
func (p planeTarget) Plane() *faultplane.Plane             { return p.plane }
func (p planeTarget) Kill(context.Context, string) error   { return targets.ErrUnsupported }
func (p planeTarget) Start(context.Context, string) error  { return targets.ErrUnsupported }
func (p planeTarget) Stop(context.Context, string) error   { return targets.ErrUnsupported }
func (p planeTarget) Pause(context.Context, string) error  { return targets.ErrUnsupported }
func (p planeTarget) Resume(context.Context, string) error { return targets.ErrUnsupported }
func (p planeTarget) Close(context.Context) error          { return nil }
func (p planeTarget) Control(context.Context, string, string, any, any) error {
	return targets.ErrUnsupported
}

// startEcho serves TCP echo on 127.0.0.1 until the benchmark ends.
func startEcho(b *testing.B) string {
	return testkit.ServeTCP(b, func(c net.Conn) { _, _ = io.Copy(c, c) })
}

// echoBehindProxy starts an echo server and an embedded toxiproxy proxy in
// front of it.
func echoBehindProxy(b *testing.B) (target planeTarget, l faultplane.Link, echo, proxy string) {
	echo = startEcho(b)
	plane, err := faultplane.StartEmbedded(context.Background(), "bench", processtest.Log(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = plane.Close() })
	l = faultplane.Link{From: faultplane.ClientSide, To: "echo"}
	proxy, err = plane.AddProxy(l, "127.0.0.1:0", echo)
	if err != nil {
		b.Fatal(err)
	}
	return planeTarget{plane}, l, echo, proxy
}

// exchange is one 1-byte request and its echo.
type exchange struct{ sent, answered time.Time }

func (e exchange) rtt() time.Duration { return e.answered.Sub(e.sent) }

// pinger sends 1-byte requests on its connection, one at a time, waiting gap
// (idle keep-alive) after each answer; with gap 0 a request is in flight at
// all times.
type pinger struct {
	conn net.Conn
	gap  time.Duration
	mu   sync.Mutex
	log  []exchange
	err  error // why the loop ended
	done chan struct{}
}

func startPinger(b *testing.B, addr string, gap time.Duration) *pinger {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	p := &pinger{conn: c, gap: gap, done: make(chan struct{})}
	go p.run()
	return p
}

func (p *pinger) run() {
	defer close(p.done)
	buf := []byte{1}
	for {
		sent := time.Now()
		_, err := p.conn.Write(buf)
		if err == nil {
			_, err = io.ReadFull(p.conn, buf)
		}
		answered := time.Now()
		p.mu.Lock()
		if err != nil {
			p.err = err
			p.log = append(p.log, exchange{sent: sent, answered: answered})
			p.mu.Unlock()
			return
		}
		p.log = append(p.log, exchange{sent: sent, answered: answered})
		p.mu.Unlock()
		if p.gap > 0 {
			time.Sleep(p.gap) // the connection idles between requests
		}
	}
}

func (p *pinger) reset() {
	p.mu.Lock()
	p.log = p.log[:0]
	p.mu.Unlock()
}

func (p *pinger) stop() {
	p.conn.Close()
	<-p.done
}

// find applies fn to the pinger's exchanges so far.
func (p *pinger) find(fn func([]exchange) (time.Duration, bool)) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fn(p.log)
}

// awaitAll polls every pinger until fn finds its effect; it returns one
// effect time per pinger.
func awaitAll(b *testing.B, ps []*pinger, what string, fn func([]exchange) (time.Duration, bool)) []time.Duration {
	out := make([]time.Duration, len(ps))
	found := make([]bool, len(ps))
	deadline := time.Now().Add(10 * time.Second)
	for left := len(ps); left > 0; {
		for i, p := range ps {
			if !found[i] {
				if d, ok := p.find(fn); ok {
					out[i], found[i] = d, true
					left--
				}
			}
		}
		if left > 0 {
			if time.Now().After(deadline) {
				b.Fatalf("%s: %d connections show no effect within 10s", what, left)
			}
			time.Sleep(time.Millisecond) // polling interval
		}
	}
	return out
}

// loads are the traffic on the 100 connections during the fault benchmarks:
// paced (a request every 5ms per connection, 20k requests/s in all, as a
// busy service) and saturated (a request in flight on every connection at
// all times: as many as the machine can carry, so every goroutine waits its
// turn; the worst case).
var loads = []struct {
	name string
	gap  time.Duration
}{
	{"paced-5ms", 5 * time.Millisecond},
	{"saturated", 0},
}

// faultEffects are a fault benchmark's measurements: per connection, and
// the worst connection per fault, the time the fault took to take effect
// (add) and to go (remove); and the control-plane times of the inject and
// revert calls.
type faultEffects struct {
	add, addAll, remove, removeAll, injectCall, revertCall []time.Duration
}

// inject injects fault with inj and records how long the call took; t0 is
// when it was made.
func (fe *faultEffects) inject(b *testing.B, inj injectors.Injector, tgt targets.Target, fault injectors.Fault) (revert injectors.Revert, t0 time.Time) {
	t0 = time.Now()
	revert, err := inj.Inject(context.Background(), tgt, fault)
	if err != nil {
		b.Fatal(err)
	}
	fe.injectCall = append(fe.injectCall, time.Since(t0))
	return revert, t0
}

// revert calls revert and records how long the call took; t1 is when it
// was made.
func (fe *faultEffects) revert(b *testing.B, revert injectors.Revert) (t1 time.Time) {
	t1 = time.Now()
	if err := revert(context.Background()); err != nil {
		b.Fatal(err)
	}
	fe.revertCall = append(fe.revertCall, time.Since(t1))
	return t1
}

// added records one fault's add time on every connection.
func (fe *faultEffects) added(effects []time.Duration) {
	fe.add = append(fe.add, effects...)
	fe.addAll = append(fe.addAll, slices.Max(effects))
}

// report reports the quantiles of every measurement taken and returns the
// worst add and remove.
func (fe *faultEffects) report(b *testing.B) (addMax, removeMax time.Duration) {
	_, _, addMax = reportQuantiles(b, "add", fe.add)
	reportQuantiles(b, "add-all-conns", fe.addAll)
	_, _, removeMax = reportQuantiles(b, "remove", fe.remove)
	if len(fe.removeAll) > 0 {
		reportQuantiles(b, "remove-all-conns", fe.removeAll)
	}
	reportQuantiles(b, "inject-call", fe.injectCall)
	reportQuantiles(b, "revert-call", fe.revertCall)
	return addMax, removeMax
}

func reportQuantiles(b *testing.B, name string, ds []time.Duration) (p50, p99, maximum time.Duration) {
	p50, p99, maximum = percentile(ds, 0.5), percentile(ds, 0.99), slices.Max(ds)
	b.ReportMetric(float64(p50.Nanoseconds())/1e3, name+"-p50-µs")
	b.ReportMetric(float64(maximum.Nanoseconds())/1e3, name+"-max-µs")
	return p50, p99, maximum
}

// BenchmarkLatencyToxicTakesEffect: 100 connections through one proxy,
// under each of the loads. Each iteration injects a 50ms
// latency fault through the injector and measures, per connection, the time
// from the Inject call until the first request that is delayed was sent
// ("add"), then reverts and measures the time from the revert call until
// the first answer that did not wait out the delay ("remove"). The
// per-connection figures are upper bounds, coarse by up to one round trip
// (plus, for add, the load's gap); inject-call and revert-call are the control-plane
// times (toxiproxy installs a toxic on every open connection before its API
// answers).
func BenchmarkLatencyToxicTakesEffect(b *testing.B) {
	for _, load := range loads {
		b.Run("load="+load.name, func(b *testing.B) { benchLatencyEffect(b, load.gap) })
	}
}

func benchLatencyEffect(b *testing.B, gap time.Duration) {
	const conns = 100
	const delay = 50 * time.Millisecond
	tgt, l, _, proxy := echoBehindProxy(b)
	ps := make([]*pinger, conns)
	for i := range ps {
		ps[i] = startPinger(b, proxy, gap)
	}
	defer func() {
		for _, p := range ps {
			p.stop()
		}
	}()
	fault := injectors.Fault{Name: "bench", Links: []faultplane.Link{l}, Delay: delay}
	var fe faultEffects
	var baseline []time.Duration
	for b.Loop() {
		for _, p := range ps {
			p.reset()
		}
		time.Sleep(gap + 5*time.Millisecond) // undisturbed exchanges, for the baseline round trip
		for _, p := range ps {
			p.mu.Lock()
			for _, e := range p.log {
				baseline = append(baseline, e.rtt())
			}
			p.mu.Unlock()
		}
		revert, t0 := fe.inject(b, injectors.Latency{}, tgt, fault)
		fe.added(awaitAll(b, ps, "add", func(log []exchange) (time.Duration, bool) {
			for _, e := range log {
				if e.rtt() >= delay/2 {
					return max(0, e.sent.Sub(t0)), true
				}
			}
			return 0, false
		}))
		t1 := fe.revert(b, revert)
		// The first answer after the revert call that did not wait out the
		// whole delay: the request in flight, released when the toxic went,
		// or (on a connection idle at t1) the next request.
		effects := awaitAll(b, ps, "remove", func(log []exchange) (time.Duration, bool) {
			for _, e := range log {
				if e.answered.After(t1) && e.rtt() < delay-2*time.Millisecond {
					return e.answered.Sub(t1), true
				}
			}
			return 0, false
		})
		fe.remove = append(fe.remove, effects...)
		fe.removeAll = append(fe.removeAll, slices.Max(effects))
	}
	b.StopTimer()
	addMax, removeMax := fe.report(b)
	rttP50, _, _ := reportQuantiles(b, "baseline-rtt", baseline)
	b.Logf("%d faults on %d busy connections (baseline round trip p50 %s): worst add %s, worst remove %s; within %s: %v",
		len(fe.addAll), conns, rttP50, addMax, removeMax, effectBudget, addMax <= effectBudget && removeMax <= effectBudget)
}

// BenchmarkRejectPartitionTakesEffect: 100 connections through one proxy,
// under each of the loads; a reject partition disables the proxy. "add" is the time from the
// Inject call until each connection is closed; "remove" the time from the
// revert call until a new connection carries a request.
func BenchmarkRejectPartitionTakesEffect(b *testing.B) {
	for _, load := range loads {
		b.Run("load="+load.name, func(b *testing.B) { benchRejectEffect(b, load.gap) })
	}
}

func benchRejectEffect(b *testing.B, gap time.Duration) {
	const conns = 100
	tgt, l, _, proxy := echoBehindProxy(b)
	fault := injectors.Fault{Name: "bench", Behavior: injectors.BehaviorReject, Links: []faultplane.Link{l}}
	part := &injectors.Partition{}
	var fe faultEffects
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		ps := make([]*pinger, conns)
		for i := range ps {
			ps[i] = startPinger(b, proxy, gap)
		}
		b.StartTimer()
		revert, t0 := fe.inject(b, part, tgt, fault)
		effects := make([]time.Duration, conns)
		for i, p := range ps {
			<-p.done
			p.mu.Lock()
			effects[i] = max(0, p.log[len(p.log)-1].answered.Sub(t0))
			p.mu.Unlock()
			p.conn.Close()
		}
		fe.added(effects)
		t1 := fe.revert(b, revert)
		for {
			c, err := net.Dial("tcp", proxy)
			if err == nil {
				buf := []byte{1}
				_, err = c.Write(buf)
				if err == nil {
					_, err = io.ReadFull(c, buf)
				}
				c.Close()
				if err == nil {
					break
				}
			}
			if !errors.Is(err, net.ErrClosed) && time.Since(t1) > 10*time.Second {
				b.Fatalf("the proxy does not carry traffic 10s after the revert: %v", err)
			}
		}
		fe.remove = append(fe.remove, time.Since(t1))
	}
	b.StopTimer()
	addMax, removeMax := fe.report(b)
	b.Logf("%d partitions of %d busy connections: worst add %s, worst remove %s; within %s: %v",
		len(fe.addAll), conns, addMax, removeMax, effectBudget, addMax <= effectBudget && removeMax <= effectBudget)
}

// BenchmarkProxyHop: the round trip of a 1-byte request to an echo server,
// directly and through one toxiproxy proxy without toxics, alternately on
// one connection each.
func BenchmarkProxyHop(b *testing.B) {
	_, _, echo, proxy := echoBehindProxy(b)
	dial := func(addr string) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		return c
	}
	direct, proxied := dial(echo), dial(proxy)
	buf := []byte{1}
	rtt := func(c net.Conn) time.Duration {
		start := time.Now()
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	var ds, ps []time.Duration
	for b.Loop() {
		ds = append(ds, rtt(direct))
		ps = append(ps, rtt(proxied))
	}
	b.StopTimer()
	dp50, dp99 := percentile(ds, 0.5), percentile(ds, 0.99)
	pp50, pp99 := percentile(ps, 0.5), percentile(ps, 0.99)
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	b.ReportMetric(us(dp50), "direct-p50-µs")
	b.ReportMetric(us(dp99), "direct-p99-µs")
	b.ReportMetric(us(pp50), "proxied-p50-µs")
	b.ReportMetric(us(pp99), "proxied-p99-µs")
	b.ReportMetric(us(pp50-dp50), "added-p50-µs")
	b.ReportMetric(us(pp99-dp99), "added-p99-µs")
	b.ReportMetric(float64(pp50)/float64(dp50), "ratio-p50")
	b.ReportMetric(float64(pp99)/float64(dp99), "ratio-p99")
}
