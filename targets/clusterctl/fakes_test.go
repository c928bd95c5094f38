package clusterctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/democluster"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// fakeClock is a clock whose time moves only by Advance, which runs the
// timers that came due in the calling goroutine.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped && slices.Contains(c.timers, t)
		t.stopped = true
		return was
	}
}

// pending returns how many timers wait to fire.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped {
			n++
		}
	}
	return n
}

// Advance moves the time by d and runs every timer due by then, in order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	c.timers = slices.DeleteFunc(c.timers, func(t *fakeTimer) bool {
		if t.stopped {
			return true
		}
		if !t.at.After(c.now) {
			due = append(due, t)
			return true
		}
		return false
	})
	c.mu.Unlock()
	slices.SortStableFunc(due, func(a, b *fakeTimer) int { return a.at.Compare(b.at) })
	for _, t := range due {
		t.f()
	}
}

// fakeTarget is a targets.Target whose membership operations only record
// themselves; failResume makes that many Resume calls fail. Its plane, when
// set, is a real embedded toxiproxy.
type fakeTarget struct {
	plane   *faultplane.Plane
	members []targets.Member

	mu         sync.Mutex
	calls      []string
	failResume int
}

var errResumeFailed = errors.New("resume failed (test)")

// record notes a call; it returns nil, what the fake's operations answer.
func (t *fakeTarget) record(op, id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls = append(t.calls, op+" "+id)
	return nil
}

func (t *fakeTarget) Calls() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.calls)
}

// failResumes makes the next n Resume calls fail.
func (t *fakeTarget) failResumes(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failResume = n
}

func (t *fakeTarget) Runtime() string                          { return "fake" }
func (t *fakeTarget) Members() []targets.Member                { return t.members }
func (t *fakeTarget) ClientAddrs() []string                    { return nil }
func (t *fakeTarget) Plane() *faultplane.Plane                 { return t.plane }
func (t *fakeTarget) Kill(_ context.Context, id string) error  { return t.record("kill", id) }
func (t *fakeTarget) Start(_ context.Context, id string) error { return t.record("start", id) }
func (t *fakeTarget) Stop(_ context.Context, id string) error  { return t.record("stop", id) }
func (t *fakeTarget) Pause(_ context.Context, id string) error { return t.record("pause", id) }
func (t *fakeTarget) Resume(_ context.Context, id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failResume > 0 {
		t.failResume--
		return errResumeFailed
	}
	t.calls = append(t.calls, "resume "+id)
	return nil
}
func (t *fakeTarget) Control(_ context.Context, id, action string, _, _ any) error {
	return t.record(action, id)
}
func (t *fakeTarget) Close(context.Context) error {
	t.record("close", "")
	if t.plane != nil {
		return t.plane.Close()
	}
	return nil
}

// testSpec is the cluster the tests resolve against: g1, n1..n3.
var testSpec = demo.ClusterSpec{Nodes: 3, Gateways: 1}

// testTopology is testSpec's members and the demo's links.
func testTopology() Topology {
	return Topology{Members: testSpec.MemberIDs(), Nodes: testSpec.NodeIDs(), Links: democluster.Links(testSpec)}
}

func quietLog() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}

// newTestManager returns a manager over a fake target through a real
// tracker and ledger, on a fake clock.
func newTestManager(t *testing.T) (*Manager, *fakeTarget, *fakeClock, *injectors.Ledger) {
	t.Helper()
	var members []targets.Member
	for _, id := range testSpec.MemberIDs() {
		members = append(members, targets.Member{ID: id, Role: demo.RoleOf(id), Addr: "127.0.0.1:1"})
	}
	target := &fakeTarget{members: members}
	ledger, err := injectors.CreateLedger(t.TempDir(), injectors.RunInfo{Run: fmt.Sprintf("test-%d", time.Now().UnixNano()), Runtime: "fake", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ledger.Close() })
	tr := injectors.NewTracker(injectors.DefaultRegistry(), target, ledger, quietLog())
	m := NewManager(tr, testTopology(), quietLog())
	clock := newFakeClock()
	m.clock = clock
	return m, target, clock, ledger
}
