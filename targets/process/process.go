package process

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/internal/atomicfile"
	"github.com/chaosctl/chaosctl/targets/childproc"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/democluster"
)

// Defaults.
const (
	DefaultHost         = "127.0.0.1"
	DefaultReadyTimeout = 15 * time.Second
	DefaultStopGrace    = 5 * time.Second
)

// Options configure how a cluster is started.
type Options struct {
	Binary       string        // executable that serves `node`; default: this executable
	Host         string        // bind address; default 127.0.0.1
	BasePort     int           // first port (members take consecutive ports); 0 = free ports
	Dir          string        // run directory for member logs and data; required
	Seed         int64         // passed to members for their own randomness
	Log          *logrus.Entry // required
	LogLevel     string        // members' log level; default info
	ReadyTimeout time.Duration // per start; default DefaultReadyTimeout
	StopGrace    time.Duration // SIGTERM to SIGKILL; default DefaultStopGrace
	// PeerAddr, when set, gives the address member from uses to reach member to
	// (the fault plane points it at a proxy). It is called after ports are known.
	PeerAddr func(from, to string) string
	// Ports, when set, fixes the port of each member id (overrides BasePort).
	Ports map[string]int
	// Listeners, when set, are every member's listening sockets, bound by
	// the caller (ReserveListeners): their addresses are the members', and
	// each is handed to its member's process, which serves on it, so no
	// other process can take a port between its pick and the member's
	// start (another run picking free ports at the same moment). Start
	// takes them over: they are closed here once handed on, or on error.
	// Overrides Ports and BasePort.
	Listeners map[string]net.Listener
	// OnSpawn, when set, is called after each member process starts (also on
	// restarts), before readiness: callers record pids for crash recovery.
	// It runs with the cluster's lock held and must not call the Cluster.
	OnSpawn func(id string, pid int)
}

// PortInUseError says a port the cluster needs is taken. Nothing was started.
type PortInUseError struct {
	Member, Addr string
	Err          error
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("port for %s: %s is in use (%v); choose another --base-port, or 0 for free ports", e.Member, e.Addr, e.Err)
}

func (e *PortInUseError) Unwrap() error { return e.Err }

// MemberInfo describes a running member.
type MemberInfo struct {
	ID      string `json:"id"`
	Role    string `json:"role"`
	Addr    string `json:"addr"`
	PID     int    `json:"pid"`
	Log     string `json:"log"`
	Running bool   `json:"running"`
	Paused  bool   `json:"paused"`
}

// Cluster is a running demo cluster of child processes.
type Cluster struct {
	spec  demo.ClusterSpec
	opts  Options
	token string
	order []string

	mu      sync.Mutex
	members map[string]*member
}

type member struct {
	cfg     demo.MemberConfig
	logPath string
	proc    *childproc.Process // nil until first started
	ln      net.Listener       // the reserved listener, until handed to the first process
}

// exited is closed once the member's process has exited (nil before its
// first start).
func (m *member) exited() <-chan struct{} {
	if m.proc == nil {
		return nil
	}
	return m.proc.Done()
}

// Start starts every member of spec and waits until all are ready.
func Start(ctx context.Context, spec demo.ClusterSpec, opts Options) (_ *Cluster, err error) {
	defer func() {
		if err != nil {
			CloseListeners(opts.Listeners) // those not handed on yet; closing twice is harmless
		}
	}()
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("cluster spec: %w", err)
	}
	if opts.Log == nil {
		return nil, errors.New("process runtime: Options.Log is required")
	}
	if opts.Dir == "" {
		return nil, errors.New("process runtime: Options.Dir is required")
	}
	if opts.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find own executable: %w", err)
		}
		opts.Binary = exe
	}
	if opts.Host == "" {
		opts.Host = DefaultHost
	}
	opts.LogLevel = cmp.Or(opts.LogLevel, democluster.DefaultLogLevel)
	opts.ReadyTimeout = democluster.OrDefault(opts.ReadyTimeout, DefaultReadyTimeout)
	opts.StopGrace = democluster.OrDefault(opts.StopGrace, DefaultStopGrace)
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create run directory: %w", err)
	}
	c := &Cluster{spec: spec, opts: opts, token: democluster.NewToken(), order: spec.MemberIDs(), members: map[string]*member{}}

	addrs, err := c.allocate()
	if err != nil {
		return nil, err
	}
	peerAddr := opts.PeerAddr
	if peerAddr == nil {
		peerAddr = func(_, to string) string { return addrs[to] }
	}
	wiring := democluster.Wiring{
		Listen:  func(id string) string { return addrs[id] },
		Peer:    peerAddr,
		DataDir: func(id string) string { return filepath.Join(opts.Dir, id) },
	}
	for _, cfg := range democluster.MemberConfigs(spec, opts.Seed, wiring) {
		c.members[cfg.ID] = &member{cfg: cfg, logPath: filepath.Join(opts.Dir, cfg.ID+".log"), ln: opts.Listeners[cfg.ID]}
	}

	// Start store nodes first so gateways find them, but do not wait between
	// members: readiness is awaited for all at once.
	for _, id := range democluster.StartOrder(spec) {
		if err := c.spawn(id); err != nil {
			_ = c.Stop(context.Background())
			return nil, err
		}
	}
	// The first start also waits for the store nodes' catch-up from each
	// other (milliseconds, all being up), so a node killed at once does not
	// leave the others recovering until it returns.
	if err := democluster.WaitStarted(ctx, spec, c.readiness()); err != nil {
		_ = c.Stop(context.Background())
		return nil, err
	}
	return c, nil
}

// allocate picks each member's address and checks every port is free; with
// Options.Listeners the addresses are theirs.
func (c *Cluster) allocate() (map[string]string, error) {
	if c.opts.Listeners == nil {
		return AllocateAddrs(c.order, c.opts.Host, c.opts.BasePort, c.opts.Ports)
	}
	addrs := map[string]string{}
	for _, id := range c.order {
		ln, ok := c.opts.Listeners[id]
		if !ok {
			return nil, fmt.Errorf("process runtime: Options.Listeners has none for member %s", id)
		}
		addrs[id] = ln.Addr().String()
	}
	return addrs, nil
}

// AllocateAddrs gives each member id an address on host: the port fixed in
// ports, else base+i, else (base 0) a free port, below the kernel's
// ephemeral range where it can (see memberPortLow). Every port is checked free; a
// taken one is a *PortInUseError. Callers that must know addresses before the
// cluster starts (to put proxies in front of members) use ReserveAddrs.
func AllocateAddrs(ids []string, host string, base int, ports map[string]int) (map[string]string, error) {
	addrs, release, err := ReserveAddrs(ids, host, base, ports)
	if err != nil {
		return nil, err
	}
	release()
	return addrs, nil
}

// ReserveAddrs is AllocateAddrs that keeps the ports bound until release is
// called, so that listeners opened meanwhile on port 0 (the fault plane's
// proxies) cannot take a member's port. Release just before starting the
// members; pass the ports in Options.Ports. (ReserveListeners hands the
// bound ports on to the members instead, with no gap at all.)
func ReserveAddrs(ids []string, host string, base int, ports map[string]int) (addrs map[string]string, release func(), err error) {
	lns, err := ReserveListeners(ids, host, base, ports)
	if err != nil {
		return nil, nil, err
	}
	addrs = map[string]string{}
	for id, ln := range lns {
		addrs[id] = ln.Addr().String()
	}
	return addrs, func() { CloseListeners(lns) }, nil
}

// CloseListeners closes every listener of lns (those ReserveListeners bound
// that were not handed to Start).
func CloseListeners(lns map[string]net.Listener) {
	for _, ln := range lns {
		_ = ln.Close()
	}
}

// ReserveListeners binds a port for each member id on host, as AllocateAddrs
// picks them, and returns the listeners, for Options.Listeners. On error
// none is left bound.
func ReserveListeners(ids []string, host string, base int, ports map[string]int) (map[string]net.Listener, error) {
	if host == "" {
		host = DefaultHost
	}
	lns := map[string]net.Listener{}
	for i, id := range ids {
		port := 0
		switch {
		case ports[id] != 0:
			port = ports[id]
		case base != 0:
			port = base + i
		}
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		var ln net.Listener
		var err error
		if port == 0 {
			ln, err = listenFree(host)
		} else {
			ln, err = net.Listen("tcp", addr)
		}
		if err != nil {
			CloseListeners(lns)
			return nil, &PortInUseError{Member: id, Addr: addr, Err: err}
		}
		// Held until all are chosen, so two members never get the same free port.
		lns[id] = ln
	}
	return lns, nil
}

// PortsOf turns addresses from AllocateAddrs into Options.Ports.
func PortsOf(addrs map[string]string) map[string]int {
	out := map[string]int{}
	for id, a := range addrs {
		_, p, err := net.SplitHostPort(a)
		if err == nil {
			out[id], _ = strconv.Atoi(p)
		}
	}
	return out
}

// Token returns the bearer token of the members' control endpoints.
func (c *Cluster) Token() string { return c.token }

// Spec returns the cluster's specification, defaults filled in.
func (c *Cluster) Spec() demo.ClusterSpec { return c.spec }

// Dir returns the run directory.
func (c *Cluster) Dir() string { return c.opts.Dir }

// Members describes every member: gateways first, then store nodes.
func (c *Cluster) Members() []MemberInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]MemberInfo, 0, len(c.order))
	for _, id := range c.order {
		out = append(out, c.infoLocked(id))
	}
	return out
}

// Member describes one member.
func (c *Cluster) Member(id string) (MemberInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.members[id]; !ok {
		return MemberInfo{}, false
	}
	return c.infoLocked(id), true
}

func (c *Cluster) infoLocked(id string) MemberInfo {
	m := c.members[id]
	info := MemberInfo{ID: id, Role: m.cfg.Role, Addr: m.cfg.Listen, Log: m.logPath}
	if m.proc != nil {
		info.PID, info.Running, info.Paused = m.proc.PID(), !m.proc.Exited(), m.proc.Paused()
	}
	return info
}

// Addrs returns the client addresses of the given role's members.
func (c *Cluster) Addrs(role string) []string {
	var out []string
	for _, m := range c.Members() {
		if m.Role == role {
			out = append(out, m.Addr)
		}
	}
	return out
}

func (c *Cluster) lookup(id string) (*member, error) {
	m, ok := c.members[id]
	if !ok {
		return nil, fmt.Errorf("no member %q; members are %v", id, c.order)
	}
	return m, nil
}

// spawn starts member id's process (which must not be running).
func (c *Cluster) spawn(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, err := c.lookup(id)
	if err != nil {
		return err
	}
	if m.proc != nil && !m.proc.Exited() {
		return fmt.Errorf("start %s: already running (pid %d)", id, m.proc.PID())
	}
	conf, err := m.cfg.Encode()
	if err != nil {
		return fmt.Errorf("start %s: encode config: %w", id, err)
	}
	env := append(os.Environ(),
		demo.EnvControlToken+"="+c.token,
		demo.EnvParentPID+"="+strconv.Itoa(os.Getpid()),
	)
	if os.Getenv("GOMAXPROCS") == "" {
		// Members share this machine's cores: one scheduler per core each
		// would spend the CPU spinning for work.
		env = append(env, "GOMAXPROCS="+strconv.Itoa(democluster.MemberProcs(c.spec)))
	}
	// The member serves on a socket bound here: the reserved one at its
	// first start, its address bound again at a restart (a port taken
	// while the member was down fails here, not as a member answering for
	// another process).
	ln := m.ln
	m.ln = nil
	if ln == nil {
		if ln, err = net.Listen("tcp", m.cfg.Listen); err != nil {
			return fmt.Errorf("start %s: %w", id, &PortInUseError{Member: id, Addr: m.cfg.Listen, Err: err})
		}
	}
	defer ln.Close() // the child holds its own copy
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		return fmt.Errorf("start %s: hand over its listener: %w", id, err)
	}
	defer lf.Close()
	env = append(env, demo.EnvListenFD+"=3")
	proc, err := childproc.Start(childproc.Spec{
		Argv:       append([]string{c.opts.Binary}, democluster.MemberArgs(c.opts.LogLevel, conf)...),
		Env:        env,
		LogPath:    m.logPath,
		ExtraFiles: []*os.File{lf},
	})
	if err != nil {
		return fmt.Errorf("start %s: %w", id, err)
	}
	m.proc = proc
	c.opts.Log.WithFields(logrus.Fields{"member": id, "pid": proc.PID(), "addr": m.cfg.Listen}).Debug("member started")
	if c.opts.OnSpawn != nil {
		c.opts.OnSpawn(id, proc.PID())
	}
	return nil
}

// waitReady polls /readyz of the given members until all answer 200.
func (c *Cluster) waitReady(ctx context.Context, ids ...string) error {
	return democluster.WaitReady(ctx, "/readyz", c.readiness(), ids...)
}

// WaitSettled waits, at most within, until every member answers
// demo.ReadyzSettled (targets.Settler).
func (c *Cluster) WaitSettled(ctx context.Context, within time.Duration) error {
	r := c.readiness()
	r.Timeout = within
	return democluster.WaitSettled(ctx, c.spec, r)
}

// readiness is how members are waited for: at their listen addresses, every
// 10 ms, a member whose process exited meanwhile being an error with its
// last log lines.
func (c *Cluster) readiness() democluster.Readiness {
	member := func(id string) *member {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.members[id]
	}
	return democluster.Readiness{
		Timeout:  c.opts.ReadyTimeout,
		Interval: 10 * time.Millisecond,
		Addr:     func(id string) string { return member(id).cfg.Listen },
		Check: func(_ context.Context, id string) error {
			m := member(id)
			c.mu.Lock()
			exited := m.exited()
			c.mu.Unlock()
			select {
			case <-exited:
				return fmt.Errorf("start %s: the process exited before it was ready: %s", id, tail(m.logPath, 5))
			default:
				return nil
			}
		},
	}
}

// StartMember starts a member that is not running (after Kill or StopMember),
// keeping its data directory, and waits until it is ready. A member that is
// already running is only waited for: starting is idempotent, so a revert
// that was interrupted after the spawn can be retried.
func (c *Cluster) StartMember(ctx context.Context, id string) error {
	if info, ok := c.Member(id); !ok || !info.Running {
		if err := c.spawn(id); err != nil {
			return err
		}
	}
	return c.waitReady(ctx, id)
}

// running returns member id's process, or an error when it is not running.
func (c *Cluster) running(id string) (*childproc.Process, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, err := c.lookup(id)
	if err != nil {
		return nil, err
	}
	if m.proc == nil {
		return nil, fmt.Errorf("signal %s: not started", id)
	}
	if m.proc.Exited() {
		return nil, fmt.Errorf("signal %s: not running", id)
	}
	return m.proc, nil
}

// Kill sends SIGKILL to a member and waits until it is gone.
func (c *Cluster) Kill(ctx context.Context, id string) error {
	proc, err := c.running(id)
	if err != nil {
		return err
	}
	if err := proc.Kill(ctx); err != nil {
		return fmt.Errorf("kill %s: %w", id, err)
	}
	return nil
}

// Pause freezes a member with SIGSTOP and returns once it is stopped, so the
// fault is in force when the caller goes on.
func (c *Cluster) Pause(id string) error {
	proc, err := c.running(id)
	if err != nil {
		return err
	}
	return proc.Pause(context.Background(), 2*time.Second)
}

// Resume thaws a paused member with SIGCONT.
func (c *Cluster) Resume(id string) error {
	proc, err := c.running(id)
	if err != nil {
		return err
	}
	return proc.Resume()
}

// StopMember stops one member gracefully (SIGTERM, SIGKILL after the grace).
func (c *Cluster) StopMember(ctx context.Context, id string) error {
	c.mu.Lock()
	m, err := c.lookup(id)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return c.stop(ctx, m)
}

func (c *Cluster) stop(ctx context.Context, m *member) error {
	c.mu.Lock()
	proc := m.proc
	c.mu.Unlock()
	if proc == nil {
		return nil
	}
	killed, err := proc.Stop(ctx, c.opts.StopGrace)
	if killed {
		c.opts.Log.WithField("member", m.cfg.ID).Warn("member did not stop within the grace period; it was killed")
	}
	if err != nil && !errors.Is(err, childproc.ErrExited) {
		return fmt.Errorf("stop %s: %w", m.cfg.ID, err)
	}
	return nil
}

// Stop stops every member: gateways first (so they flush), then store nodes,
// each gracefully within the grace period. It is safe to call more than once.
func (c *Cluster) Stop(ctx context.Context) error {
	var wg sync.WaitGroup
	stopAll := func(ids []string) {
		for _, id := range ids {
			c.mu.Lock()
			m := c.members[id]
			c.mu.Unlock()
			wg.Go(func() { _ = c.stop(ctx, m) })
		}
		wg.Wait()
	}
	stopAll(c.spec.GatewayIDs())
	stopAll(c.spec.NodeIDs())
	return nil
}

// State is the JSON written by `cluster up --state FILE`.
type State struct {
	Gateways []StateMember `json:"gateways"`
	Nodes    []StateMember `json:"nodes"`
	Control  string        `json:"control"`
	Token    string        `json:"token,omitempty"`
	Dir      string        `json:"dir"`
}

// StateMember is one member in the state file.
type StateMember struct {
	ID   string `json:"id"`
	Addr string `json:"addr"`
	PID  int    `json:"pid"`
}

// State returns the cluster's state file content; control is the address of
// the control API serving it ("" when none).
func (c *Cluster) State(control string) State {
	s := State{Control: control, Token: c.token, Dir: c.opts.Dir, Gateways: []StateMember{}, Nodes: []StateMember{}}
	for _, m := range c.Members() {
		sm := StateMember{ID: m.ID, Addr: m.Addr, PID: m.PID}
		if m.Role == demo.RoleGateway {
			s.Gateways = append(s.Gateways, sm)
		} else {
			s.Nodes = append(s.Nodes, sm)
		}
	}
	return s
}

// WriteState writes the state atomically with mode 0600 (it holds the token).
func WriteState(path string, s State) error { return WriteJSONPrivate(path, s) }

// WriteJSONPrivate writes v as indented JSON to path atomically with mode
// 0600 (atomicfile: a temporary file of a random name, never a link planted
// beside path, renamed over it): state files hold tokens.
func WriteJSONPrivate(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	return nil
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "last log lines of " + path + ":\n" + string(bytes.Join(lines, []byte("\n")))
}
