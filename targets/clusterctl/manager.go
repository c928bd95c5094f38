package clusterctl

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/internal/crash"
)

// Timeouts of the fault operations (crash and restart wait for members to be
// ready again), and how many ended faults the manager remembers.
const (
	faultOpTimeout     = 60 * time.Second
	expireRetryBackoff = 5 * time.Second
	endedFaultsKept    = 20
)

// Why a fault ended (FaultView.EndReason).
const (
	EndHealed   = "healed"
	EndExpired  = "expired"
	EndShutdown = "shutdown"
	EndDone     = "done" // corrupt: nothing to revert
	// EndLapsed: a held fault whose client stopped renewing its lease.
	EndLapsed = "lapsed"
)

// FaultView is a fault as the control API shows it.
type FaultView struct {
	injectors.Fault
	TTL              string    `json:"ttl"`
	Applied          time.Time `json:"applied"`
	Expires          time.Time `json:"expires"`
	Remaining        string    `json:"remaining"`
	RemainingSeconds float64   `json:"remainingSeconds"`
	// Ended and EndReason are set once the fault is gone.
	Ended     time.Time `json:"ended,omitzero"`
	EndReason string    `json:"endReason,omitempty"`
	// Error is the last failed attempt to revert it at expiry (retried).
	Error string `json:"error,omitempty"`
	// Lease is a held fault's lease (Request.Lease): it reverts at
	// LeaseExpires unless its client renews it first (and at Expires
	// whatever happens). Empty for a fault that is not held.
	Lease          string    `json:"lease,omitempty"`
	LeaseExpires   time.Time `json:"leaseExpires,omitzero"`
	LeaseRemaining string    `json:"leaseRemaining,omitempty"`
}

// FaultsView is GET /v1/faults and the answer of DELETE /v1/faults.
type FaultsView struct {
	Faults []FaultView `json:"faults"`
	Ended  []FaultView `json:"ended,omitempty"`
}

// clock is the manager's time; tests substitute a fake one.
type clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d; stop cancels it.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
func (systemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// Manager applies imperative faults through a tracker (so the ledger
// journals them) and reverts each at its expiry. It is safe for concurrent
// use.
//
// Each fault's expiry is the dead-man switch of `cluster up`: a client
// (`chaosctl inject`, `heal`, a GameDay) that makes one-shot requests
// leaves the fault to its TTL, which every fault must carry, and nothing
// outlives it. A client that stays (`chaosctl inject --hold`) also takes a
// short lease with the fault and renews it (Renew): when it stops renewing
// (killed, its terminal lost), the fault reverts within the lease. The
// manager itself runs in `cluster up`'s process beside the embedded fault
// plane: killed, its link faults die with the plane, and `chaosctl recover`
// thaws and stops the members from the ledger.
type Manager struct {
	tracker *injectors.Tracker
	top     Topology
	log     *logrus.Entry
	clock   clock

	mu       sync.Mutex
	live     map[string]*liveFault
	order    []string // live fault names, in order of application
	ended    []FaultView
	counters map[string]int
	closed   bool
	expiring sync.WaitGroup
	// onPanic learns of a panic in a fault's expiry (UpOptions.OnPanic).
	onPanic func(*crash.Panic)
}

type liveFault struct {
	fault     injectors.Fault
	ttl       time.Duration
	applied   time.Time
	expires   time.Time
	stopTimer func() bool // nil until applied
	pending   bool        // being applied
	lastErr   string
	reverted  bool
	// lease is a held fault's lease (0: not held), leaseExpires when it
	// lapses unless renewed.
	lease        time.Duration
	leaseExpires time.Time
	// ending is why the fault is being reverted at its deadline (EndExpired
	// or EndLapsed), set once its timer fired: no renewal revives it.
	ending string
}

// deadline is when the fault reverts by itself: its expiry, or sooner the
// end of its lease.
func (lf *liveFault) deadline() time.Time {
	if lf.lease > 0 && lf.leaseExpires.Before(lf.expires) {
		return lf.leaseExpires
	}
	return lf.expires
}

// NewManager returns a manager applying faults resolved against top through
// tr.
func NewManager(tr *injectors.Tracker, top Topology, log *logrus.Entry) *Manager {
	return &Manager{tracker: tr, top: top, log: log, clock: systemClock{}, live: map[string]*liveFault{}, counters: map[string]int{}}
}

// statusError carries the HTTP status of a failed control call.
type statusError struct {
	status int
	err    error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

func badRequest(err error) error { return &statusError{status: http.StatusBadRequest, err: err} }

func (m *Manager) view(lf *liveFault, now time.Time) FaultView {
	v := FaultView{Fault: lf.fault, TTL: lf.ttl.String(), Applied: lf.applied, Expires: lf.expires, Error: lf.lastErr}
	rem := max(lf.expires.Sub(now), 0)
	v.Remaining = roundRemaining(rem).String()
	v.RemainingSeconds = rem.Seconds()
	if lf.lease > 0 {
		v.Lease, v.LeaseExpires = lf.lease.String(), lf.leaseExpires
		v.LeaseRemaining = roundRemaining(max(lf.leaseExpires.Sub(now), 0)).String()
	}
	return v
}

// roundRemaining rounds a remaining time to the second, or to the
// millisecond below one second.
func roundRemaining(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}

// Apply resolves and applies req and schedules its expiry. An unnamed fault
// is named KIND-N.
func (m *Manager) Apply(ctx context.Context, req Request) (FaultView, error) {
	f, ttl, err := req.Resolve(m.top)
	if err != nil {
		return FaultView{}, badRequest(err)
	}
	lease, err := req.leaseOf(f.Kind)
	if err != nil {
		return FaultView{}, badRequest(err)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return FaultView{}, &statusError{status: http.StatusServiceUnavailable, err: errors.New("the cluster is shutting down")}
	}
	if f.Name == "" {
		for {
			m.counters[f.Kind]++
			f.Name = fmt.Sprintf("%s-%d", f.Kind, m.counters[f.Kind])
			if m.live[f.Name] == nil {
				break
			}
		}
	}
	if m.live[f.Name] != nil {
		m.mu.Unlock()
		return FaultView{}, &statusError{status: http.StatusConflict, err: fmt.Errorf("a fault named %s is live: heal it first (chaosctl heal %s) or choose another --name", f.Name, f.Name)}
	}
	lf := &liveFault{fault: f, ttl: ttl, lease: lease, pending: true}
	m.live[f.Name] = lf
	m.mu.Unlock()

	err = m.tracker.Apply(ctx, f)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		delete(m.live, f.Name)
		return FaultView{}, fmt.Errorf("nothing of it remains applied: %w", err)
	}
	now := m.clock.Now()
	lf.pending, lf.applied, lf.expires = false, now, now.Add(ttl)
	fields := logrus.Fields{"fault": f.Name, "kind": f.Kind, "targets": f.Targets, "ttl": ttl}
	if lease > 0 {
		lf.leaseExpires = now.Add(lease)
		fields["lease"] = lease
	}
	m.log.WithFields(fields).Info("fault applied")
	if capabilities(f.Kind).Instant {
		// Nothing to revert (corrupt): the cluster is expected to repair the damage.
		delete(m.live, f.Name)
		if err := m.tracker.Revert(ctx, f.Name); err != nil {
			m.log.WithError(err).Warn("record the corrupt fault as done")
		}
		v := m.view(lf, now)
		v.Ended, v.EndReason = now, EndDone
		m.addEnded(v)
		return v, nil
	}
	m.order = append(m.order, f.Name)
	name := f.Name
	// When shutdown began meanwhile, its RevertAll reverts this fault too:
	// the tracker lists faults being applied, and waits for them.
	lf.stopTimer = m.clock.AfterFunc(lf.deadline().Sub(now), func() { m.expire(name) })
	return m.view(lf, now), nil
}

// Renew renews the lease of the held fault name: it now reverts when its
// lease has passed again without a renewal (or at its TTL). A fault that
// is gone, or whose lease already lapsed, is a 404 (errNoFault): its holder
// has nothing left to hold.
func (m *Manager) Renew(name string) (FaultView, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return FaultView{}, &statusError{status: http.StatusServiceUnavailable, err: errors.New("the cluster is shutting down; it reverts every fault")}
	}
	lf := m.live[name]
	now := m.clock.Now()
	switch {
	case lf == nil:
		return FaultView{}, &statusError{status: http.StatusNotFound, err: fmt.Errorf("%w: %q", errNoFault, name)}
	case lf.pending:
		return FaultView{}, &statusError{status: http.StatusConflict, err: fmt.Errorf("fault %s is still being applied; try again", name)}
	case lf.lease == 0:
		return FaultView{}, &statusError{status: http.StatusConflict, err: fmt.Errorf("fault %s is not held (it was injected without --hold): it lasts its TTL, there is no lease to renew", name)}
	case lf.ending != "" || !now.Before(lf.deadline()):
		return FaultView{}, &statusError{status: http.StatusNotFound, err: fmt.Errorf("%w: %q ended (its lease or its TTL ran out) and is being reverted", errNoFault, name)}
	}
	lf.leaseExpires = now.Add(lf.lease)
	if lf.stopTimer != nil {
		lf.stopTimer()
	}
	lf.stopTimer = m.clock.AfterFunc(lf.deadline().Sub(now), func() { m.expire(name) })
	return m.view(lf, now), nil
}

func (m *Manager) addEnded(v FaultView) {
	m.ended = append(m.ended, v)
	if len(m.ended) > endedFaultsKept {
		m.ended = slices.Delete(m.ended, 0, len(m.ended)-endedFaultsKept)
	}
}

// finish drops a reverted fault from the live ones; m.mu is held.
func (m *Manager) finish(lf *liveFault, reason string) FaultView {
	now := m.clock.Now()
	v := m.view(lf, now)
	v.Ended, v.EndReason, v.Error = now, reason, ""
	if !lf.reverted {
		lf.reverted = true
		delete(m.live, lf.fault.Name)
		m.order = slices.DeleteFunc(m.order, func(n string) bool { return n == lf.fault.Name })
		m.addEnded(v)
	}
	return v
}

// expire reverts fault name at its expiry; a failed revert is retried. A
// panic in it is logged and handed to onPanic, whose owner shuts the
// cluster down (Shutdown reverts the fault), instead of ending the process
// with the fault applied.
func (m *Manager) expire(name string) {
	defer crash.Recover("the expiry of fault "+name, m.panicked)
	m.mu.Lock()
	lf := m.live[name]
	if lf == nil || lf.reverted || m.closed {
		// Once closed, Shutdown's RevertAll reverts what is left.
		m.mu.Unlock()
		return
	}
	if lf.ending == "" {
		deadline := lf.deadline()
		if m.clock.Now().Before(deadline) {
			// A timer that fired as its lease was renewed: the renewal's
			// own timer reverts the fault at the new deadline.
			m.mu.Unlock()
			return
		}
		lf.ending = EndExpired
		if deadline.Before(lf.expires) {
			lf.ending = EndLapsed
		}
	}
	m.expiring.Add(1)
	m.mu.Unlock()
	defer m.expiring.Done()

	ctx, cancel := context.WithTimeout(context.Background(), faultOpTimeout)
	defer cancel()
	err := m.tracker.Revert(ctx, name)
	m.mu.Lock()
	defer m.mu.Unlock()
	log := m.log.WithFields(logrus.Fields{"fault": name, "kind": lf.fault.Kind})
	if err != nil {
		lf.lastErr = err.Error()
		log.WithError(err).Errorf("the fault expired but reverting it failed; retrying in %s", expireRetryBackoff)
		if !m.closed {
			lf.stopTimer = m.clock.AfterFunc(expireRetryBackoff, func() { m.expire(name) })
		}
		return
	}
	m.finish(lf, lf.ending)
	if lf.ending == EndLapsed {
		log.WithField("lease", lf.lease).Warn("dead-man switch: the fault's holder stopped renewing its lease; the fault was reverted")
		return
	}
	log.WithField("ttl", lf.ttl).Info("fault expired and was reverted")
}

func (m *Manager) panicked(p *crash.Panic) {
	m.log.WithField("stack", string(p.Stack)).Errorf("%v: stopping the cluster, which reverts every fault", p)
	if m.onPanic != nil {
		m.onPanic(p)
	}
}

// errNoFault is wrapped when Heal names no live fault.
var errNoFault = errors.New("no live fault of that name")

// Heal reverts the live fault name now.
func (m *Manager) Heal(ctx context.Context, name string) (FaultView, error) {
	m.mu.Lock()
	lf := m.live[name]
	if lf == nil || lf.pending {
		live := slices.Clone(m.order)
		m.mu.Unlock()
		if lf != nil {
			return FaultView{}, &statusError{status: http.StatusConflict, err: fmt.Errorf("fault %s is still being applied; try again", name)}
		}
		have := "there are no live faults"
		if len(live) > 0 {
			have = "live faults: " + strings.Join(live, ", ")
		}
		return FaultView{}, &statusError{status: http.StatusNotFound, err: fmt.Errorf("%w: %q (%s)", errNoFault, name, have)}
	}
	if lf.stopTimer != nil {
		lf.stopTimer()
	}
	m.mu.Unlock()
	if err := m.tracker.Revert(ctx, name); err != nil {
		m.mu.Lock()
		lf.lastErr = err.Error()
		if !lf.reverted && !m.closed {
			lf.stopTimer = m.clock.AfterFunc(max(lf.deadline().Sub(m.clock.Now()), expireRetryBackoff), func() { m.expire(name) })
		}
		m.mu.Unlock()
		return FaultView{}, fmt.Errorf("the fault may remain applied: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.finish(lf, EndHealed)
	m.log.WithFields(logrus.Fields{"fault": name, "kind": lf.fault.Kind}).Info("fault healed")
	return v, nil
}

// HealAll reverts every live fault, newest first, going on past failures.
func (m *Manager) HealAll(ctx context.Context) ([]FaultView, error) {
	m.mu.Lock()
	names := slices.Clone(m.order)
	m.mu.Unlock()
	var out []FaultView
	var errs []error
	for i := len(names) - 1; i >= 0; i-- {
		v, err := m.Heal(ctx, names[i])
		if errors.Is(err, errNoFault) {
			continue // expired meanwhile
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", names[i], err))
			continue
		}
		out = append(out, v)
	}
	return out, errors.Join(errs...)
}

// List returns the live faults, in order of application, and the recently
// ended ones.
func (m *Manager) List() FaultsView {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	out := FaultsView{Faults: []FaultView{}, Ended: slices.Clone(m.ended)}
	for _, name := range m.order {
		out.Faults = append(out.Faults, m.view(m.live[name], now))
	}
	return out
}

// Shutdown stops the expiry timers and reverts every live fault; no fault
// is applied afterwards.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	for _, lf := range m.live {
		if lf.stopTimer != nil {
			lf.stopTimer()
		}
	}
	m.mu.Unlock()
	m.expiring.Wait()
	err := m.tracker.RevertAll(ctx)
	m.mu.Lock()
	for _, name := range slices.Clone(m.order) {
		if !slices.Contains(m.tracker.Active(), name) {
			m.finish(m.live[name], EndShutdown)
		}
	}
	m.mu.Unlock()
	return err
}
