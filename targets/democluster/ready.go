package democluster

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/chaosctl/chaosctl/internal/httpcall"
	"github.com/chaosctl/chaosctl/targets/demo"
)

// Defaults of a Readiness.
const (
	DefaultReadyTimeout  = 60 * time.Second
	DefaultReadyInterval = 20 * time.Millisecond
	// PollTimeout bounds one GET of a readiness path.
	PollTimeout = 500 * time.Millisecond
)

// Readiness says how to wait for members: where to reach each, for how
// long, and how to tell that one died meanwhile.
type Readiness struct {
	// Timeout bounds one wait; 0 means DefaultReadyTimeout.
	Timeout time.Duration
	// Interval is the pause between polls; 0 means DefaultReadyInterval.
	Interval time.Duration
	// Addr is member id's host:port as this host reaches it, "" while it
	// has none yet (the member is then polled again later).
	Addr func(id string) string
	// Check, when set, is called for every member still pending once every
	// CheckEvery polls (0 or 1: every poll); an error ends the wait with it,
	// so a member that died does not cost the whole timeout.
	Check      func(ctx context.Context, id string) error
	CheckEvery int
}

// NotReadyError says members did not answer within the wait's timeout (or
// the context ended first).
type NotReadyError struct {
	Pending []string      // members not ready, in the order asked
	Path    string        // the path polled (WaitProbe: what it checked)
	Timeout time.Duration // the wait's timeout
	Last    error         // the last poll's error of Pending[0]
	Err     error         // the context's error
}

func (e *NotReadyError) Error() string {
	return fmt.Sprintf("members %v not ready within %s (%s; last answer of %s: %v): %v",
		e.Pending, e.Timeout, e.Path, e.Pending[0], e.Last, e.Err)
}

func (e *NotReadyError) Unwrap() error { return e.Err }

// WaitReady polls path on every member in ids until each answers 200 OK,
// all of them at once, every r.Interval. It returns Check's error as soon as
// Check fails, and a *NotReadyError when the timeout passes or ctx ends.
func WaitReady(ctx context.Context, path string, r Readiness, ids ...string) error {
	return WaitProbe(ctx, path, r, func(ctx context.Context, hc *http.Client, id string) error {
		return poll(ctx, hc, r.Addr(id), path)
	}, ids...)
}

// Probe checks once whether member id is ready: nil when it is. hc is the
// wait's HTTP client, whose timeout is PollTimeout.
type Probe func(ctx context.Context, hc *http.Client, id string) error

// WaitProbe is WaitReady with a readiness check of the caller's: it calls
// probe for every member in ids until each returns nil, all of them at
// once, every r.Interval (r.Addr is not used). It returns Check's error as
// soon as Check fails, and a *NotReadyError whose Path is what when the
// timeout passes or ctx ends.
func WaitProbe(ctx context.Context, what string, r Readiness, probe Probe, ids ...string) error {
	if r.Timeout <= 0 {
		r.Timeout = DefaultReadyTimeout
	}
	if r.Interval <= 0 {
		r.Interval = DefaultReadyInterval
	}
	every := max(1, r.CheckEvery)
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	hc := &http.Client{Timeout: PollTimeout}
	defer hc.CloseIdleConnections()
	pending := slices.Clone(ids)
	last := map[string]error{}
	tick := time.NewTicker(r.Interval)
	defer tick.Stop()
	for polls := 0; len(pending) > 0; polls++ {
		var still []string
		for _, id := range pending {
			if r.Check != nil && polls%every == every-1 {
				if err := r.Check(ctx, id); err != nil {
					return err
				}
			}
			err := probe(ctx, hc, id)
			if err == nil {
				continue
			}
			still = append(still, id)
			// A poll the deadline cut short says less than the answer
			// before it: keep that one.
			if last[id] == nil || ctx.Err() == nil {
				last[id] = err
			}
		}
		if pending = still; len(pending) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return &NotReadyError{Pending: pending, Path: what, Timeout: r.Timeout, Last: last[pending[0]], Err: ctx.Err()}
		case <-tick.C:
		}
	}
	return nil
}

// poll GETs path at addr once: nil when it answers 200 OK.
func poll(ctx context.Context, hc *http.Client, addr, path string) error {
	if addr == "" {
		return fmt.Errorf("no address yet")
	}
	code, said, err := httpcall.StatusBody(ctx, hc, "http://"+addr+path)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		if said != "" {
			return fmt.Errorf("status %d: %s", code, said)
		}
		return fmt.Errorf("status %d", code)
	}
	return nil
}

// WaitStarted is the wait after a demo cluster's first start: every member
// answers /readyz, then every store node answers demo.ReadyzSettled (caught
// up from its peers, so a node killed at once does not leave the others
// recovering). A member restarted later is waited for with WaitReady on
// /readyz only.
func WaitStarted(ctx context.Context, spec demo.ClusterSpec, r Readiness) error {
	if err := WaitReady(ctx, "/readyz", r, StartOrder(spec)...); err != nil {
		return err
	}
	return WaitReady(ctx, demo.ReadyzSettled, r, spec.NodeIDs()...)
}

// WaitSettled waits until every member of spec answers demo.ReadyzSettled:
// no store node still catching up or holding hints, no gateway with writes
// queued behind or a breaker open. r.Timeout bounds the wait.
func WaitSettled(ctx context.Context, spec demo.ClusterSpec, r Readiness) error {
	return WaitReady(ctx, demo.ReadyzSettled, r, StartOrder(spec)...)
}
