package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/process"
)

// Timeouts of the control API's fault operations (crash and restart wait
// for members to be ready again).
const (
	faultOpTimeout     = 60 * time.Second
	expireRetryBackoff = 5 * time.Second
	endedFaultsKept    = 20
)

// Why a fault ended.
const (
	endHealed   = "healed"
	endExpired  = "expired"
	endShutdown = "shutdown"
	endDone     = "done" // corrupt: nothing to revert
)

// faultView is a fault as the control API shows it.
type faultView struct {
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
}

// statusView is GET /v1/status.
type statusView struct {
	Name    string         `json:"name"`
	Members []memberStatus `json:"members"`
	Faults  []faultView    `json:"faults"`
	Ended   []faultView    `json:"ended"`
}

// faultsView is GET /v1/faults and the answer of DELETE /v1/faults.
type faultsView struct {
	Faults []faultView `json:"faults"`
	Ended  []faultView `json:"ended,omitempty"`
}

// memberStatus is a member in GET /v1/status: addr is where clients reach
// it (through the fault plane), listen where it listens itself.
type memberStatus struct {
	process.MemberInfo
	Listen string `json:"listen"`
}

// faultManager applies imperative faults through a tracker (so the ledger
// journals them) and reverts each at its expiry.
type faultManager struct {
	tracker *injectors.Tracker
	target  *targets.ProcessDemo
	top     clusterTopology
	log     *logrus.Entry

	mu       sync.Mutex
	live     map[string]*liveFault
	order    []string // live fault names, in order of application
	ended    []faultView
	counters map[string]int
	closed   bool
	expiring sync.WaitGroup
}

type liveFault struct {
	fault    injectors.Fault
	ttl      time.Duration
	applied  time.Time
	expires  time.Time
	timer    *time.Timer
	pending  bool // being applied
	lastErr  string
	reverted bool
}

func newFaultManager(tr *injectors.Tracker, t *targets.ProcessDemo, top clusterTopology, log *logrus.Entry) *faultManager {
	return &faultManager{tracker: tr, target: t, top: top, log: log, live: map[string]*liveFault{}, counters: map[string]int{}}
}

// apiError carries the HTTP status of a failed control call.
type apiError struct {
	status int
	err    error
}

func (e *apiError) Error() string { return e.err.Error() }
func (e *apiError) Unwrap() error { return e.err }

func badRequest(err error) error { return &apiError{status: http.StatusBadRequest, err: err} }

func (m *faultManager) view(lf *liveFault, now time.Time) faultView {
	v := faultView{Fault: lf.fault, TTL: lf.ttl.String(), Applied: lf.applied, Expires: lf.expires, Error: lf.lastErr}
	rem := max(lf.expires.Sub(now), 0)
	v.Remaining = rem.Round(time.Second).String()
	if rem < time.Second {
		v.Remaining = rem.Round(time.Millisecond).String()
	}
	v.RemainingSeconds = rem.Seconds()
	return v
}

// apply resolves and applies req and schedules its expiry.
func (m *faultManager) apply(ctx context.Context, req faultRequest) (faultView, error) {
	f, ttl, err := req.resolve(m.top)
	if err != nil {
		return faultView{}, badRequest(err)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return faultView{}, &apiError{status: http.StatusServiceUnavailable, err: errors.New("the cluster is shutting down")}
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
		return faultView{}, &apiError{status: http.StatusConflict, err: fmt.Errorf("a fault named %s is live: heal it first (chaosctl heal %s) or choose another --name", f.Name, f.Name)}
	}
	lf := &liveFault{fault: f, ttl: ttl, pending: true}
	m.live[f.Name] = lf
	m.mu.Unlock()

	err = m.tracker.Apply(ctx, f)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		delete(m.live, f.Name)
		return faultView{}, fmt.Errorf("nothing of it remains applied: %w", err)
	}
	now := time.Now()
	lf.pending, lf.applied, lf.expires = false, now, now.Add(ttl)
	if f.Kind == injectors.KindCorrupt {
		// Nothing to revert: the cluster is expected to repair the damage.
		delete(m.live, f.Name)
		if err := m.tracker.Revert(ctx, f.Name); err != nil {
			m.log.WithError(err).Warn("record the corrupt fault as done")
		}
		v := m.view(lf, now)
		v.Ended, v.EndReason = now, endDone
		m.addEnded(v)
		return v, nil
	}
	m.order = append(m.order, f.Name)
	name := f.Name
	// When shutdown began meanwhile, its RevertAll reverts this fault too:
	// the tracker lists faults being applied, and waits for them.
	lf.timer = time.AfterFunc(ttl, func() { m.expire(name) })
	return m.view(lf, now), nil
}

func (m *faultManager) addEnded(v faultView) {
	m.ended = append(m.ended, v)
	if len(m.ended) > endedFaultsKept {
		m.ended = slices.Delete(m.ended, 0, len(m.ended)-endedFaultsKept)
	}
}

// finish drops a reverted fault from the live ones; m.mu is held.
func (m *faultManager) finish(lf *liveFault, reason string) faultView {
	now := time.Now()
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

// expire reverts fault name at its expiry; a failed revert is retried.
func (m *faultManager) expire(name string) {
	m.mu.Lock()
	lf := m.live[name]
	if lf == nil || lf.reverted || m.closed {
		// Once closed, shutdown's RevertAll reverts what is left.
		m.mu.Unlock()
		return
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
			lf.timer = time.AfterFunc(expireRetryBackoff, func() { m.expire(name) })
		}
		return
	}
	m.finish(lf, endExpired)
	log.WithField("ttl", lf.ttl).Info("fault expired and was reverted")
}

// errNoFault is wrapped when heal names no live fault.
var errNoFault = errors.New("no live fault of that name")

// heal reverts the live fault name now.
func (m *faultManager) heal(ctx context.Context, name string) (faultView, error) {
	m.mu.Lock()
	lf := m.live[name]
	if lf == nil || lf.pending {
		live := slices.Clone(m.order)
		m.mu.Unlock()
		if lf != nil {
			return faultView{}, &apiError{status: http.StatusConflict, err: fmt.Errorf("fault %s is still being applied; try again", name)}
		}
		have := "there are no live faults"
		if len(live) > 0 {
			have = "live faults: " + strings.Join(live, ", ")
		}
		return faultView{}, &apiError{status: http.StatusNotFound, err: fmt.Errorf("%w: %q (%s)", errNoFault, name, have)}
	}
	if lf.timer != nil {
		lf.timer.Stop()
	}
	m.mu.Unlock()
	if err := m.tracker.Revert(ctx, name); err != nil {
		m.mu.Lock()
		lf.lastErr = err.Error()
		if !lf.reverted && !m.closed {
			lf.timer = time.AfterFunc(max(time.Until(lf.expires), expireRetryBackoff), func() { m.expire(name) })
		}
		m.mu.Unlock()
		return faultView{}, fmt.Errorf("the fault may remain applied: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.finish(lf, endHealed)
	m.log.WithFields(logrus.Fields{"fault": name, "kind": lf.fault.Kind}).Info("fault healed")
	return v, nil
}

// healAll reverts every live fault, newest first, going on past failures.
func (m *faultManager) healAll(ctx context.Context) ([]faultView, error) {
	m.mu.Lock()
	names := slices.Clone(m.order)
	m.mu.Unlock()
	var out []faultView
	var errs []error
	for i := len(names) - 1; i >= 0; i-- {
		v, err := m.heal(ctx, names[i])
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

// list returns the live faults, in order of application, and the recently
// ended ones.
func (m *faultManager) list() faultsView {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	out := faultsView{Faults: []faultView{}, Ended: slices.Clone(m.ended)}
	for _, name := range m.order {
		out.Faults = append(out.Faults, m.view(m.live[name], now))
	}
	return out
}

// shutdown stops the expiry timers and reverts every live fault; no fault
// is applied afterwards.
func (m *faultManager) shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	for _, lf := range m.live {
		if lf.timer != nil {
			lf.timer.Stop()
		}
	}
	m.mu.Unlock()
	m.expiring.Wait()
	err := m.tracker.RevertAll(ctx)
	m.mu.Lock()
	for _, name := range slices.Clone(m.order) {
		if !slices.Contains(m.tracker.Active(), name) {
			m.finish(m.live[name], endShutdown)
		}
	}
	m.mu.Unlock()
	return err
}

// controlServer is `cluster up`'s control API on a loopback port.
type controlServer struct {
	name   string
	token  string
	target *targets.ProcessDemo
	faults *faultManager
	log    *logrus.Entry
}

func (s *controlServer) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		fl := s.faults.list()
		writeJSON(w, statusView{Name: s.name, Members: s.members(), Faults: fl.Faults, Ended: fl.Ended})
	})
	mux.HandleFunc("GET /v1/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, s.faults.list())
	})
	mux.HandleFunc("POST /v1/faults", func(w http.ResponseWriter, r *http.Request) {
		var req faultRequest
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeError(w, badRequest(fmt.Errorf("decode the fault: %w", err)))
			return
		}
		// The fault must not be half applied because the caller went away.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), faultOpTimeout)
		defer cancel()
		v, err := s.faults.apply(ctx, req)
		if err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		writeJSON(w, v)
	})
	mux.HandleFunc("DELETE /v1/faults/{name}", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), faultOpTimeout)
		defer cancel()
		v, err := s.faults.heal(ctx, r.PathValue("name"))
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, faultsView{Faults: []faultView{v}})
	})
	mux.HandleFunc("DELETE /v1/faults", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), faultOpTimeout)
		defer cancel()
		vs, err := s.faults.healAll(ctx)
		if err != nil {
			writeError(w, fmt.Errorf("healed %d; some faults may remain applied: %w", len(vs), err))
			return
		}
		writeJSON(w, faultsView{Faults: append([]faultView{}, vs...)})
	})
	return s.authorized(mux)
}

func (s *controlServer) authorized(next http.Handler) http.Handler {
	want := []byte("Bearer " + s.token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			writeError(w, &apiError{status: http.StatusUnauthorized, err: errors.New("missing or wrong bearer token (it is in the cluster's state file)")})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *controlServer) members() []memberStatus {
	var out []memberStatus
	for _, m := range s.target.Cluster().Members() {
		ms := memberStatus{MemberInfo: m, Listen: m.Addr}
		if a := s.target.ClientAddr(m.ID); a != "" {
			ms.Addr = a
		}
		out = append(out, ms)
	}
	return out
}

// errorBody is the JSON of every control API error.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var ae *apiError
	if errors.As(err, &ae) {
		status = ae.status
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Error: err.Error()})
}

// serve serves the control API on a free 127.0.0.1 port.
func (s *controlServer) serve() (addr string, closeFn func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("control API: %w", err)
	}
	srv := &http.Server{Handler: s.routes(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.WithError(err).Warn("control API stopped")
		}
	}()
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
