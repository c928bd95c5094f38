// Package deadman is chaosctl's dead-man switch: a lease that a process
// applying faults on chaosctl's behalf (the docker and kubernetes fault
// planes, a pod's supervisor) holds for chaosctl, and that chaosctl renews
// while a run lives. When chaosctl stops renewing it (killed, wedged, cut
// off), the lease expires and the holder reverts every fault it keeps.
//
// The holder serves Path beside its own API, behind the run's token:
//
//	POST   /chaosctl/lease {"ttl":"5s"}   take or renew the lease for ttl
//	DELETE /chaosctl/lease                release it (chaosctl ends cleanly)
//
// and chaosctl keeps it with Keep, which renews every ttl/3.
package deadman

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/internal/crash"
	"github.com/chaosctl/chaosctl/internal/httpcall"
)

// Path is where a lease is renewed and released.
const Path = "/chaosctl/lease"

// DefaultTTL is how long faults outlive chaosctl's last renewal by default.
const DefaultTTL = 5 * time.Second

// Bounds of a lease's TTL: shorter would expire on a busy machine's
// scheduling hiccup, longer would not be a dead-man switch.
const (
	MinTTL = 100 * time.Millisecond
	MaxTTL = 10 * time.Minute
)

// CheckTTL says whether ttl is a lease's TTL chaosctl accepts.
func CheckTTL(ttl time.Duration) error {
	if ttl < MinTTL || ttl > MaxTTL {
		return fmt.Errorf("lease ttl %s: want between %s and %s", ttl, MinTTL, MaxTTL)
	}
	return nil
}

// Lease is the holder's side: unheld until the first renewal, then held for
// the TTL of the last one. When it lapses, revert runs (in its own
// goroutine, a panic in it logged) and the lease is unheld again until the
// next renewal; the holder keeps serving.
type Lease struct {
	revert func()
	log    *logrus.Entry

	mu      sync.Mutex
	gen     uint64 // bumped by every renewal, release and expiry
	timer   *time.Timer
	closed  bool
	expired int
}

// NewLease returns an unheld lease whose expiry calls revert.
func NewLease(revert func(), log *logrus.Entry) *Lease {
	if log == nil {
		log = logrus.NewEntry(logrus.StandardLogger())
	}
	return &Lease{revert: revert, log: log}
}

// Renew holds the lease for ttl from now.
func (l *Lease) Renew(ttl time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.stopLocked()
	gen := l.gen
	l.timer = time.AfterFunc(ttl, func() { l.expire(gen) })
}

// Release unholds the lease without reverting anything.
func (l *Lease) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopLocked()
}

// Close releases the lease for good (the holder is shutting down).
func (l *Lease) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopLocked()
	l.closed = true
}

// Held says whether the lease is held.
func (l *Lease) Held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.timer != nil
}

// Expiries counts the times the lease lapsed.
func (l *Lease) Expiries() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.expired
}

func (l *Lease) stopLocked() {
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.gen++
}

func (l *Lease) expire(gen uint64) {
	l.mu.Lock()
	if gen != l.gen || l.closed {
		l.mu.Unlock() // renewed or released meanwhile
		return
	}
	l.timer = nil
	l.gen++
	l.expired++
	l.mu.Unlock()
	defer crash.Recover("lease expiry", func(p *crash.Panic) {
		l.log.WithField("stack", string(p.Stack)).Errorf("dead-man switch: %v", p)
	})
	l.log.Warn("dead-man switch: chaosctl stopped renewing the lease; reverting every fault")
	l.revert()
}

// leaseRequest is the body of a renewal.
type leaseRequest struct {
	TTL string `json:"ttl"`
}

// leaseAnswer is the answer to a renewal.
type leaseAnswer struct {
	Expiries int `json:"expiries"`
}

// Handler serves Path for l (mount it behind the run's token).
func (l *Lease) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			var req leaseRequest
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024)).Decode(&req); err != nil {
				http.Error(w, "lease: want a JSON body {\"ttl\": \"5s\"}", http.StatusBadRequest)
				return
			}
			ttl, err := time.ParseDuration(req.TTL)
			if err == nil {
				err = CheckTTL(ttl)
			}
			if err != nil {
				http.Error(w, "lease: "+err.Error(), http.StatusBadRequest)
				return
			}
			l.Renew(ttl)
			// The expiries so far tell a keeper that renewed too late that
			// its faults were reverted meanwhile.
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(leaseAnswer{Expiries: l.Expiries()})
		case http.MethodDelete:
			l.Release()
			w.WriteHeader(http.StatusOK)
		default:
			w.Header().Set("Allow", "POST, DELETE")
			http.Error(w, "lease: POST or DELETE", http.StatusMethodNotAllowed)
		}
	})
}

// Keeper is chaosctl's side of leases: it renews them until Stop.
type Keeper struct {
	hc       *http.Client
	bases    func() []string // the holders' APIs, asked at every renewal
	token    string
	ttl      time.Duration
	log      *logrus.Entry
	cancel   context.CancelFunc
	done     chan struct{}
	stopOnce sync.Once
	failing  map[string]bool // holders whose last renewal failed (loop only)
	expiries map[string]int  // each holder's expiries at its last renewal (loop only)
}

// Keep takes the lease of the holder whose API is at base (http://host:port)
// for ttl, and renews it every ttl/3 until Stop. The first renewal happens
// before Keep returns: a holder that refuses it is an error, and no fault
// should be applied through it.
func Keep(ctx context.Context, base, token string, ttl time.Duration, log *logrus.Entry) (*Keeper, error) {
	k, err := newKeeper(func() []string { return []string{base} }, token, ttl, log)
	if err != nil {
		return nil, err
	}
	n, err := k.renewCounting(ctx, base)
	if err != nil {
		return nil, err
	}
	k.expiries[base] = n
	k.start(ctx)
	return k, nil
}

// KeepEach renews, every ttl/3 until Stop, the lease of every holder bases
// returns at that moment (a member's supervisor, whose pod may come and
// go): a holder that does not answer is logged and tried again next time.
func KeepEach(ctx context.Context, bases func() []string, token string, ttl time.Duration, log *logrus.Entry) (*Keeper, error) {
	k, err := newKeeper(bases, token, ttl, log)
	if err != nil {
		return nil, err
	}
	k.renewAll(ctx)
	k.start(ctx)
	return k, nil
}

func newKeeper(bases func() []string, token string, ttl time.Duration, log *logrus.Entry) (*Keeper, error) {
	if err := CheckTTL(ttl); err != nil {
		return nil, err
	}
	if log == nil {
		log = logrus.NewEntry(logrus.StandardLogger())
	}
	// A renewal that takes half the TTL is as good as lost (but a loaded
	// machine gets a second to answer a short one).
	return &Keeper{hc: &http.Client{Timeout: max(ttl/2, time.Second)}, bases: bases, token: token, ttl: ttl, log: log,
		done: make(chan struct{}), failing: map[string]bool{}, expiries: map[string]int{}}, nil
}

func (k *Keeper) start(ctx context.Context) {
	kctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	k.cancel = cancel
	go k.loop(kctx)
}

// renewCounting renews base's lease and returns its expiries so far.
func (k *Keeper) renewCounting(ctx context.Context, base string) (int, error) {
	return Renew(ctx, k.hc, base, k.token, k.ttl)
}

func (k *Keeper) loop(ctx context.Context) {
	defer close(k.done)
	defer crash.Recover("lease keeper", func(p *crash.Panic) {
		k.log.WithField("stack", string(p.Stack)).Errorf("%v: the leases will lapse and the faults revert", p)
	})
	t := time.NewTicker(k.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		k.renewAll(ctx)
	}
}

// renewAll renews every holder's lease once, all at once (a holder that
// does not answer must not make the others' leases lapse), logging a
// holder's first failure and its recovery.
func (k *Keeper) renewAll(ctx context.Context) {
	bases := k.bases()
	errs := make([]error, len(bases))
	expiries := make([]int, len(bases))
	// A panic in a renewal is passed on to the caller: the keeper's loop
	// logs it (the leases then lapse and the faults revert).
	var g crash.Group
	for i, base := range bases {
		g.Go("the lease renewal of "+base, func() { expiries[i], errs[i] = k.renewCounting(ctx, base) })
	}
	g.Wait()
	for i, base := range bases {
		err := errs[i]
		if last, seen := k.expiries[base]; err == nil && seen && expiries[i] > last {
			k.log.WithField("holder", base).Errorf("dead-man switch: the lease lapsed before chaosctl renewed it (within %s): the holder reverted every fault it held", k.ttl)
		}
		if err == nil {
			k.expiries[base] = expiries[i]
		}
		switch {
		case err != nil && ctx.Err() == nil && !k.failing[base]:
			k.failing[base] = true
			k.log.WithError(err).Warn("dead-man switch: renewing a lease failed; its faults revert by themselves if it lapses")
		case err == nil && k.failing[base]:
			delete(k.failing, base)
			k.log.WithField("holder", base).Info("dead-man switch: the lease is renewed again")
		}
	}
}

// Abandon stops renewing without releasing the leases: they lapse and the
// holders revert their faults, as if chaosctl had been killed. It is
// idempotent.
func (k *Keeper) Abandon() {
	k.stopOnce.Do(func() {
		k.cancel()
		<-k.done
	})
}

// Stop stops renewing and releases the leases (best effort: a holder that
// does not answer lets its lease lapse).
func (k *Keeper) Stop() {
	k.Abandon()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, base := range k.bases() {
		if err := Release(ctx, k.hc, base, k.token); err != nil {
			k.log.WithError(err).Debug("dead-man switch: release the lease")
		}
	}
}

// Renew takes or renews, once, the lease of the holder whose API is at base
// for ttl, and returns how many times that lease lapsed so far.
func Renew(ctx context.Context, hc *http.Client, base, token string, ttl time.Duration) (expiries int, err error) {
	resp, err := httpcall.Send(ctx, hc, http.MethodPost, base+Path, token, leaseRequest{TTL: ttl.String()}, "renew the fault lease at "+base)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var a leaseAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1024)).Decode(&a); err != nil {
		return 0, fmt.Errorf("renew the fault lease at %s: decode: %w", base, err)
	}
	return a.Expiries, nil
}

// Release releases, once, the lease of the holder whose API is at base.
func Release(ctx context.Context, hc *http.Client, base, token string) error {
	resp, err := httpcall.Send(ctx, hc, http.MethodDelete, base+Path, token, nil, "release the fault lease at "+base)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}
