package injectors

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// Fault kinds, as named in experiment files (the faults section of examples/quickstart.yaml).
const (
	KindPartition = "partition"
	KindLatency   = "latency"
	KindBandwidth = "bandwidth"
	KindReset     = "reset"
	KindBlackhole = "blackhole"
	KindCrash     = "crash"
	KindPause     = "pause"
	KindRestart   = "restart"
	KindClockSkew = "clockSkew"
	KindCorrupt   = "corrupt"
	// KindHTTP is in http.go.
)

// Partition behaviours.
const (
	// BehaviorDrop stops the data on cut links: connections open, callers
	// time out. It is the default.
	BehaviorDrop = "drop"
	// BehaviorReject refuses connections on cut links and closes open ones.
	BehaviorReject = "reject"
	// BehaviorIsolate takes the fault's Targets off the network: a target
	// that is a targets.Isolator disconnects them (docker: network
	// disconnect, reconnect on revert); on any other target the fault's
	// Links (every link from or to them) are rejected.
	BehaviorIsolate = "isolate"
)

// Fault is one concrete fault: its kind, what it acts on (already resolved:
// no picks, no partition modes) and the kind's parameters. Fields a kind does
// not use are ignored.
type Fault struct {
	// Name identifies the fault in the ledger and in toxic names; letters,
	// digits, '.', '_' and '-'.
	Name string `json:"name"`
	// Kind is one of the Kind constants.
	Kind string `json:"kind"`
	// Targets are the members a membership fault acts on. A link fault
	// without Links acts on every link of the plane from or to a target.
	Targets []string `json:"targets,omitempty"`
	// Links are the directed links a link fault acts on, or a partition cuts.
	Links []faultplane.Link `json:"links,omitempty"`
	// Behavior is a partition's: BehaviorDrop ("" means drop) or BehaviorReject.
	Behavior string `json:"behavior,omitempty"`
	// Delay and Jitter are a latency fault's: each request-response exchange
	// through a link takes Delay ± Jitter longer. Toxiproxy counts whole
	// milliseconds; both are rounded to the millisecond.
	Delay  time.Duration `json:"delay,omitempty"`
	Jitter time.Duration `json:"jitter,omitempty"`
	// ResetTimeout is a reset's: toxiproxy's reset_peer drops the first
	// data of a connection, holds it ResetTimeout, then resets it (0: at
	// once). Toxiproxy counts whole milliseconds; it is rounded to the
	// millisecond.
	ResetTimeout time.Duration `json:"resetTimeout,omitempty"`
	// BytesPerSecond limits each direction of a bandwidth fault's links;
	// toxiproxy counts whole KB/s (1000 bytes), so at least 1000.
	BytesPerSecond int64 `json:"bytesPerSecond,omitempty"`
	// Offset is a clock skew's shift of the members' clocks.
	Offset time.Duration `json:"offset,omitempty"`
	// Ratio is the share (0 < Ratio ≤ 1) of each target's stored values a
	// corrupt fault damages.
	Ratio float64 `json:"ratio,omitempty"`
	// Count, when above 0, is the exact number of values a corrupt fault
	// damages on each target; it takes precedence over Ratio (for the
	// imperative `chaosctl inject corrupt --count`).
	Count int `json:"count,omitempty"`
	// Seed chooses which values a corrupt fault damages. Each target mixes
	// in its own name, so replicas of one key are not all damaged at once.
	// It draws which matching requests an http fault acts on.
	Seed int64 `json:"seed,omitempty"`
	// HTTP is an http fault's rule.
	HTTP *HTTPFault `json:"http,omitempty"`
}

// Revert undoes a fault. It is idempotent: once it has succeeded, further
// calls are no-ops returning nil. After a failure a further call retries only
// what is still applied.
type Revert func(ctx context.Context) error

// Injector applies one kind of fault to a target.
type Injector interface {
	// Kind is the fault kind the injector applies (a Kind constant).
	Kind() string
	// Inject applies f to t and returns how to revert it. On error nothing
	// of f remains applied: what was applied before the failure is undone.
	Inject(ctx context.Context, t targets.Target, f Fault) (Revert, error)
}

// abortTimeout bounds undoing a half-applied fault after its Inject failed
// (it may have to start members again, which waits for readiness).
const abortTimeout = 30 * time.Second

var faultNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// check verifies the fields every kind needs: a usable name, and a kind that
// matches the injector's when set.
func check(f Fault, kind string) error {
	if !faultNamePattern.MatchString(f.Name) {
		return fmt.Errorf("%s fault %q: the name must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit", kind, f.Name)
	}
	if f.Kind != "" && f.Kind != kind {
		return fmt.Errorf("fault %s: kind %q given to the %s injector", f.Name, f.Kind, kind)
	}
	return nil
}

// undo is the list of steps that revert what an Inject applied, run in
// reverse order. A step that succeeded is done for good, so a retry after a
// partial failure redoes only what failed, and a second full revert is a
// no-op.
type undo struct {
	mu    sync.Mutex
	steps []undoStep
}

type undoStep struct {
	what string
	fn   func(context.Context) error
	done bool
}

// push adds the step that undoes the last applied change. Only Inject calls
// it, before the Revert is handed out.
func (u *undo) push(what string, fn func(context.Context) error) {
	u.steps = append(u.steps, undoStep{what: what, fn: fn})
}

// run undoes every step not yet undone, newest first; it goes on past a
// failing step and returns every failure.
func (u *undo) run(ctx context.Context) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	var errs []error
	for i := len(u.steps) - 1; i >= 0; i-- {
		s := &u.steps[i]
		if s.done {
			continue
		}
		if err := s.fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.what, err))
			continue
		}
		s.done = true
	}
	return errors.Join(errs...)
}

// abort undoes what was applied when Inject fails (even when ctx was
// cancelled: that is often why it failed) and returns cause, with the undo's
// failure attached when something may remain.
func (u *undo) abort(ctx context.Context, cause error) error {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	if err := u.run(actx); err != nil {
		return fmt.Errorf("%w; undoing what was applied also failed, so part of the fault may remain: %w", cause, err)
	}
	return cause
}

// noRevert is the revert of a fault that leaves nothing to undo.
func noRevert(context.Context) error { return nil }
