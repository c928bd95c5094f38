package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/hlc"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
	"github.com/chaosctl/chaosctl/targets/demo/placement"
	"github.com/chaosctl/chaosctl/targets/demo/raftkv"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

// Consistency modes.
const (
	Linearizable = "linearizable"
	Quorum       = "quorum"
	Eventual     = "eventual"
	// Raft: every replica set of the ring is a Raft group (package raftkv);
	// the leader orders writes and answers linearizable reads.
	Raft = "raft"
)

// Defaults used when a Config field is zero.
const (
	DefaultTimeout      = time.Second
	DefaultHintInterval = 200 * time.Millisecond
	DefaultHedgeDelay   = 20 * time.Millisecond
)

// Config describes one store node.
type Config struct {
	ID     string
	Nodes  []string // every store node id, in ring order
	VNodes int      // virtual nodes per node on the ring (sharding hash)
	// Sharding is the placement scheme, placement.Hash ("" too) or
	// placement.Range; Splits are the range scheme's split points.
	Sharding     string
	Splits       []string
	N, W, R      int               // replicas, write quorum, read quorum
	Consistency  string            // linearizable | quorum | eventual
	Peers        map[string]string // node id -> host:port as this node reaches it
	Timeout      time.Duration     // coordinator budget when the caller states none
	HintInterval time.Duration     // how often hinted handoff retries delivery
	// HedgeDelay is how long a linearizable read waits on the first R
	// replicas before it asks the others too.
	HedgeDelay time.Duration
	// Recovery is what the node does when it starts: RecoveryResync (the
	// default) catches up from its peers before it answers replica reads;
	// RecoveryNone answers at once. A node whose storage survived its restart
	// (disk persistence) is given RecoveryNone by its member.
	Recovery string
	// ResyncRetry is how long a recovering node waits before asking again the
	// peers that did not answer (DefaultResyncRetry when zero).
	ResyncRetry time.Duration
	// SuspectFor is how long a peer whose replica call failed is asked last
	// by targeted reads unless it answers sooner (DefaultSuspectFor when
	// zero); see suspects.
	SuspectFor time.Duration
	// Now is the clock of the suspicion; nil means time.Now.
	Now func() time.Time
	// Transport reaches the peers; nil means HTTP to Peers.
	Transport Transport
	// PeerToken is the bearer token of replica traffic: the HTTP transport
	// sends it on every replica call to a peer, and the replica API
	// (/internal/v1/...) refuses a request without it (401). Empty refuses
	// every replica request: a node given no token replicates with nobody.
	PeerToken string
	// Raft tunes Raft mode's groups (Consistency Raft).
	Raft raftkv.Settings
	// RaftDir keeps Raft mode's logs and snapshots; "" keeps them in memory.
	RaftDir string
}

func (c *Config) validate() error {
	if c.ID == "" {
		return errors.New("node id is empty")
	}
	idx := -1
	for i, n := range c.Nodes {
		if n == c.ID {
			idx = i
		}
	}
	if idx < 0 {
		return fmt.Errorf("node %s is not in the node list %v", c.ID, c.Nodes)
	}
	switch c.Consistency {
	case "":
		c.Consistency = Linearizable
	case Linearizable, Quorum, Eventual:
	case Raft:
		// The groups catch up by themselves: the log and snapshots.
		c.Recovery = RecoveryNone
	default:
		return fmt.Errorf("consistency %q unknown; allowed: linearizable, quorum, eventual, raft", c.Consistency)
	}
	if c.Consistency == Eventual {
		c.W, c.R = 1, 1
	}
	if err := CheckQuorums(len(c.Nodes), c.N, c.W, c.R, c.Consistency); err != nil {
		return err
	}
	for _, n := range c.Nodes {
		if n != c.ID && c.Peers[n] == "" {
			return fmt.Errorf("no address for peer %s", n)
		}
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.HintInterval <= 0 {
		c.HintInterval = DefaultHintInterval
	}
	if c.HedgeDelay <= 0 {
		c.HedgeDelay = min(DefaultHedgeDelay, c.Timeout/10)
	}
	switch c.Recovery {
	case "":
		c.Recovery = RecoveryResync
	case RecoveryResync, RecoveryNone:
	default:
		return fmt.Errorf("recovery %q unknown; allowed: resync, none", c.Recovery)
	}
	if c.ResyncRetry <= 0 {
		c.ResyncRetry = DefaultResyncRetry
	}
	if c.SuspectFor <= 0 {
		c.SuspectFor = DefaultSuspectFor
	}
	return nil
}

// CheckQuorums reports an impossible replication setting: n replicas on nodes
// nodes with write quorum w and read quorum r under the given mode.
func CheckQuorums(nodes, n, w, r int, mode string) error {
	switch {
	case n < 1:
		return fmt.Errorf("replicas n=%d; it must be at least 1", n)
	case n > nodes:
		return fmt.Errorf("replicas n=%d exceeds the %d store nodes; n must be 1..%d", n, nodes, nodes)
	case w < 1 || w > n:
		return fmt.Errorf("write quorum w=%d; it must be 1..n (n=%d)", w, n)
	case r < 1 || r > n:
		return fmt.Errorf("read quorum r=%d; it must be 1..n (n=%d)", r, n)
	case mode == Linearizable && r+w <= n:
		return fmt.Errorf("linearizable mode needs overlapping quorums, r+w > n; got r=%d w=%d n=%d (majorities: r=w=%d)", r, w, n, n/2+1)
	}
	return nil
}

// Node is one store node. Create it with New, serve Handler, run Run.
type Node struct {
	cfg     Config
	index   uint32 // 1-based position in cfg.Nodes, the tie-breaker in versions
	ring    placement.Placement
	engine  storage.Engine
	clock   *hlc.Clock
	metrics *metrics.Member
	shards  *metrics.Shards // nil without metrics
	log     *logrus.Entry
	seq     atomic.Uint32

	transport Transport
	http      *httpTransport // nil when cfg.Transport was given
	recovery  recovery
	suspects  *suspects
	casLocks  keyLocks // a coordinator's CompareAndSet calls, one at a time per key
	condLocks keyLocks // a replica's conditional writes: check and apply as one

	raft      *raftkv.Store // Raft mode's groups; nil in the other modes
	forwarder *http.Client  // Raft mode: client requests to the leader
	crdt      crdtState

	background sync.WaitGroup // replication and read repair still under way
	bgCtx      context.Context
	bgCancel   context.CancelFunc
}

// New creates a node. The engine and clock belong to the caller, who closes the
// engine after the node's Run has returned.
func New(cfg Config, engine storage.Engine, clock *hlc.Clock, m *metrics.Member, log *logrus.Entry) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("configure node: %w", err)
	}
	r, err := placement.New(placement.Config{Scheme: cfg.Sharding, Nodes: cfg.Nodes, VNodes: cfg.VNodes, Splits: cfg.Splits})
	if err != nil {
		return nil, fmt.Errorf("build placement: %w", err)
	}
	n := &Node{cfg: cfg, ring: r, engine: engine, clock: clock, metrics: m, log: log}
	for i, id := range cfg.Nodes {
		if id == cfg.ID {
			n.index = uint32(i + 1)
		}
	}
	// A node that restarts must not reuse the (counter, node, seq) of a write it
	// made before it died, so the sequence starts from the clock.
	n.seq.Store(uint32(time.Now().UnixNano() >> 12))
	// The CRDT actor of this process: its counters' totals are kept in
	// memory, so a restarted node must not take up the old actor's.
	n.crdt.actor = cfg.ID + "." + strconv.FormatInt(time.Now().UnixNano(), 36)
	n.transport = cfg.Transport
	if n.transport == nil {
		n.http = newHTTPTransport(cfg.Peers, cfg.PeerToken, n.countReplica)
		n.transport = n.http
	}
	n.bgCtx, n.bgCancel = context.WithCancel(context.Background())
	var suspected *prometheus.GaugeVec
	if m != nil {
		suspected = m.ReplicaSuspected
	}
	n.suspects = newSuspects(cfg.SuspectFor, cfg.Now, suspected)
	if m != nil {
		m.ClockOffset.Set(clock.Offset().Seconds())
		n.recovery.m = m.NewRecovery()
		n.shards = m.NewShards(n.shardKeyCounts)
	}
	if cfg.Recovery == RecoveryResync {
		n.recovery.recovering.Store(true)
		n.recovery.started = time.Now()
		if n.recovery.m != nil {
			n.recovery.m.Recovering.Set(1)
		}
	}
	n.countHints()
	if cfg.Consistency == Raft {
		if err := n.startRaft(); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// startRaft starts the node's Raft groups, one per replica set it is in.
func (n *Node) startRaft() error {
	s, err := raftkv.New(raftkv.Config{
		Self:      n.cfg.ID,
		Sets:      n.ring.ReplicaSets(n.cfg.N),
		Route:     func(key string) []string { return n.ring.Preference(key, n.cfg.N) },
		Peers:     n.cfg.Peers,
		PeerToken: n.cfg.PeerToken,
		Engine:    n.engine,
		DataDir:   n.cfg.RaftDir,
		Settings:  n.cfg.Raft,
		// The read lease is judged on the clock the clock-skew fault moves.
		Now: func() time.Time { return time.Now().Add(n.clock.Offset()) },
		Log: n.log,
	})
	if err != nil {
		return fmt.Errorf("start raft: %w", err)
	}
	n.raft = s
	n.forwarder = &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
	if n.metrics != nil {
		if err := n.metrics.Registry.Register(s.Collector()); err != nil {
			_ = s.Close()
			return fmt.Errorf("register raft metrics: %w", err)
		}
	}
	return nil
}

// Ring returns the node's placement (the hash ring or the key ranges).
func (n *Node) Ring() placement.Placement { return n.ring }

// Config returns the node's configuration with defaults filled in.
func (n *Node) Config() Config { return n.cfg }

// Handler serves the client API (/kv/ and /crdt/), the replica API and /debug/ring. The
// caller wraps the client API with admission control (shedding, deadlines).
// The replica API answers only requests that carry the peer token
// (Config.PeerToken); the client API and /debug/ring are open.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(api.KVPrefix, n.serveClient)
	mux.HandleFunc(api.LockPrefix, n.serveLock)
	mux.HandleFunc(api.CRDTPrefix, n.serveCRDT)
	mux.Handle(replicaPrefix, n.peersOnly(n.serveReplica))
	mux.Handle(snapshotPath, n.peersOnly(n.serveSnapshot))
	mux.Handle(api.RangePath, n.peersOnly(n.serveRange))
	mux.HandleFunc("/debug/ring", n.serveRing)
	if n.raft != nil {
		mux.Handle(raftkv.PathPrefix, n.peersOnly(n.raft.Handler().ServeHTTP))
		mux.HandleFunc(raftDebugPath, n.serveRaftDebug)
	}
	return mux
}

// Run catches up from the peers when the node starts recovering, and
// delivers hinted handoffs, until ctx ends; then it waits for background
// replication to finish or be cancelled.
func (n *Node) Run(ctx context.Context) error {
	if n.recovery.active() {
		n.background.Go(func() { n.resync(ctx, n.cfg.ResyncRetry) })
	}
	t := time.NewTicker(n.cfg.HintInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			n.bgCancel()
			n.background.Wait()
			if n.http != nil {
				n.http.closeIdle()
			}
			if n.raft != nil {
				n.forwarder.CloseIdleConnections()
				if err := n.raft.Close(); err != nil {
					return fmt.Errorf("stop raft: %w", err)
				}
			}
			return nil
		case <-t.C:
			n.deliverHints(ctx)
		}
	}
}

// SetClockOffset applies a clock-skew fault to the node's hybrid logical clock.
func (n *Node) SetClockOffset(d time.Duration) {
	n.clock.SetOffset(d)
	if n.metrics != nil {
		n.metrics.ClockOffset.Set(d.Seconds())
	}
}

// Corrupt flips a bit in up to count stored values (the corrupt fault) and
// returns the keys it damaged.
func (n *Node) Corrupt(count int, seed int64) ([]string, error) {
	keys, err := n.engine.Corrupt(count, newRand(seed))
	if err != nil {
		return nil, fmt.Errorf("corrupt %d values: %w", count, err)
	}
	if n.metrics != nil {
		n.metrics.Corruptions.WithLabelValues("injected").Add(float64(len(keys)))
	}
	return keys, nil
}

func (n *Node) serveRing(w http.ResponseWriter, r *http.Request) {
	view := struct {
		placement.Description
		Replicas    int      `json:"replicas"`
		W           int      `json:"writeQuorum"`
		R           int      `json:"readQuorum"`
		Consistency string   `json:"consistency"`
		Recovering  bool     `json:"recovering"`
		Member      string   `json:"member"`
		Key         string   `json:"key,omitempty"`
		Preference  []string `json:"preference,omitempty"`
	}{Description: n.ring.Describe(), Replicas: n.cfg.N, W: n.cfg.W, R: n.cfg.R, Consistency: n.cfg.Consistency, Recovering: n.recovery.active(), Member: n.cfg.ID}
	// ?key=K adds that key's preference list (its home replicas, in order).
	if key := r.URL.Query().Get("key"); key != "" {
		view.Key, view.Preference = key, n.ring.Preference(key, n.cfg.N)
	}
	writeJSON(w, view)
}

// serveClient is the coordinator side of the client API.
func (n *Node) serveClient(w http.ResponseWriter, r *http.Request) {
	key, _ := api.KeyFromPath(r.URL.Path)
	if err := api.ValidateKey(key); err != nil {
		api.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	arrived := n.suspects.now()
	n.countShardRequest(key)
	ctx, cancel, ok := n.clientContext(w, r)
	if !ok {
		return
	}
	defer cancel()
	rid := r.Header.Get(api.HeaderRequestID)
	if n.raft != nil {
		n.serveRaft(ctx, w, r, key, rid)
		return
	}
	read, write := n.Read, n.Write
	if s := r.Header.Get(api.HeaderSession); s != "" && len(s) <= api.MaxSessionLen {
		read, write = n.ReadSession, n.WriteSession
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		rec, found, err := read(ctx, key, rid)
		if err != nil {
			n.writeError(w, "get", err, arrived)
			return
		}
		if !found || rec.Tombstone {
			w.Header().Set(api.HeaderVersion, rec.Version.String())
			api.Error(w, http.StatusNotFound, "not found")
			return
		}
		value := rec.Value
		if token, v, ok := api.DecodeFenced(rec.Value); ok {
			w.Header().Set(api.HeaderFencingToken, strconv.FormatInt(token, 10))
			value = v
		}
		w.Header().Set(api.HeaderVersion, rec.Version.String())
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(value)
		}
	case http.MethodPut, http.MethodDelete:
		var value []byte
		tomb := r.Method == http.MethodDelete
		if !tomb {
			var err error
			value, err = readBody(r)
			if err == nil {
				err = api.ValidateValue(value)
			}
			if err != nil {
				api.Error(w, http.StatusBadRequest, err.Error())
				return
			}
		}
		op := api.OpName(r.Method)
		if h := r.Header.Get(api.HeaderFencingToken); h != "" && !tomb {
			token, err := strconv.ParseInt(h, 10, 64)
			if err != nil || token < 0 {
				api.Error(w, http.StatusBadRequest, fmt.Sprintf("%s %q: a non-negative integer is required", api.HeaderFencingToken, h))
				return
			}
			v, err := n.fencedWrite(ctx, key, token, value, rid)
			if err != nil {
				n.writeCASError(w, op, err, arrived)
				return
			}
			w.Header().Set(api.HeaderVersion, v.String())
			w.WriteHeader(http.StatusNoContent)
			return
		}
		v, err := write(ctx, key, value, tomb, rid)
		if err != nil {
			n.writeError(w, op, err, arrived)
			return
		}
		w.Header().Set(api.HeaderVersion, v.String())
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT, DELETE")
		api.Error(w, http.StatusMethodNotAllowed, "method not allowed; use GET, PUT or DELETE")
	}
}

func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > api.MaxValueLen {
		return nil, fmt.Errorf("value is %d bytes; the limit is %d bytes", r.ContentLength, api.MaxValueLen)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, api.MaxValueLen+1))
	if err != nil {
		return nil, fmt.Errorf("read value: %w", err)
	}
	if len(b) > api.MaxValueLen {
		return nil, fmt.Errorf("value exceeds the limit of %d bytes", api.MaxValueLen)
	}
	return b, nil
}

// withAnswerMargin bounds the coordinator's work on a request to a little
// before the caller's deadline — a twentieth of the budget, at least 1 ms and
// at most 10 ms — so that a failure's answer, and its cause
// (api.HeaderCause), reaches the caller before the caller gives up and counts
// a timeout against this node. The margin is small because it is also time
// a slow replica's answer no longer has: a wider one turns late successes
// into failures on a stalled machine.
func withAnswerMargin(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := min(max(time.Until(dl)/20, time.Millisecond), 10*time.Millisecond)
	return context.WithDeadline(ctx, dl.Add(-margin))
}

// writeError maps a coordinator error to the client API's status codes. 503
// promises that the request had no effect (nothing was written: a read, or a
// write whose version query failed), so a gateway may retry it elsewhere; a
// write that may have reached some replicas answers 500 "indeterminate", and
// its caller must not take it for a failure.
//
// A quorum that failed although this node heard from enough of the key's
// replicas since the request arrived (they answered other requests) is marked
// api.CauseReplicas: the replicas were slow, this coordinator is not cut off,
// and a caller's breaker must not hold it against it.
func (n *Node) writeError(w http.ResponseWriter, op string, err error, arrived time.Time) {
	var qe *QuorumError
	switch {
	case errors.As(err, &qe):
		if n.metrics != nil {
			n.metrics.QuorumFailures.WithLabelValues(op).Inc()
		}
		if n.suspects.inTouch(n.cfg.ID, qe.Replicas, qe.Need, arrived) {
			w.Header().Set(api.HeaderCause, api.CauseReplicas)
		}
		switch {
		case qe.Indeterminate:
			api.Error(w, http.StatusInternalServerError, "indeterminate: "+err.Error())
		case qe.DeadlinePassed && op == "get":
			api.Error(w, http.StatusGatewayTimeout, err.Error())
		default:
			api.Error(w, http.StatusServiceUnavailable, err.Error())
		}
	case errors.Is(err, context.DeadlineExceeded):
		api.Error(w, http.StatusGatewayTimeout, err.Error())
	case errors.Is(err, context.Canceled):
		api.Error(w, http.StatusServiceUnavailable, "caller went away")
	default:
		api.Error(w, http.StatusInternalServerError, err.Error())
	}
}

// QuorumError says that too few replicas answered.
type QuorumError struct {
	Op             string
	Need, Got      int
	Replicas       []string
	DeadlinePassed bool
	// Indeterminate: the write reached some replicas but not a quorum, so it
	// may still take effect (a later read can find and spread it).
	Indeterminate bool
	Last          error
}

func (e *QuorumError) Error() string {
	s := fmt.Sprintf("%s: quorum not reached: %d of %d needed replicas answered (replicas %s)", e.Op, e.Got, e.Need, strings.Join(e.Replicas, ","))
	if e.Last != nil {
		s += ": " + e.Last.Error()
	}
	return s
}

// ClockOffset returns the clock skew currently applied.
func (n *Node) ClockOffset() time.Duration { return n.clock.Offset() }

// StoredValues counts the records this node stores (the base of a corrupt
// ratio).
func (n *Node) StoredValues() (int, error) { return n.engine.Len() }

// LiveValues counts the records this node stores that hold a value, not a
// delete's tombstone: none after every key was deleted, as on a fresh
// store (what chaosctl checks before it reuses a cluster).
func (n *Node) LiveValues() (int, error) {
	count := 0
	var gerr error
	err := n.engine.Keys(func(key string) bool {
		rec, found, err := n.engine.Get(key)
		if err != nil && !errors.Is(err, storage.ErrCorrupt) {
			gerr = err
			return false
		}
		if found && !rec.Tombstone {
			count++
		}
		return true
	})
	return count, errors.Join(err, gerr)
}

// clientContext is a client request's context: its caller's deadline (as
// the gateway sent it) less the margin for the answer. A request whose
// deadline has passed already is answered 504 and counted as dropped; ok
// is then false.
func (n *Node) clientContext(w http.ResponseWriter, r *http.Request) (ctx context.Context, cancel context.CancelFunc, ok bool) {
	ctx, cancelIncoming, expired := api.IncomingContext(r, n.cfg.Timeout)
	if expired {
		cancelIncoming()
		if n.metrics != nil {
			n.metrics.DeadlineDropped.WithLabelValues("coordinator").Inc()
		}
		api.Error(w, http.StatusGatewayTimeout, "deadline passed before the request was worked on")
		return nil, nil, false
	}
	ctx, cancelWork := withAnswerMargin(ctx)
	return ctx, func() { cancelWork(); cancelIncoming() }, true
}
