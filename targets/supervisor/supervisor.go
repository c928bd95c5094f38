package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/internal/crash"
	"github.com/chaosctl/chaosctl/internal/deadman"
	"github.com/chaosctl/chaosctl/internal/httpcall"
	"github.com/chaosctl/chaosctl/targets/childproc"
)

// Status is what GET /v1/status answers.
type Status struct {
	Running bool `json:"running"`
	Paused  bool `json:"paused"`
	PID     int  `json:"pid,omitempty"`
	// Starts counts the member's starts (1 after the first).
	Starts int `json:"starts"`
}

// Options configure Run.
type Options struct {
	// Argv is the member's command line (program first).
	Argv []string
	// Token is required of every request.
	Token string
	Log   *logrus.Entry
	// StopGrace is a stop's default time before SIGKILL.
	StopGrace time.Duration
}

// Supervisor holds one member process.
type Supervisor struct {
	opts Options

	// lease is the dead-man switch: when chaosctl stops renewing it, the
	// member is resumed, and started again if chaosctl held it down.
	lease *deadman.Lease

	mu     sync.Mutex
	proc   *childproc.Process // the last started; nil before the first start
	starts int
	wanted bool // false while chaosctl holds the member down
	exited chan int
	// crashed gets a panic of the member's exit handler: it ends Run.
	crashed chan *crash.Panic
}

// New returns a supervisor that has started nothing yet.
func New(opts Options) (*Supervisor, error) {
	if len(opts.Argv) == 0 {
		return nil, errors.New("supervisor: no member command")
	}
	if opts.Token == "" {
		return nil, errors.New("supervisor: no control token")
	}
	if opts.Log == nil {
		opts.Log = logrus.NewEntry(logrus.StandardLogger())
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = 5 * time.Second
	}
	s := &Supervisor{opts: opts, exited: make(chan int, 1), crashed: make(chan *crash.Panic, 1)}
	s.lease = deadman.NewLease(s.revert, opts.Log)
	return s, nil
}

// revert undoes what chaosctl did to the member, as its own reverts would:
// a paused member gets SIGCONT, one held down (killed or stopped) is started
// again. It is the lease's expiry.
func (s *Supervisor) revert() {
	s.mu.Lock()
	down := !s.wanted
	s.mu.Unlock()
	if err := s.resume(); err != nil {
		s.opts.Log.WithError(err).Error("dead-man switch: resume the member")
	}
	if down {
		if err := s.start(); err != nil {
			s.opts.Log.WithError(err).Error("dead-man switch: start the member")
		}
	}
	s.opts.Log.WithField("restarted", down).Warn("dead-man switch: the member runs again, unpaused")
}

// Lease is the supervisor's dead-man lease (chaosctl renews it at
// deadman.Path).
func (s *Supervisor) Lease() *deadman.Lease { return s.lease }

// Run starts the member and serves the control API on ln until ctx ends
// (then the member gets SIGTERM and Run returns nil) or the member exits on
// its own (Run returns an *ExitError with its code).
func (s *Supervisor) Run(ctx context.Context, ln net.Listener) error {
	if err := s.start(); err != nil {
		return err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	defer s.lease.Close()
	select {
	case code := <-s.exited:
		return &ExitError{Code: code}
	case p := <-s.crashed:
		s.opts.Log.WithField("stack", string(p.Stack)).Errorf("%v; please report this bug", p)
		sctx, cancel := context.WithTimeout(context.Background(), s.opts.StopGrace+5*time.Second)
		defer cancel()
		return errors.Join(fmt.Errorf("supervisor: %w", p), s.stop(sctx, s.opts.StopGrace))
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), s.opts.StopGrace+5*time.Second)
		defer cancel()
		return s.stop(sctx, s.opts.StopGrace)
	}
}

// ExitError says the member exited on its own with Code.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("member exited with code %d", e.Code) }

// start spawns the member unless it runs.
func (s *Supervisor) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wanted = true
	if s.proc != nil && !s.proc.Exited() {
		return nil
	}
	proc, err := childproc.Start(childproc.Spec{
		Argv: s.opts.Argv, Stdout: os.Stdout, Stderr: os.Stderr,
		OnExit: func(st *os.ProcessState, err error) { s.reaped(st, err) },
		OnPanic: func(p *crash.Panic) {
			select {
			case s.crashed <- p:
			default:
			}
		},
	})
	if err != nil {
		return fmt.Errorf("start member: %w", err)
	}
	s.proc = proc
	s.starts++
	s.opts.Log.WithFields(logrus.Fields{"pid": proc.PID(), "starts": s.starts}).Info("member started")
	return nil
}

// reaped is called when the member has exited; an exit chaosctl did not ask
// for ends Run. It runs before the process counts as exited, so a kill or
// stop that returns has seen it.
func (s *Supervisor) reaped(st *os.ProcessState, err error) {
	s.mu.Lock()
	wanted := s.wanted
	s.mu.Unlock()
	code := st.ExitCode()
	s.opts.Log.WithFields(logrus.Fields{"pid": st.Pid(), "code": code, "err": err}).Info("member exited")
	if wanted {
		if code < 0 {
			code = 128 + int(syscall.SIGKILL)
		}
		select {
		case s.exited <- code:
		default:
		}
	}
}

// current returns the running member, or nil.
func (s *Supervisor) current() *childproc.Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil || s.proc.Exited() {
		return nil
	}
	return s.proc
}

// hold marks the member as held down by chaosctl and returns it, or nil when
// it does not run.
func (s *Supervisor) hold() *childproc.Process {
	s.mu.Lock()
	s.wanted = false
	s.mu.Unlock()
	return s.current()
}

// kill SIGKILLs the member and waits until it is reaped; it stays down.
func (s *Supervisor) kill(ctx context.Context) error {
	proc := s.hold()
	if proc == nil {
		return nil
	}
	if err := proc.Kill(ctx); err != nil && !errors.Is(err, childproc.ErrExited) {
		return fmt.Errorf("kill member: not reaped: %w", err)
	}
	return nil
}

// stop sends SIGTERM (SIGCONT too, so a paused member can act on it), then
// SIGKILL after grace; it stays down.
func (s *Supervisor) stop(ctx context.Context, grace time.Duration) error {
	proc := s.hold()
	if proc == nil {
		return nil
	}
	if _, err := proc.Stop(ctx, grace); err != nil && !errors.Is(err, childproc.ErrExited) {
		return fmt.Errorf("stop member: %w", err)
	}
	return nil
}

func (s *Supervisor) pause(ctx context.Context) error {
	proc := s.current()
	if proc == nil {
		return errors.New("pause: the member is not running")
	}
	if err := proc.Pause(ctx, 2*time.Second); err != nil {
		return fmt.Errorf("pause: %w", err)
	}
	return nil
}

func (s *Supervisor) resume() error {
	proc := s.current()
	if proc == nil {
		return nil // killed meanwhile: nothing to thaw
	}
	if err := proc.Resume(); err != nil && !errors.Is(err, childproc.ErrExited) {
		return fmt.Errorf("resume: %w", err)
	}
	return nil
}

// Status reports the member's state. Paused is what /proc says (state T),
// not what the supervisor last did, so a fault's receipt reads the kernel's
// view.
func (s *Supervisor) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{Starts: s.starts}
	if s.proc != nil && !s.proc.Exited() {
		st.Running, st.Paused, st.PID = true, s.proc.Paused(), s.proc.PID()
		if running, paused, _ := childproc.Status(st.PID); running {
			st.Paused = paused
		}
	}
	return st
}

// Handler is the control API.
func (s *Supervisor) Handler() http.Handler {
	mux := http.NewServeMux()
	act := func(f func(r *http.Request) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if err := f(r); err != nil {
				http.Error(w, err.Error(), http.StatusConflict)
				return
			}
			writeStatus(w, s.Status())
		}
	}
	mux.HandleFunc("POST /v1/kill", act(func(r *http.Request) error { return s.kill(r.Context()) }))
	mux.HandleFunc("POST /v1/stop", act(func(r *http.Request) error {
		grace := s.opts.StopGrace
		if g := r.URL.Query().Get("grace"); g != "" {
			d, err := time.ParseDuration(g)
			if err != nil || d < 0 {
				return fmt.Errorf("grace %q: want a duration such as 5s", g)
			}
			grace = d
		}
		return s.stop(r.Context(), grace)
	}))
	mux.HandleFunc("POST /v1/start", act(func(*http.Request) error { return s.start() }))
	mux.HandleFunc("POST /v1/pause", act(func(r *http.Request) error { return s.pause(r.Context()) }))
	mux.HandleFunc("POST /v1/resume", act(func(*http.Request) error { return s.resume() }))
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) { writeStatus(w, s.Status()) })
	mux.Handle(deadman.Path, s.lease.Handler())
	return httpcall.RequireToken(s.opts.Token, nil, mux)
}

func writeStatus(w http.ResponseWriter, st Status) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}

// NotifyContext is signal.NotifyContext for SIGTERM and SIGINT: the pod
// being deleted.
func NotifyContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
}
