package raftkv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

// Read modes.
const (
	// ReadIndex confirms leadership with a quorum (VerifyLeader) after noting
	// the commit index, then waits until that index is applied: linearizable.
	ReadIndex = "index"
	// ReadLease answers on the node that holds the read lease, without
	// asking the others: one round trip less. The lease (see lease) is
	// judged on the node's own clock (Config.Now), so it is only as safe as
	// that clock: set back, or paused past the lease, a deposed leader
	// answers stale reads while the others elect a new one and accept writes.
	ReadLease = "lease"
)

// Defaults of Settings.
const (
	// hashicorp/raft's own defaults: shorter ones gave spurious elections
	// when a loaded machine stalled the leader for half a second.
	DefaultHeartbeatTimeout   = time.Second
	DefaultElectionTimeout    = time.Second
	DefaultLeaderLeaseTimeout = 500 * time.Millisecond
	DefaultCommitTimeout      = 20 * time.Millisecond
	DefaultSnapshotThreshold  = 4096
	DefaultTrailingLogs       = 1024
	DefaultSnapshotInterval   = 30 * time.Second
	// DefaultLeaseDriftBound is the share of the heartbeat timeout the read
	// lease leaves for clock drift: the lease lasts the rest.
	DefaultLeaseDriftBound = 10 // per cent
)

// Settings tune the Raft groups; zero fields take the defaults above.
type Settings struct {
	Reads              string // ReadIndex (default) or ReadLease
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	// SnapshotThreshold is how many entries past the last snapshot make the
	// next one; TrailingLogs how many entries a snapshot leaves in the log
	// (a follower further behind is sent the snapshot).
	SnapshotThreshold uint64
	TrailingLogs      uint64
	SnapshotInterval  time.Duration
	// LeaseDuration is how long a quorum round keeps the read lease
	// (ReadLease) after it started; default the heartbeat timeout less
	// DefaultLeaseDriftBound per cent. A follower waits at least the
	// heartbeat timeout without hearing the leader before it stands, so a
	// longer lease is refused.
	LeaseDuration time.Duration
}

func (s *Settings) validate() error {
	switch s.Reads {
	case "":
		s.Reads = ReadIndex
	case ReadIndex, ReadLease:
	default:
		return fmt.Errorf("raft reads %q unknown; allowed: index, lease", s.Reads)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&s.HeartbeatTimeout, DefaultHeartbeatTimeout)
	def(&s.ElectionTimeout, DefaultElectionTimeout)
	def(&s.LeaderLeaseTimeout, min(DefaultLeaderLeaseTimeout, s.HeartbeatTimeout))
	def(&s.CommitTimeout, DefaultCommitTimeout)
	def(&s.SnapshotInterval, DefaultSnapshotInterval)
	if s.SnapshotThreshold == 0 {
		s.SnapshotThreshold = DefaultSnapshotThreshold
	}
	if s.TrailingLogs == 0 {
		s.TrailingLogs = DefaultTrailingLogs
	}
	def(&s.LeaseDuration, s.HeartbeatTimeout*(100-DefaultLeaseDriftBound)/100)
	if s.LeaseDuration > s.HeartbeatTimeout {
		return fmt.Errorf("raft read lease %s exceeds the heartbeat timeout %s", s.LeaseDuration, s.HeartbeatTimeout)
	}
	if s.LeaderLeaseTimeout > s.HeartbeatTimeout {
		return fmt.Errorf("raft leader lease %s exceeds the heartbeat timeout %s", s.LeaderLeaseTimeout, s.HeartbeatTimeout)
	}
	return nil
}

// Config describes one node's part in the Raft groups.
type Config struct {
	Self      string
	Sets      [][]string                // every replica set of the ring (ring.ReplicaSets), each sorted
	Route     func(key string) []string // a key's replica set (its preference list)
	Peers     map[string]string         // node id -> host:port as this node reaches it (its links)
	PeerToken string                    // bearer token of the upgrade requests
	Engine    storage.Engine            // where the groups apply their writes
	DataDir   string                    // "" keeps logs and snapshots in memory
	Settings  Settings
	// Now reads the node's clock, the one a clock-skew fault moves; the
	// read lease is judged on it. Default time.Now.
	Now func() time.Time
	Log *logrus.Entry
}

// Store is a node's Raft groups: one per replica set the node belongs to.
type Store struct {
	cfg    Config
	groups map[string]*Group
}

// GroupID names the group of a replica set.
func GroupID(set []string) string {
	s := slices.Clone(set)
	slices.Sort(s)
	return strings.Join(s, "-")
}

// New starts the node's groups. Every member of a group bootstraps it with
// the same configuration when it has no state of its own, which
// hashicorp/raft allows.
func New(cfg Config) (*Store, error) {
	if err := cfg.Settings.validate(); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = logrus.NewEntry(logrus.StandardLogger())
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Store{cfg: cfg, groups: map[string]*Group{}}
	for _, set := range cfg.Sets {
		if !slices.Contains(set, cfg.Self) {
			continue
		}
		g, err := s.startGroup(set)
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("start raft group %s: %w", GroupID(set), err)
		}
		s.groups[g.ID] = g
	}
	return s, nil
}

// Group is one Raft group as seen from this node.
type Group struct {
	ID      string
	Members []string
	raft    *raft.Raft
	fsm     *FSM
	logs    raft.LogStore
	trans   *raft.NetworkTransport
	stream  *streamLayer
	reads   string
	self    string
	now     func() time.Time // the node's clock (Config.Now)
	lease   lease            // ReadLease mode's read lease
	closers []func() error

	transferring atomic.Bool // preferLeader is handing the lead over: no lease renewal

	readyTerm atomic.Uint64 // the term in which this leader's barrier was applied
	elections atomic.Uint64 // elections this node started (became candidate)
	obsDone   chan struct{}
	preferred string      // the member made leader at the start (preferLeader)
	handing   atomic.Bool // preferLeader still at work
	closeOnce sync.Once
	closeErr  error
}

func (s *Store) startGroup(set []string) (*Group, error) {
	id := GroupID(set)
	g := &Group{
		ID: id, Members: slices.Sorted(slices.Values(set)), reads: s.cfg.Settings.Reads,
		self: s.cfg.Self, now: s.cfg.Now, lease: lease{dur: s.cfg.Settings.LeaseDuration},
		obsDone: make(chan struct{}),
	}
	owns := func(key string) bool { return GroupID(s.cfg.Route(key)) == id }
	g.fsm = NewFSM(s.cfg.Engine, owns)
	st := s.cfg.Settings
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(s.cfg.Self)
	rc.HeartbeatTimeout = st.HeartbeatTimeout
	rc.ElectionTimeout = st.ElectionTimeout
	rc.LeaderLeaseTimeout = st.LeaderLeaseTimeout
	rc.CommitTimeout = st.CommitTimeout
	rc.SnapshotThreshold = st.SnapshotThreshold
	rc.TrailingLogs = st.TrailingLogs
	rc.SnapshotInterval = st.SnapshotInterval
	rc.Logger = hclog.New(&hclog.LoggerOptions{
		Name:   "raft " + id,
		Level:  hclog.Warn,
		Output: s.cfg.Log.WithField("raft", id).WriterLevel(logrus.WarnLevel),
	})

	var (
		logs   raft.LogStore
		stable raft.StableStore
		snaps  raft.SnapshotStore
	)
	if s.cfg.DataDir == "" {
		mem := raft.NewInmemStore()
		logs, stable, snaps = mem, mem, raft.NewInmemSnapshotStore()
	} else {
		dir := filepath.Join(s.cfg.DataDir, "raft", id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create raft dir: %w", err)
		}
		bs, err := OpenBoltLogStore(filepath.Join(dir, "log.db"))
		if err != nil {
			return nil, err
		}
		g.closers = append(g.closers, bs.Close)
		fs, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, rc.Logger)
		if err != nil {
			_ = bs.Close()
			return nil, fmt.Errorf("open snapshot store: %w", err)
		}
		logs, stable, snaps = bs, bs, fs
	}
	peers := map[string]string{}
	for _, m := range set {
		if m != s.cfg.Self {
			if s.cfg.Peers[m] == "" {
				return nil, fmt.Errorf("no address for peer %s", m)
			}
			peers[m] = s.cfg.Peers[m]
		}
	}
	g.stream = newStreamLayer(id, s.cfg.Self, peers, s.cfg.PeerToken)
	g.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  g.stream,
		MaxPool: 4,
		Timeout: 2 * time.Second,
		Logger:  rc.Logger,
	})
	g.logs = logs
	had, err := raft.HasExistingState(logs, stable, snaps)
	if err != nil {
		g.close()
		return nil, fmt.Errorf("inspect raft state: %w", err)
	}
	if !had {
		var servers []raft.Server
		for _, m := range set {
			servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(m), Address: raft.ServerAddress(m)})
		}
		if err := raft.BootstrapCluster(rc, logs, stable, snaps, g.trans, raft.Configuration{Servers: servers}); err != nil {
			g.close()
			return nil, fmt.Errorf("bootstrap: %w", err)
		}
	}
	r, err := raft.NewRaft(rc, g.fsm, logs, stable, snaps, g.trans)
	if err != nil {
		g.close()
		return nil, fmt.Errorf("new raft: %w", err)
	}
	g.raft = r
	obs := make(chan raft.Observation, 16)
	observer := raft.NewObserver(obs, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.RaftState)
		return ok
	})
	r.RegisterObserver(observer)
	go func() {
		for {
			select {
			case o := <-obs:
				if o.Data.(raft.RaftState) == raft.Candidate {
					g.elections.Add(1)
				}
			case <-g.obsDone:
				r.DeregisterObserver(observer)
				return
			}
		}
	}()
	g.preferred = g.Members[0]
	g.handing.Store(true)
	go g.preferLeader(preferWithin)
	if g.reads == ReadLease {
		go g.renewLease(g.lease.dur / 8)
	}
	return g, nil
}

// preferWithin is how long after a group starts its first member (by id)
// is made leader.
const preferWithin = 5 * time.Second

// preferLeader makes the group's first member its leader once, soon after
// the group starts: elections are random, and an experiment that means to
// crash or pause the leader can then name it (n1 of a 3-node cluster). The
// node that leads instead hands the lead over; every node stops trying once
// it has seen the first member lead, or after within.
func (g *Group) preferLeader(within time.Duration) {
	defer g.handing.Store(false)
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-g.obsDone:
			return
		case <-deadline.C:
			return
		case <-tick.C:
		}
		if g.Leader() == g.preferred {
			return
		}
		if g.IsLeader() {
			// The next leader is elected at once, not after a timeout:
			// the lease must go first.
			g.transferring.Store(true)
			g.lease.revoke()
			f := g.raft.LeadershipTransferToServer(raft.ServerID(g.preferred), raft.ServerAddress(g.preferred))
			_ = f.Error() // on failure, try again at the next tick
			g.transferring.Store(false)
		}
	}
}

func (g *Group) close() error {
	g.closeOnce.Do(func() { g.closeErr = g.shutdown() })
	return g.closeErr
}

func (g *Group) shutdown() error {
	var errs []error
	if g.raft != nil {
		close(g.obsDone)
		errs = append(errs, g.raft.Shutdown().Error())
	}
	if g.trans != nil {
		errs = append(errs, g.trans.Close())
	}
	for _, c := range g.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// Close stops every group.
func (s *Store) Close() error {
	var errs []error
	for _, g := range s.groups {
		if err := g.close(); err != nil {
			errs = append(errs, fmt.Errorf("raft group %s: %w", g.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Handler serves the Raft upgrade path (PathPrefix); the caller checks the
// peer token.
func (s *Store) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := s.groups[strings.TrimPrefix(r.URL.Path, PathPrefix)]
		if g == nil {
			http.Error(w, "no such raft group on this node", http.StatusNotFound)
			return
		}
		g.stream.serve(w, r)
	})
}

// Groups returns the node's groups, sorted by id.
func (s *Store) Groups() []*Group {
	out := make([]*Group, 0, len(s.groups))
	for _, g := range s.groups {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *Group) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// GroupOf returns key's group on this node, nil when this node is not in it.
func (s *Store) GroupOf(key string) *Group { return s.groups[GroupID(s.cfg.Route(key))] }

// NotLeaderError says that this node does not lead key's group; Leader is
// the leader it knows of, "" when it knows none. Nothing was done.
type NotLeaderError struct {
	Group  string
	Leader string
}

func (e *NotLeaderError) Error() string {
	if e.Leader == "" {
		return fmt.Sprintf("raft group %s has no known leader", e.Group)
	}
	return fmt.Sprintf("raft group %s is led by %s", e.Group, e.Leader)
}

// IndeterminateError says a write was handed to the log but its outcome is
// unknown: it may still commit.
type IndeterminateError struct{ Err error }

func (e *IndeterminateError) Error() string { return "indeterminate: " + e.Err.Error() }
func (e *IndeterminateError) Unwrap() error { return e.Err }

// Leader returns the group's leader as this node knows it ("" if none).
func (g *Group) Leader() string {
	_, id := g.raft.LeaderWithID()
	return string(id)
}

// IsLeader says whether this node leads the group now.
func (g *Group) IsLeader() bool { return g.raft.State() == raft.Leader }

func (g *Group) notLeader() error { return &NotLeaderError{Group: g.ID, Leader: g.Leader()} }

// wait waits for f within ctx.
func wait(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Write appends a put (or a delete) of key to the log and waits until it is
// applied. A *NotLeaderError means nothing was appended; an
// *IndeterminateError that the write may still take effect.
func (g *Group) Write(ctx context.Context, key string, value []byte, tombstone bool) (storage.Version, error) {
	if !g.IsLeader() {
		return storage.Version{}, g.notLeader()
	}
	budget := time.Second
	if dl, ok := ctx.Deadline(); ok {
		budget = max(time.Until(dl), time.Millisecond)
	}
	f := g.raft.Apply(encodeCommand(key, value, tombstone), budget)
	err := wait(ctx, f)
	switch {
	case errors.Is(err, raft.ErrNotLeader):
		return storage.Version{}, g.notLeader()
	case errors.Is(err, raft.ErrEnqueueTimeout), errors.Is(err, raft.ErrRaftShutdown) && f.Index() == 0:
		return storage.Version{}, fmt.Errorf("raft group %s: %w", g.ID, err)
	case err != nil:
		return storage.Version{}, &IndeterminateError{Err: fmt.Errorf("raft group %s: write %s: %w", g.ID, key, err)}
	}
	res, _ := f.Response().(ApplyResult)
	if res.Err != nil {
		return res.Version, res.Err
	}
	return res.Version, nil
}

// renewLease keeps the read lease (ReadLease) while this node leads: every
// interval it confirms its lead with a quorum (VerifyLeader) and, on
// success, renews the lease from the clock reading taken before it asked.
func (g *Group) renewLease(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-g.obsDone:
			return
		case <-t.C:
		}
		if !g.IsLeader() || g.transferring.Load() {
			continue
		}
		gen, start := g.lease.begin(), g.now()
		ctx, cancel := context.WithTimeout(context.Background(), g.lease.dur)
		err := g.ready(ctx)
		if err == nil {
			err = wait(ctx, g.raft.VerifyLeader())
		}
		cancel()
		if err == nil {
			g.lease.renew(gen, start)
		}
	}
}

// LeaseHolds says whether this node may answer a read of the group from its
// own state under the read lease (ReadLease mode): its clock says the lease
// has not expired, and it has heard of no other leader. Raft's own view of
// the role is not consulted: the lease is the authority (hashicorp/raft's
// leader steps down on monotonic timers the clock-skew fault does not move).
func (g *Group) LeaseHolds() bool {
	if g.reads != ReadLease {
		return false
	}
	if l := g.Leader(); l != "" && l != g.self {
		return false
	}
	return g.lease.valid(g.now())
}

// ready commits a barrier when this leader is new in its term: its commit
// index may not yet cover what the previous leader committed.
func (g *Group) ready(ctx context.Context) error {
	term := g.raft.CurrentTerm()
	if g.readyTerm.Load() == term {
		return nil
	}
	budget := time.Second
	if dl, ok := ctx.Deadline(); ok {
		budget = max(time.Until(dl), time.Millisecond)
	}
	before := g.raft.CommitIndex()
	if err := wait(ctx, g.raft.Barrier(budget)); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return g.notLeader()
		}
		return fmt.Errorf("raft group %s: barrier: %w", g.ID, err)
	}
	// Every entry up to the barrier is applied, those before the call too.
	g.fsm.raiseFloor(before)
	g.readyTerm.Store(term)
	return nil
}

// Read returns key's record as the group's leader holds it. In ReadIndex
// mode it is linearizable: the leader notes its commit index, confirms with
// a quorum that it still leads, and waits until that index is applied. A
// leader new in its term first commits a barrier, since its commit index
// may not yet cover what the previous leader committed. In ReadLease mode
// a node whose lease holds (LeaseHolds) skips the confirmation and answers
// from its own state, leader or not; without the lease it reads as in
// ReadIndex mode.
func (g *Group) Read(ctx context.Context, key string, engine storage.Engine) (storage.Record, bool, error) {
	leased := g.LeaseHolds()
	if !leased {
		if !g.IsLeader() {
			return storage.Record{}, false, g.notLeader()
		}
		if err := g.ready(ctx); err != nil {
			return storage.Record{}, false, err
		}
	}
	index := g.raft.CommitIndex()
	if !leased {
		if err := wait(ctx, g.raft.VerifyLeader()); err != nil {
			if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
				return storage.Record{}, false, g.notLeader()
			}
			return storage.Record{}, false, fmt.Errorf("raft group %s: confirm leadership: %w", g.ID, err)
		}
	}
	for {
		applied, next := g.fsm.Applied()
		if g.appliedThrough(applied, index) {
			break
		}
		select {
		case <-next:
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			return storage.Record{}, false, fmt.Errorf("raft group %s: wait for index %d: %w", g.ID, index, ctx.Err())
		}
	}
	return engine.Get(key)
}

// appliedThrough says whether every write up to index is applied, given
// that the FSM applied the writes up to applied. The FSM sees only commands,
// not the no-op and barrier entries a leader appends, so the entries between
// are looked up: none of them may be a command. An entry no longer in the
// log was compacted into a snapshot, so it was applied.
func (g *Group) appliedThrough(applied, index uint64) bool {
	if applied >= index {
		return true
	}
	if index-applied > 64 {
		return false
	}
	for i := applied + 1; i <= index; i++ {
		var l raft.Log
		if err := g.logs.GetLog(i, &l); err == nil && l.Type == raft.LogCommand {
			return false
		}
	}
	return true
}

// Status is one group's state for metrics and /debug.
type Status struct {
	Group        string `json:"group"`
	State        string `json:"state"`
	Leader       string `json:"leader"`
	Term         uint64 `json:"term"`
	CommitIndex  uint64 `json:"commitIndex"`
	AppliedIndex uint64 `json:"appliedIndex"`
	Elections    uint64 `json:"elections"`
}

// Status returns the group's state now.
func (g *Group) Status() Status {
	applied, _ := g.fsm.Applied()
	return Status{
		Group: g.ID, State: g.raft.State().String(), Leader: g.Leader(),
		Term: g.raft.CurrentTerm(), CommitIndex: g.raft.CommitIndex(), AppliedIndex: applied,
		Elections: g.elections.Load(),
	}
}

// Unsettled says why the groups are not settled, "" when every group has a
// leader this node knows.
func (s *Store) Unsettled() string {
	var none, moving []string
	for _, g := range s.Groups() {
		switch {
		case g.Leader() == "":
			none = append(none, g.ID)
		case g.handing.Load() && g.IsLeader() && g.preferred != s.cfg.Self:
			moving = append(moving, g.ID+" to "+g.preferred)
		}
	}
	if len(none) > 0 {
		return "raft groups without a known leader: " + strings.Join(none, ", ")
	}
	if len(moving) > 0 {
		return "handing raft leadership over: " + strings.Join(moving, ", ")
	}
	return ""
}
