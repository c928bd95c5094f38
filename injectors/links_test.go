package injectors_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
	"github.com/chaosctl/chaosctl/targets/processdemo"
)

// probeTimeout is how long a probe waits before it calls a link cut.
const probeTimeout = 300 * time.Millisecond

// probeAll probes the proxy of each link concurrently. A probe expected to
// time out waits probeTimeout; others wait longer, as a busy machine may be
// slow to answer.
func probeAll(d targets.Target, links []faultplane.Link, want outcome) map[faultplane.Link]outcome {
	timeout := 5 * time.Second
	if want == outcomeTimeout {
		timeout = probeTimeout
	}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		out = map[faultplane.Link]outcome{}
	)
	for _, l := range links {
		wg.Go(func() {
			o := probe(d.Plane().Addr(l), timeout)
			mu.Lock()
			out[l] = o
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

func expectOutcomes(t *testing.T, d targets.Target, when string, links []faultplane.Link, want outcome) {
	t.Helper()
	for l, got := range probeAll(d, links, want) {
		if got != want {
			t.Errorf("%s: request through %s: %s, want %s", when, l, got, want)
		}
	}
}

// chaosctlToxics returns the toxics chaosctl added on link's proxy.
func chaosctlToxics(t *testing.T, d targets.Target, l faultplane.Link) []string {
	t.Helper()
	txs, err := d.Plane().Proxy(l).Toxics()
	if err != nil {
		t.Fatalf("list toxics of %s: %v", l, err)
	}
	var names []string
	for _, tx := range txs {
		if strings.HasPrefix(tx.Name, faultplane.NamePrefix) {
			names = append(names, tx.Name)
		}
	}
	slices.Sort(names)
	return names
}

func TestLinkFaultsCutExactlyTheirLinks(t *testing.T) {
	d := processtest.StartDemo(t, demo.ClusterSpec{Nodes: 3, Gateways: 1}, processdemo.Options{})
	all := d.Plane().Links()
	twoWay := []faultplane.Link{link("n1", "n2"), link("n1", "n3"), link("n2", "n1"), link("n3", "n1")}
	oneWay := []faultplane.Link{link("n1", "n2"), link("n1", "n3")}
	rest := func(cut []faultplane.Link) []faultplane.Link {
		var out []faultplane.Link
		for _, l := range all {
			if !slices.Contains(cut, l) {
				out = append(out, l)
			}
		}
		return out
	}
	touchingN3 := []faultplane.Link{link("g1", "n3"), link("n1", "n3"), link("n2", "n3"), link("n3", "n1"), link("n3", "n2")}

	tests := []struct {
		name  string
		fault injectors.Fault
		cut   []faultplane.Link // links that must fail with want; every other link flows
		want  outcome
	}{
		{"partition drop, both ways", injectors.Fault{Kind: injectors.KindPartition, Links: twoWay}, twoWay, outcomeTimeout},
		{"partition reject, both ways", injectors.Fault{Kind: injectors.KindPartition, Behavior: injectors.BehaviorReject, Links: twoWay}, twoWay, outcomeRefused},
		{"partition drop, one way", injectors.Fault{Kind: injectors.KindPartition, Links: oneWay}, oneWay, outcomeTimeout},
		{"partition reject, one way", injectors.Fault{Kind: injectors.KindPartition, Behavior: injectors.BehaviorReject, Links: oneWay}, oneWay, outcomeRefused},
		// The process runtime has no network to leave: isolate rejects every
		// link of the member (the planner passes them all).
		{"partition isolate without an Isolator", injectors.Fault{Kind: injectors.KindPartition, Behavior: injectors.BehaviorIsolate, Targets: []string{"n3"}, Links: touchingN3}, touchingN3, outcomeRefused},
		{"blackhole of a member's links", injectors.Fault{Kind: injectors.KindBlackhole, Targets: []string{"n3"}}, touchingN3, outcomeTimeout},
		{"reset of one link", injectors.Fault{Kind: injectors.KindReset, Links: []faultplane.Link{link("n2", "n3")}}, []faultplane.Link{link("n2", "n3")}, outcomeBroken},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := tt.fault
			f.Name = "f" + string(rune('a'+i))
			expectOutcomes(t, d, "before the fault", all, outcomeOK)
			inj, err := injectors.DefaultRegistry().Lookup(f.Kind)
			if err != nil {
				t.Fatal(err)
			}
			revert, err := inj.Inject(ctx, d, f)
			if err != nil {
				t.Fatalf("inject: %v", err)
			}
			expectOutcomes(t, d, "during the fault", tt.cut, tt.want)
			expectOutcomes(t, d, "during the fault", rest(tt.cut), outcomeOK)
			if err := revert(ctx); err != nil {
				t.Fatalf("revert: %v", err)
			}
			if err := revert(ctx); err != nil {
				t.Fatalf("second revert: %v", err)
			}
			expectOutcomes(t, d, "after the revert", all, outcomeOK)
			for _, l := range all {
				if txs := chaosctlToxics(t, d, l); len(txs) > 0 {
					t.Errorf("toxics left on %s after the revert: %v", l, txs)
				}
			}
		})
	}
}

func TestResetSetsTheToxicTimeout(t *testing.T) {
	d := processtest.StartDemo(t, demo.ClusterSpec{Nodes: 2, Gateways: 0}, processdemo.Options{})
	ctx := context.Background()
	l := link("n1", "n2")
	for _, tt := range []struct {
		name    string
		timeout time.Duration
		wantMs  float64
	}{
		{"at once by default", 0, 0},
		{"after the timeout", 300 * time.Millisecond, 300},
		{"rounded to the millisecond", 250400 * time.Microsecond, 250},
	} {
		t.Run(tt.name, func(t *testing.T) {
			revert, err := injectors.Reset{}.Inject(ctx, d, injectors.Fault{Name: "rst", Links: []faultplane.Link{l}, ResetTimeout: tt.timeout})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := revert(ctx); err != nil {
					t.Errorf("revert: %v", err)
				}
			}()
			txs, err := d.Plane().Proxy(l).Toxics()
			if err != nil {
				t.Fatal(err)
			}
			var streams []string
			for _, tx := range txs {
				if tx.Type != "reset_peer" {
					continue
				}
				streams = append(streams, tx.Stream)
				// The attributes come back as JSON numbers.
				if got, ok := tx.Attributes["timeout"].(float64); !ok || got != tt.wantMs {
					t.Errorf("toxic %s (%s): timeout attribute %v, want %v ms", tx.Name, tx.Stream, tx.Attributes["timeout"], tt.wantMs)
				}
			}
			if slices.Sort(streams); !slices.Equal(streams, []string{"downstream", "upstream"}) {
				t.Errorf("reset_peer toxics on streams %v, want both", streams)
			}
			// A request on a new connection is dropped and reset no sooner
			// than the timeout (a busy machine only adds time).
			start := time.Now()
			if got := probe(d.Plane().Addr(l), 5*time.Second); got != outcomeBroken {
				t.Errorf("request during the reset: %s, want %s", got, outcomeBroken)
			}
			if took := time.Since(start); took < tt.timeout.Round(time.Millisecond) {
				t.Errorf("the connection was reset after %s, before the timeout %s", took, tt.timeout)
			}
		})
	}
}

// medianRTT times n GET /healthz over one keep-alive connection to addr.
func medianRTT(t *testing.T, addr string, n int) (p50 time.Duration, samples []time.Duration) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	for range n {
		start := time.Now()
		resp, err := c.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatalf("GET through %s: %v", addr, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		samples = append(samples, time.Since(start))
	}
	return percentile(slices.Clone(samples), 0.5), samples
}

func TestLatencyAddsTheConfiguredDelay(t *testing.T) {
	d := processtest.StartDemo(t, demo.ClusterSpec{Nodes: 2, Gateways: 0}, processdemo.Options{})
	ctx := context.Background()
	slowed, other := link("n1", "n2"), link("n2", "n1")
	const tolerance = 15 * time.Millisecond

	tests := []struct {
		name          string
		delay, jitter time.Duration
	}{
		{"fixed delay", 40 * time.Millisecond, 0},
		{"delay with jitter", 40 * time.Millisecond, 20 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, beforeSamples := medianRTT(t, d.Plane().Addr(slowed), 20)
			revert, err := injectors.Latency{}.Inject(ctx, d, injectors.Fault{Name: "slow", Links: []faultplane.Link{slowed}, Delay: tt.delay, Jitter: tt.jitter})
			if err != nil {
				t.Fatal(err)
			}
			during, samples := medianRTT(t, d.Plane().Addr(slowed), 30)
			_, otherSamples := medianRTT(t, d.Plane().Addr(other), 10)
			if err := revert(ctx); err != nil {
				t.Fatal(err)
			}
			after, afterSamples := medianRTT(t, d.Plane().Addr(slowed), 20)
			base, fastest := slices.Min(beforeSamples), slices.Min(samples)
			t.Logf("p50 before %s, during %s, after %s; fastest before %s, during %s, other link %s",
				before, during, after, base, fastest, slices.Min(otherSamples))

			// A busy machine only ever adds time, so lower bounds hold for the
			// median and upper bounds for the fastest sample.
			// The median of Delay ± Jitter (uniform) strays by up to Jitter/2 in 30 samples.
			if added := during - before; added < tt.delay-tt.jitter/2-2*time.Millisecond {
				t.Errorf("p50 grew by %s, want %s (± %s)", added, tt.delay, tt.jitter/2)
			}
			if fastest < tt.delay-tt.jitter-time.Millisecond {
				t.Errorf("fastest sample %s: faster than %s - %s allows", fastest, tt.delay, tt.jitter)
			}
			if fastest-base > tt.delay+tolerance {
				t.Errorf("fastest sample %s (%s before): the toxic adds more than %s + %s", fastest, base, tt.delay, tolerance)
			}
			if tt.jitter > 0 && fastest > tt.delay-tt.jitter/4 {
				t.Errorf("fastest sample %s: the jitter %s does not show: %v", fastest, tt.jitter, samples)
			}
			if o := slices.Min(otherSamples); o > base+tolerance {
				t.Errorf("the other direction's fastest sample is %s, want about %s: it is not slowed", o, base)
			}
			if a := slices.Min(afterSamples); a > base+tolerance {
				t.Errorf("fastest sample after the revert is %s, want about %s", a, base)
			}
		})
	}
}

func TestBandwidthLimitsTheRate(t *testing.T) {
	d := processtest.StartDemo(t, demo.ClusterSpec{Nodes: 2, Gateways: 0}, processdemo.Options{})
	ctx := context.Background()
	l := link("n1", "n2")
	fetch := func() (int, time.Duration) {
		start := time.Now()
		req, _ := http.NewRequest(http.MethodGet, "http://"+d.Plane().Addr(l)+"/metrics", nil)
		// Uncompressed, so the bytes read are the bytes on the wire.
		req.Header.Set("Accept-Encoding", "identity")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		return len(b), time.Since(start)
	}
	size, unlimited := fetch()
	// A rate at which the metrics page takes about 400ms.
	rate := max(int64(size)*5/2, injectors.MinBytesPerSecond)
	revert, err := injectors.Bandwidth{}.Inject(ctx, d, injectors.Fault{Name: "thin", Links: []faultplane.Link{l}, BytesPerSecond: rate})
	if err != nil {
		t.Fatal(err)
	}
	_, limited := fetch()
	if err := revert(ctx); err != nil {
		t.Fatal(err)
	}
	// The fastest of three, so one stall of a busy machine does not count.
	_, after := fetch()
	for range 2 {
		_, again := fetch()
		after = min(after, again)
	}
	want := time.Duration(float64(size) / float64(rate) * float64(time.Second))
	t.Logf("%d bytes: %s unlimited, %s at %d B/s (expected %s), %s after the revert", size, unlimited, limited, rate, want, after)
	if limited < want*7/10 || limited > 3*want+time.Second {
		t.Errorf("transfer took %s at %d B/s, want about %s", limited, rate, want)
	}
	if after > want/2 {
		t.Errorf("transfer after the revert took %s, want well under %s", after, want)
	}
}

func TestTwoFaultsOnOneLinkDoNotCollide(t *testing.T) {
	d := processtest.StartDemo(t, demo.ClusterSpec{Nodes: 2, Gateways: 0}, processdemo.Options{})
	ctx := context.Background()
	l := link("n1", "n2")
	revertA, err := injectors.Latency{}.Inject(ctx, d, injectors.Fault{Name: "a", Links: []faultplane.Link{l}, Delay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	revertB, err := injectors.Blackhole{}.Inject(ctx, d, injectors.Fault{Name: "b", Links: []faultplane.Link{l}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{injectors.ToxicName("a", "downstream"), injectors.ToxicName("b", "downstream"), injectors.ToxicName("b", "upstream")}
	if got := chaosctlToxics(t, d, l); !slices.Equal(got, want) {
		t.Fatalf("toxics = %v, want %v", got, want)
	}
	if err := revertA(ctx); err != nil {
		t.Fatal(err)
	}
	if got := chaosctlToxics(t, d, l); !slices.Equal(got, want[1:]) {
		t.Fatalf("after reverting a: toxics = %v, want %v", got, want[1:])
	}
	if o := probe(d.Plane().Addr(l), probeTimeout); o != outcomeTimeout {
		t.Errorf("after reverting a, b still holds: request %s, want timeout", o)
	}
	if err := revertB(ctx); err != nil {
		t.Fatal(err)
	}
	if got := chaosctlToxics(t, d, l); len(got) != 0 {
		t.Fatalf("after reverting both: toxics = %v", got)
	}
}

func TestRejectPartitionsSharingALinkReconnectWithTheLast(t *testing.T) {
	d := processtest.StartDemo(t, demo.ClusterSpec{Nodes: 3, Gateways: 0}, processdemo.Options{})
	ctx := context.Background()
	p := &injectors.Partition{}
	shared := link("n1", "n2")
	revertA, err := p.Inject(ctx, d, injectors.Fault{Name: "a", Behavior: injectors.BehaviorReject, Links: []faultplane.Link{shared, link("n1", "n3")}})
	if err != nil {
		t.Fatal(err)
	}
	revertB, err := p.Inject(ctx, d, injectors.Fault{Name: "b", Behavior: injectors.BehaviorReject, Links: []faultplane.Link{shared}})
	if err != nil {
		t.Fatal(err)
	}
	if err := revertA(ctx); err != nil {
		t.Fatal(err)
	}
	expectOutcomes(t, d, "b still active", []faultplane.Link{shared}, outcomeRefused)
	expectOutcomes(t, d, "a reverted", []faultplane.Link{link("n1", "n3")}, outcomeOK)
	if err := revertB(ctx); err != nil {
		t.Fatal(err)
	}
	expectOutcomes(t, d, "both reverted", []faultplane.Link{shared}, outcomeOK)
}

func TestRejectPartitionLeavesOtherHoldsAlone(t *testing.T) {
	d := processtest.StartDemo(t, demo.ClusterSpec{Nodes: 2, Gateways: 0}, processdemo.Options{})
	ctx := context.Background()
	plane, l := d.Plane(), link("n1", "n2")
	// A runtime holds the link while its member is gone.
	if err := plane.Disable(l, "member gone"); err != nil {
		t.Fatal(err)
	}
	revert, err := (&injectors.Partition{}).Inject(ctx, d, injectors.Fault{Name: "a", Behavior: injectors.BehaviorReject, Links: []faultplane.Link{l}})
	if err != nil {
		t.Fatal(err)
	}
	if err := plane.ResetLinks("n2"); err != nil {
		t.Fatal(err)
	}
	if err := revert(ctx); err != nil {
		t.Fatal(err)
	}
	expectOutcomes(t, d, "partition reverted, the member still held", []faultplane.Link{l}, outcomeRefused)
	if err := plane.Enable(l, "member gone"); err != nil {
		t.Fatal(err)
	}
	expectOutcomes(t, d, "both released", []faultplane.Link{l}, outcomeOK)
}

func TestFailedLinkFaultLeavesNothing(t *testing.T) {
	d := processtest.StartDemo(t, demo.ClusterSpec{Nodes: 3, Gateways: 0}, processdemo.Options{})
	ctx := context.Background()
	first, second := link("n1", "n2"), link("n2", "n3")
	// A toxic of the same name already on the second link makes the
	// injection fail half way.
	taken := injectors.ToxicName("dup", "upstream")
	if _, err := d.Plane().Proxy(second).AddToxic(taken, "latency", "upstream", 1, map[string]any{"latency": 1}); err != nil {
		t.Fatal(err)
	}
	_, err := injectors.Blackhole{}.Inject(ctx, d, injectors.Fault{Name: "dup", Links: []faultplane.Link{first, second}})
	if err == nil {
		t.Fatal("inject succeeded over a taken toxic name")
	}
	if got := chaosctlToxics(t, d, first); len(got) != 0 {
		t.Errorf("toxics left on %s after the failed injection: %v", first, got)
	}
	if got := chaosctlToxics(t, d, second); !slices.Equal(got, []string{taken}) {
		t.Errorf("toxics on %s = %v, want only the one that was there: %s", second, got, taken)
	}
	expectOutcomes(t, d, "after the failed injection", []faultplane.Link{first}, outcomeOK)
}

func TestInvalidFaultsAreRejectedBeforeAnythingIsTouched(t *testing.T) {
	d := processtest.StartDemo(t, demo.ClusterSpec{Nodes: 2, Gateways: 0}, processdemo.Options{})
	l := []faultplane.Link{link("n1", "n2")}
	tests := []struct {
		name    string
		inj     injectors.Injector
		fault   injectors.Fault
		wantErr string
	}{
		{"bad name", injectors.Latency{}, injectors.Fault{Name: "a b", Links: l, Delay: time.Second}, "the name must be"},
		{"kind mismatch", injectors.Latency{}, injectors.Fault{Name: "x", Kind: "pause", Links: l, Delay: time.Second}, `kind "pause" given to the latency injector`},
		{"latency under 1ms", injectors.Latency{}, injectors.Fault{Name: "x", Links: l, Delay: 400 * time.Microsecond}, "at least 1ms"},
		{"jitter over delay", injectors.Latency{}, injectors.Fault{Name: "x", Links: l, Delay: time.Millisecond, Jitter: time.Second}, "jitter"},
		{"bandwidth too low", injectors.Bandwidth{}, injectors.Fault{Name: "x", Links: l, BytesPerSecond: 10}, "at least 1000 B/s"},
		{"partition without links", &injectors.Partition{}, injectors.Fault{Name: "x", Targets: []string{"n1", "n2"}}, "no links to cut"},
		{"unknown behavior", &injectors.Partition{}, injectors.Fault{Name: "x", Links: l, Behavior: "explode"}, `behavior "explode"`},
		{"link without proxy", injectors.Blackhole{}, injectors.Fault{Name: "x", Links: []faultplane.Link{link("n1", "n9")}}, "no proxy for link n1→n9"},
		{"no link", injectors.Reset{}, injectors.Fault{Name: "x", Targets: []string{"n9"}}, "no link to act on"},
		{"negative reset timeout", injectors.Reset{}, injectors.Fault{Name: "x", Links: l, ResetTimeout: -time.Second}, "timeout -1s: must be between 0 and 10s"},
		{"reset timeout too long", injectors.Reset{}, injectors.Fault{Name: "x", Links: l, ResetTimeout: time.Minute}, "timeout 1m0s: must be between 0 and 10s"},
		{"no target", injectors.Crash{}, injectors.Fault{Name: "x"}, "no target member"},
		{"zero skew", injectors.ClockSkew{}, injectors.Fault{Name: "x", Targets: []string{"n1"}}, "offset 0"},
		{"corrupt nothing", injectors.Corrupt{}, injectors.Fault{Name: "x", Targets: []string{"n1"}}, "count above 0 or a ratio"},
		{"corrupt ratio over 1", injectors.Corrupt{}, injectors.Fault{Name: "x", Targets: []string{"n1"}, Ratio: 1.5}, "ratio in (0, 1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.inj.Inject(context.Background(), d, tt.fault)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Inject error = %v, want one containing %q", err, tt.wantErr)
			}
			for _, pl := range d.Plane().Links() {
				if got := chaosctlToxics(t, d, pl); len(got) > 0 {
					t.Errorf("toxics on %s after a rejected fault: %v", pl, got)
				}
			}
		})
	}
}
