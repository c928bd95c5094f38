package injectors_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/internal/crash"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// fakeNet is the network of receiptTarget's members, in the style of
// etcd's rafttest: what a reach probe sees is decided here, from the real
// fault plane's state (toxics and disabled proxies, read through the
// toxiproxy API) when the plane is on the traffic path, and ignoring it when
// it is not, as a misconfigured proxy would be.
type fakeNet struct {
	plane  *faultplane.Plane
	onPath bool
	// delayFactor multiplies a latency toxic's delay (1: faithful; 3: the
	// fault Chaos Mesh users measured).
	delayFactor float64
	// throttle: a bandwidth toxic limits the throughput (false: ignored).
	throttle bool
	base     time.Duration // round trip of an untouched link
	// busy is added to every round trip: a loaded machine.
	busy time.Duration
}

// reach answers a probe of l the way the real network would.
func (n *fakeNet) reach(l faultplane.Link, timeout time.Duration, pad int) api.ReachAnswer {
	ans := api.ReachAnswer{To: l.To, Addr: n.plane.Addr(l)}
	rtt, bytes := (n.base + n.busy).Seconds(), int64(3+pad)
	if n.onPath {
		px := n.plane.Proxy(l)
		if px == nil {
			ans.Error = "no proxy"
			return ans
		}
		if !px.Enabled || len(n.plane.HeldBy(l)) > 0 {
			ans.Error = "connect: connection refused"
			return ans
		}
		toxics, err := px.Toxics()
		if err != nil {
			ans.Error = err.Error()
			return ans
		}
		for _, tx := range toxics {
			switch tx.Type {
			case "timeout":
				ans.Error = "context deadline exceeded"
				return ans
			case "reset_peer":
				// The request is held the toxic's timeout, then reset.
				ans.Error = "read: connection reset by peer"
				if float64(toInt(tx.Attributes["timeout"]))/1000 > timeout.Seconds() {
					ans.Error = "context deadline exceeded"
				}
				return ans
			case "latency":
				rtt += n.delayFactor * float64(toInt(tx.Attributes["latency"])) / 1000
			case "bandwidth":
				if n.throttle {
					rtt += float64(bytes) / (float64(toInt(tx.Attributes["rate"])) * 1000)
				}
			}
		}
	}
	if rtt > timeout.Seconds() {
		ans.Error = "context deadline exceeded"
		return ans
	}
	ans.OK, ans.Status, ans.RTT, ans.Bytes = true, 200, rtt, bytes
	return ans
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case float64:
		return int64(x)
	case int64:
		return x
	case int:
		return int64(x)
	}
	return 0
}

// receiptTarget is a target whose members exist only in fakeNet and in the
// scripted states; its fault plane is a real embedded toxiproxy.
type receiptTarget struct {
	net *fakeNet
	mu  sync.Mutex
	// status of each member; a missing one is running.
	status map[string]targets.MemberStatus
	// corrupted counts each member's damaged values; clock its offset.
	corrupted map[string]int64
	clock     map[string]time.Duration
	// damage is how many values a corrupt control damages.
	damage int
	// deaf members do not answer their control endpoint.
	deaf map[string]bool
}

func (t *receiptTarget) Runtime() string                      { return "fake" }
func (t *receiptTarget) Members() []targets.Member            { return nil }
func (t *receiptTarget) ClientAddrs() []string                { return nil }
func (t *receiptTarget) Plane() *faultplane.Plane             { return t.net.plane }
func (t *receiptTarget) Kill(context.Context, string) error   { return nil }
func (t *receiptTarget) Start(context.Context, string) error  { return nil }
func (t *receiptTarget) Stop(context.Context, string) error   { return nil }
func (t *receiptTarget) Pause(context.Context, string) error  { return nil }
func (t *receiptTarget) Resume(context.Context, string) error { return nil }
func (t *receiptTarget) Close(context.Context) error          { return nil }
func (t *receiptTarget) ClientAddr(id string) string          { return "" }
func (t *receiptTarget) setStatus(id string, s targets.MemberStatus) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.status[id] = s
}

func (t *receiptTarget) MemberStatus(_ context.Context, id string) (targets.MemberStatus, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.status[id]; ok {
		return s, nil
	}
	return targets.MemberStatus{Running: true, PID: 100, Detail: "fake: running"}, nil
}

func (t *receiptTarget) Control(_ context.Context, id, action string, body, out any) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.deaf[id] {
		return fmt.Errorf("control %s on %s: connection refused", action, id)
	}
	var answer any
	switch action {
	case "reach":
		var req api.ReachRequest
		b, _ := json.Marshal(body)
		_ = json.Unmarshal(b, &req)
		timeout, _ := time.ParseDuration(req.Timeout)
		answer = t.net.reach(faultplane.Link{From: id, To: req.To}, timeout, req.Pad)
	case "status":
		answer = map[string]any{"pid": 100, "clockOffset": t.clock[id].String(), "corrupted": t.corrupted[id]}
	case "clock-skew":
		var req struct{ Offset string }
		b, _ := json.Marshal(body)
		_ = json.Unmarshal(b, &req)
		t.clock[id], _ = time.ParseDuration(req.Offset)
		answer = map[string]string{"offset": req.Offset}
	case "corrupt":
		t.corrupted[id] += int64(t.damage)
		answer = map[string]any{"keys": make([]string, t.damage)}
	default:
		return fmt.Errorf("control %s: %w", action, targets.ErrUnsupported)
	}
	if out == nil {
		return nil
	}
	b, _ := json.Marshal(answer)
	return json.Unmarshal(b, out)
}

var receiptMembers = []string{"n1", "n2", "n3"}

// newReceiptTarget starts an embedded fault plane with a proxy for every
// ordered pair of n1..n3 (their upstreams are never dialled).
func newReceiptTarget(t *testing.T) *receiptTarget {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	plane, err := faultplane.StartEmbedded(context.Background(), fmt.Sprintf("receipts-%d", time.Now().UnixNano()), logrus.NewEntry(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = plane.Close() })
	for _, from := range receiptMembers {
		for _, to := range receiptMembers {
			if from != to {
				if _, err := plane.AddProxy(link(from, to), "127.0.0.1:0", "127.0.0.1:9"); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return &receiptTarget{
		net:    &fakeNet{plane: plane, onPath: true, delayFactor: 1, throttle: true, base: 2 * time.Millisecond},
		status: map[string]targets.MemberStatus{}, corrupted: map[string]int64{}, clock: map[string]time.Duration{},
		damage: 3, deaf: map[string]bool{},
	}
}

// applyAndVerify applies f through the default registry and returns its
// applied receipt and the revert.
func applyAndVerify(t *testing.T, tg *receiptTarget, f injectors.Fault) (injectors.Receipt, injectors.Baseline, injectors.Revert) {
	t.Helper()
	reg := injectors.DefaultRegistry()
	ctx := context.Background()
	base := reg.Baseline(ctx, tg, f)
	inj, err := reg.Lookup(f.Kind)
	if err != nil {
		t.Fatal(err)
	}
	revert, err := inj.Inject(ctx, tg, f)
	if err != nil {
		t.Fatalf("inject %s: %v", f.Name, err)
	}
	t.Cleanup(func() { _ = revert(context.Background()) })
	return reg.Verify(ctx, tg, f, injectors.PhaseApplied, base), base, revert
}

func partitionOfN2(behavior string) injectors.Fault {
	return injectors.Fault{Name: "cut-n2", Kind: injectors.KindPartition, Behavior: behavior,
		Targets: receiptMembers,
		Links:   []faultplane.Link{link("n1", "n2"), link("n2", "n1"), link("n3", "n2"), link("n2", "n3")}}
}

func checkOf(t *testing.T, r injectors.Receipt, subject string) injectors.ReceiptCheck {
	t.Helper()
	for _, c := range r.Checks {
		if c.Subject == subject {
			return c
		}
	}
	t.Fatalf("receipt has no check of %s: %+v", subject, r.Checks)
	return injectors.ReceiptCheck{}
}

func TestPartitionReceiptsVerifyTheCutAndTheRest(t *testing.T) {
	for _, behavior := range []string{injectors.BehaviorDrop, injectors.BehaviorReject} {
		t.Run(behavior, func(t *testing.T) {
			tg := newReceiptTarget(t)
			rec, base, revert := applyAndVerify(t, tg, partitionOfN2(behavior))
			if !rec.Verified || rec.Failed() {
				t.Fatalf("receipt of a partition that landed: %+v", rec)
			}
			if c := checkOf(t, rec, "link n1→n2"); !c.OK || !strings.HasPrefix(c.Got, "fails") {
				t.Errorf("cut link: %+v", c)
			}
			if c := checkOf(t, rec, "link n1→n3"); !c.OK || c.Want != "works (not cut by this fault)" {
				t.Errorf("witness link: %+v", c)
			}
			if err := revert(context.Background()); err != nil {
				t.Fatal(err)
			}
			back := injectors.DefaultRegistry().Verify(context.Background(), tg, partitionOfN2(behavior), injectors.PhaseReverted, base)
			if !back.Verified || len(back.Checks) != 6 {
				t.Fatalf("revert receipt: %+v", back)
			}
		})
	}
}

// A proxy that is not on the traffic path takes its toxics and changes
// nothing: the receipt says the fault did not land, link by link.
func TestReceiptCatchesAProxyOffTheTrafficPath(t *testing.T) {
	tg := newReceiptTarget(t)
	tg.net.onPath = false
	rec, _, _ := applyAndVerify(t, tg, partitionOfN2(injectors.BehaviorDrop))
	if !rec.Failed() {
		t.Fatalf("a partition whose proxy is off the path verified: %+v", rec)
	}
	if !strings.Contains(rec.Summary, "4 of 6 checks contradict partition cut-n2") || !strings.Contains(rec.Summary, "link n1→n2: want cut (a probe fails), got works") {
		t.Errorf("summary %q does not say which links still work", rec.Summary)
	}
}

// After the revert a link that still fails, with nothing else acting on
// it, is a fault left in place.
func TestRevertReceiptCatchesALinkStillCut(t *testing.T) {
	tg := newReceiptTarget(t)
	f := partitionOfN2(injectors.BehaviorReject)
	_, base, _ := applyAndVerify(t, tg, f)
	// The revert "succeeded" but the proxy stays disabled under the
	// fault's own hold: as if the enable never reached toxiproxy.
	back := injectors.DefaultRegistry().Verify(context.Background(), tg, f, injectors.PhaseReverted, base)
	if !back.Failed() || !strings.Contains(back.Summary, "want works again") {
		t.Fatalf("revert receipt with the links still cut: %+v", back)
	}
}

// A witness link that fails because its far end is down is excused: the
// partition is not to blame.
func TestReceiptExcusesWhatAnotherFaultExplains(t *testing.T) {
	tg := newReceiptTarget(t)
	f := partitionOfN2(injectors.BehaviorDrop)
	base := injectors.DefaultRegistry().Baseline(context.Background(), tg, f)
	// n3 goes down after the baseline, before the receipt (another fault).
	inj, _ := injectors.DefaultRegistry().Lookup(f.Kind)
	revert, err := inj.Inject(context.Background(), tg, f)
	if err != nil {
		t.Fatal(err)
	}
	defer revert(context.Background())
	other := injectors.Fault{Name: "other", Kind: injectors.KindLatency, Delay: 9 * time.Second, Links: []faultplane.Link{link("n1", "n3")}}
	oinj, _ := injectors.DefaultRegistry().Lookup(other.Kind)
	orevert, err := oinj.Inject(context.Background(), tg, other)
	if err != nil {
		t.Fatal(err)
	}
	defer orevert(context.Background())
	tg.setStatus("n3", targets.MemberStatus{Running: false, Detail: "fake: killed"})
	rec := injectors.DefaultRegistry().Verify(context.Background(), tg, f, injectors.PhaseApplied, base)
	if !rec.Verified {
		t.Fatalf("receipt blamed the partition for another fault: %+v", rec)
	}
	c := checkOf(t, rec, "link n1→n3")
	if c.OK || !strings.Contains(c.Excused, "toxic chaosctl-other-downstream") || !strings.Contains(c.Excused, "n3 is down") {
		t.Errorf("witness n1→n3: %+v", c)
	}
}

func TestLatencyReceiptMeasuresTheAddedRoundTrip(t *testing.T) {
	f := injectors.Fault{Name: "slow", Kind: injectors.KindLatency, Delay: 100 * time.Millisecond, Jitter: 10 * time.Millisecond, Links: []faultplane.Link{link("n1", "n2")}}
	for _, tc := range []struct {
		factor float64
		ok     bool
	}{{1, true}, {3, false}, {0, false}} {
		t.Run(fmt.Sprintf("x%g", tc.factor), func(t *testing.T) {
			tg := newReceiptTarget(t)
			tg.net.delayFactor = tc.factor
			rec, _, _ := applyAndVerify(t, tg, f)
			c := checkOf(t, rec, "link n1→n2")
			if rec.Verified != tc.ok || c.OK != tc.ok || c.Value == nil {
				t.Fatalf("delay ×%g: receipt %+v", tc.factor, rec)
			}
			if got, want := *c.Value, tc.factor*0.1; got < want-0.001 || got > want+0.001 {
				t.Errorf("added round trip %.4fs, want %.3fs", got, want)
			}
		})
	}
}

// A reset with a timeout holds the probe's request that long before the
// reset: the receipt waits to see the reset, up to a bound, and says so.
func TestResetReceiptWaitsForTheTimeout(t *testing.T) {
	for _, tc := range []struct {
		timeout   time.Duration
		want, got string
	}{
		{0, "reset (a probe fails)", "connection reset by peer"},
		{time.Second, "reset after 1s (a probe fails; one waits 1.5s)", "connection reset by peer"},
		{5 * time.Second, "reset after 5s (a probe fails; one waits 2.5s)", "context deadline exceeded"},
	} {
		t.Run(tc.timeout.String(), func(t *testing.T) {
			tg := newReceiptTarget(t)
			f := injectors.Fault{Name: "rst", Kind: injectors.KindReset, ResetTimeout: tc.timeout, Links: []faultplane.Link{link("n1", "n2")}}
			rec, _, _ := applyAndVerify(t, tg, f)
			c := checkOf(t, rec, "link n1→n2")
			if !rec.Verified || !c.OK || c.Want != tc.want || !strings.Contains(c.Got, tc.got) {
				t.Errorf("receipt of a reset after %s: %+v", tc.timeout, c)
			}
		})
	}
}

func TestBandwidthReceiptMeasuresTheThroughput(t *testing.T) {
	f := injectors.Fault{Name: "thin", Kind: injectors.KindBandwidth, BytesPerSecond: 50_000, Links: []faultplane.Link{link("n1", "n2")}}
	for _, throttle := range []bool{true, false} {
		tg := newReceiptTarget(t)
		tg.net.throttle = throttle
		rec, _, _ := applyAndVerify(t, tg, f)
		if rec.Verified != throttle {
			t.Errorf("throttle %v: receipt %+v", throttle, rec)
		}
	}
}

func TestMembershipReceiptsReadTheRuntimesState(t *testing.T) {
	ctx := context.Background()
	reg := injectors.DefaultRegistry()
	tg := newReceiptTarget(t)
	pause := injectors.Fault{Name: "freeze", Kind: injectors.KindPause, Targets: []string{"n2"}}
	// The runtime says n2 still runs: the pause did not land.
	if rec := reg.Verify(ctx, tg, pause, injectors.PhaseApplied, injectors.Baseline{}); !rec.Failed() || !strings.Contains(rec.Summary, "want paused, got running") {
		t.Errorf("pause that did not land: %+v", rec)
	}
	tg.setStatus("n2", targets.MemberStatus{Running: true, Paused: true, Detail: "fake: state T"})
	if rec := reg.Verify(ctx, tg, pause, injectors.PhaseApplied, injectors.Baseline{}); !rec.Verified {
		t.Errorf("pause that landed: %+v", rec)
	}

	crash := injectors.Fault{Name: "kill", Kind: injectors.KindCrash, Targets: []string{"n2"}}
	tg.setStatus("n2", targets.MemberStatus{Running: false, Detail: "fake: gone"})
	if rec := reg.Verify(ctx, tg, crash, injectors.PhaseApplied, injectors.Baseline{}); !rec.Verified {
		t.Errorf("crash that landed: %+v", rec)
	}
	// Back up but deaf: not ready, so the revert did not finish its job.
	tg.setStatus("n2", targets.MemberStatus{Running: true, Detail: "fake: running"})
	tg.deaf["n2"] = true
	if rec := reg.Verify(ctx, tg, crash, injectors.PhaseReverted, injectors.Baseline{}); !rec.Failed() || !strings.Contains(rec.Summary, "control endpoint does not answer") {
		t.Errorf("restart that is not ready: %+v", rec)
	}
}

func TestControlFaultReceipts(t *testing.T) {
	ctx := context.Background()
	reg := injectors.DefaultRegistry()
	tg := newReceiptTarget(t)
	skew := injectors.Fault{Name: "skew", Kind: injectors.KindClockSkew, Offset: 2 * time.Second, Targets: []string{"n1"}}
	rec, base, revert := applyAndVerify(t, tg, skew)
	if !rec.Verified || *rec.Checks[0].Value != 2 {
		t.Errorf("clock skew: %+v", rec)
	}
	if err := revert(ctx); err != nil {
		t.Fatal(err)
	}
	if back := reg.Verify(ctx, tg, skew, injectors.PhaseReverted, base); !back.Verified {
		t.Errorf("clock skew reverted: %+v", back)
	}

	// A corrupt fault on an empty store damages nothing: it did not land.
	corrupt := injectors.Fault{Name: "rot", Kind: injectors.KindCorrupt, Ratio: 0.5, Targets: []string{"n1"}}
	tg.damage = 0
	if rec, _, _ := applyAndVerify(t, tg, corrupt); !rec.Failed() || !strings.Contains(rec.Summary, "nothing was stored to damage") {
		t.Errorf("corrupt of an empty store: %+v", rec)
	}
	tg.damage = 4
	if rec, _, _ := applyAndVerify(t, tg, corrupt); !rec.Verified || *rec.Checks[0].Value != 4 {
		t.Errorf("corrupt that damaged 4 values: %+v", rec)
	}
}

// A receipt cut short by the end of the run decides nothing: a cancelled
// probe must never pass for a cut link.
func TestCancelledReceiptIsSkipped(t *testing.T) {
	tg := newReceiptTarget(t)
	tg.net.onPath = false // every probe would say "works"
	tr := injectors.NewTracker(injectors.DefaultRegistry(), tg, nil, logrus.NewEntry(logrus.New()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := tr.Verify(ctx, partitionOfN2(injectors.BehaviorDrop), injectors.PhaseApplied, injectors.Baseline{})
	if rec == nil || rec.Failed() || rec.Verified || rec.Skipped == "" {
		t.Fatalf("cancelled receipt: %+v", rec)
	}
	corrupt := injectors.Fault{Name: "rot", Kind: injectors.KindCorrupt, Ratio: 0.5, Targets: []string{"n1"}}
	if rec := tr.Verify(context.Background(), corrupt, injectors.PhaseReverted, injectors.Baseline{}); rec != nil {
		t.Errorf("an instant fault got a revert receipt: %+v", rec)
	}
}

// A machine that got busy after the baseline slows every link: the slowed
// link measures too slow, but the reference link from the same member,
// which the fault leaves alone, shows the machine's share, and the check is
// excused. A delay the fault itself tripled is not.
func TestLatencyReceiptTellsABusyMachineFromAWrongDelay(t *testing.T) {
	f := injectors.Fault{Name: "slow", Kind: injectors.KindLatency, Delay: 50 * time.Millisecond, Links: []faultplane.Link{link("n1", "n2")}}
	reg := injectors.DefaultRegistry()
	for _, tc := range []struct {
		name   string
		factor float64
		busy   time.Duration
		ok     bool
	}{{"busy machine", 1, 200 * time.Millisecond, true}, {"tripled delay", 3, 0, false}} {
		t.Run(tc.name, func(t *testing.T) {
			tg := newReceiptTarget(t)
			tg.net.delayFactor = tc.factor
			base := reg.Baseline(context.Background(), tg, f)
			inj, _ := reg.Lookup(f.Kind)
			revert, err := inj.Inject(context.Background(), tg, f)
			if err != nil {
				t.Fatal(err)
			}
			defer revert(context.Background())
			tg.net.busy = tc.busy
			rec := reg.Verify(context.Background(), tg, f, injectors.PhaseApplied, base)
			c := checkOf(t, rec, "link n1→n2")
			if rec.Verified != tc.ok || c.OK {
				t.Fatalf("receipt %+v", rec)
			}
			if tc.ok && !strings.Contains(c.Excused, "the machine was slow: link n1→n3") {
				t.Errorf("excuse %q", c.Excused)
			}
		})
	}
}

// A baseline measured on a busy moment reads high, so the added round trip
// reads low; a round trip that still carries the whole delay shows the
// toxic in place. One that carries none of it does not.
func TestLatencyReceiptSurvivesANoisyBaseline(t *testing.T) {
	f := injectors.Fault{Name: "slow", Kind: injectors.KindLatency, Delay: 30 * time.Millisecond, Links: []faultplane.Link{link("n1", "n2")}}
	reg := injectors.DefaultRegistry()
	for _, tc := range []struct {
		name   string
		factor float64
		busy   time.Duration // while the baseline is taken
		ok     bool
	}{
		{"landed", 1, 8 * time.Millisecond, true}, {"not landed", 0, 8 * time.Millisecond, false},
		// The baseline 10 times the link's round trip, as make test-long saw.
		{"landed, very busy baseline", 1, 20 * time.Millisecond, true}, {"not landed, very busy baseline", 0, 20 * time.Millisecond, false},
		// A link slower than the delay before the fault must also add half of it.
		{"slow link, not landed", 0, 40 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := newReceiptTarget(t)
			tg.net.delayFactor = tc.factor
			tg.net.busy = tc.busy
			base := reg.Baseline(context.Background(), tg, f)
			if tc.name != "slow link, not landed" {
				tg.net.busy = 0
			}
			inj, _ := reg.Lookup(f.Kind)
			revert, err := inj.Inject(context.Background(), tg, f)
			if err != nil {
				t.Fatal(err)
			}
			defer revert(context.Background())
			rec := reg.Verify(context.Background(), tg, f, injectors.PhaseApplied, base)
			if rec.Verified != tc.ok {
				t.Fatalf("receipt %+v", rec)
			}
		})
	}
}

// panickyReach is a receiptTarget whose members' reach control panics, as
// a bug in a link probe would.
type panickyReach struct{ *receiptTarget }

func (t panickyReach) Control(ctx context.Context, id, action string, body, out any) error {
	if action == "reach" {
		panic("injected by the test: reach from " + id)
	}
	return t.receiptTarget.Control(ctx, id, action, body, out)
}

// A panic in one of a link receipt's probes (run in parallel) does not end
// the program: it reaches the goroutine that takes the receipt, where the
// run's crash path (crash.Recover, as the runner's goSafe) ends the run and
// reverts every fault. Both the baseline and the receipt pass it on.
func TestAPanicInALinkProbeReachesTheReceiptsGoroutine(t *testing.T) {
	tg := panickyReach{newReceiptTarget(t)}
	f := partitionOfN2(injectors.BehaviorDrop)
	reg := injectors.DefaultRegistry()
	for name, take := range map[string]func(){
		"baseline": func() { reg.Baseline(context.Background(), tg, f) },
		"receipt":  func() { reg.Verify(context.Background(), tg, f, injectors.PhaseApplied, injectors.Baseline{}) },
	} {
		var got *crash.Panic
		func() {
			defer crash.Recover("the receipt of fault cut-n2", func(p *crash.Panic) { got = p })
			take()
		}()
		if got == nil || !strings.HasPrefix(got.Where, "the receipt of fault cut-n2: the ") || !strings.Contains(fmt.Sprint(got.Value), "injected by the test") {
			t.Fatalf("%s: the receipt's goroutine got %+v, want the probe's panic", name, got)
		}
		t.Logf("%s: %v", name, got)
	}
}
