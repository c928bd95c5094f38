package supervisor

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets/process"
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

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd is reaped
	paused  bool
	starts  int
	wanted  bool // false while chaosctl holds the member down
	exited  chan int
	exitErr error
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
	return &Supervisor{opts: opts, exited: make(chan int, 1)}, nil
}

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
	select {
	case code := <-s.exited:
		return &ExitError{Code: code}
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
	if s.cmd != nil {
		return nil
	}
	cmd := exec.Command(s.opts.Argv[0], s.opts.Argv[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start member: %w", err)
	}
	done := make(chan struct{})
	s.cmd, s.done, s.paused = cmd, done, false
	s.starts++
	s.opts.Log.WithFields(logrus.Fields{"pid": cmd.Process.Pid, "starts": s.starts}).Info("member started")
	go s.reap(cmd, done)
	return nil
}

// reap waits for cmd; an exit chaosctl did not ask for ends Run.
func (s *Supervisor) reap(cmd *exec.Cmd, done chan struct{}) {
	err := cmd.Wait()
	s.mu.Lock()
	wanted := s.wanted
	if s.cmd == cmd {
		s.cmd, s.paused = nil, false
	}
	s.mu.Unlock()
	close(done)
	code := cmd.ProcessState.ExitCode()
	s.opts.Log.WithFields(logrus.Fields{"pid": cmd.Process.Pid, "code": code, "err": err}).Info("member exited")
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
func (s *Supervisor) current() (*exec.Cmd, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd, s.done
}

// kill SIGKILLs the member and waits until it is reaped; it stays down.
func (s *Supervisor) kill(ctx context.Context) error {
	s.mu.Lock()
	s.wanted = false
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("kill member: not reaped: %w", ctx.Err())
	}
}

// stop sends SIGTERM (SIGCONT first, so a paused member can act on it),
// then SIGKILL after grace; it stays down.
func (s *Supervisor) stop(ctx context.Context, grace time.Duration) error {
	s.mu.Lock()
	s.wanted = false
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Process.Signal(syscall.SIGCONT)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	return s.kill(ctx)
}

func (s *Supervisor) pause(ctx context.Context) error {
	cmd, _ := s.current()
	if cmd == nil {
		return errors.New("pause: the member is not running")
	}
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return fmt.Errorf("pause: %w", err)
	}
	if err := process.WaitStopped(ctx, cmd.Process.Pid, 2*time.Second); err != nil {
		return fmt.Errorf("pause: %w", err)
	}
	s.mu.Lock()
	s.paused = true
	s.mu.Unlock()
	return nil
}

func (s *Supervisor) resume() error {
	cmd, _ := s.current()
	if cmd == nil {
		return nil // killed meanwhile: nothing to thaw
	}
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	s.mu.Lock()
	s.paused = false
	s.mu.Unlock()
	return nil
}

// Status reports the member's state.
func (s *Supervisor) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{Running: s.cmd != nil, Paused: s.paused, Starts: s.starts}
	if s.cmd != nil {
		st.PID = s.cmd.Process.Pid
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
	return s.auth(mux)
}

func (s *Supervisor) auth(next http.Handler) http.Handler {
	want := []byte("Bearer " + s.opts.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			http.Error(w, "missing or wrong control token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
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
