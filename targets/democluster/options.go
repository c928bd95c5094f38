package democluster

import (
	"cmp"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// RuntimeOptions are the options the container runtimes' StartDemo share:
// docker.DemoOptions and kubernetes.DemoOptions embed them.
type RuntimeOptions struct {
	// Run is the run id: every object the runtime creates carries
	// io.chaosctl.run=Run.
	Run string
	// Dir receives the members' logs (<id>.log) when the target closes.
	Dir      string
	Seed     int64
	Log      *logrus.Entry // required
	LogLevel string        // members' log level; default DefaultLogLevel
	// ReadyTimeout bounds each wait for members to answer /readyz.
	ReadyTimeout time.Duration
	// StopGrace is a graceful stop's time before SIGKILL.
	StopGrace time.Duration
	// LeaseTTL is how long faults in the runtime's fault plane and
	// supervisors outlive chaosctl's last renewal (0: deadman.DefaultTTL).
	LeaseTTL time.Duration
}

// Complete checks that o names a run and a log, saying which runtime asks
// ("docker runtime: DemoOptions.Log is required"), and fills the defaults:
// LogLevel DefaultLogLevel, ReadyTimeout readyTimeout and StopGrace
// stopGrace where they are unset.
func (o *RuntimeOptions) Complete(runtime string, readyTimeout, stopGrace time.Duration) error {
	if o.Log == nil {
		return errors.New(runtime + " runtime: DemoOptions.Log is required")
	}
	if o.Run == "" {
		return errors.New(runtime + " runtime: DemoOptions.Run is required")
	}
	o.LogLevel = cmp.Or(o.LogLevel, DefaultLogLevel)
	o.ReadyTimeout = OrDefault(o.ReadyTimeout, readyTimeout)
	o.StopGrace = OrDefault(o.StopGrace, stopGrace)
	return nil
}

// CloseOnce makes a target's Close idempotent: the first Do runs the
// close, every later one (concurrent ones too) returns nil at once.
type CloseOnce struct {
	mu     sync.Mutex
	closed bool
}

// Do runs close and returns its error the first time it is called, and
// returns nil without running it every later time.
func (c *CloseOnce) Do(close func() error) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	return close()
}

// CloseIfFailed is deferred by a start that returns its error in *err: when
// the start failed it calls close, under a context of its own bounded by
// timeout (ctx's values, not its cancellation, which may be why it failed),
// so nothing the start created is left.
func CloseIfFailed(ctx context.Context, err *error, timeout time.Duration, close func(context.Context) error) {
	if *err == nil {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	_ = close(cctx)
}
