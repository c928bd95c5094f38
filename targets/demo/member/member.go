package member

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/hlc"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
	"github.com/chaosctl/chaosctl/targets/demo/node"
	"github.com/chaosctl/chaosctl/targets/demo/raftkv"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

// ShutdownGrace bounds a graceful stop: in-flight requests, write-behind flush.
const ShutdownGrace = 5 * time.Second

// Options are the process-level inputs of a member beside its config.
type Options struct {
	// ControlToken is the bearer token of the control endpoints and
	// /debug/pprof/; a store node derives its peer token from it
	// (demo.PeerToken). "" refuses them all, and all replica traffic.
	ControlToken string
	Listener     net.Listener  // optional: an already bound listener (tests)
	Log          *logrus.Entry // required
	// BodyTimeout bounds the receipt of a request's body
	// (DefaultBodyTimeout when zero); BodyBudget the bytes of the bodies
	// being received at once (DefaultBodyBudget when zero).
	BodyTimeout time.Duration
	BodyBudget  int64
	// Ready, when set, is called once the member serves requests.
	Ready func(addr string)
}

// role is what differs between a gateway and a store node.
type role interface {
	Handler() http.Handler
	Run(ctx context.Context) error // background work until ctx ends
	Close(ctx context.Context) error
}

// Run serves one member until ctx ends, then stops gracefully.
func Run(ctx context.Context, cfg demo.MemberConfig, opts Options) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("member %s: %w", cfg.ID, err)
	}
	log := opts.Log.WithFields(logrus.Fields{"member": cfg.ID, "role": cfg.Role})
	m := metrics.New(cfg.ID)
	if opts.ControlToken == "" {
		log.Warn("no control token: the control endpoints, /debug/pprof/ and the replica API refuse every request")
	}

	ln := opts.Listener
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", cfg.Listen)
		if err != nil {
			return fmt.Errorf("member %s: listen on %s: %w", cfg.ID, cfg.Listen, err)
		}
	}
	defer ln.Close()

	var (
		r       role
		control *controls
		err     error
	)
	switch cfg.Role {
	case demo.RoleNode:
		var nr *nodeRole
		nr, err = newNodeRole(cfg, demo.PeerToken(opts.ControlToken), m, log)
		r = nr
		if nr != nil {
			control = &controls{node: nr.node}
		}
	case demo.RoleGateway:
		r, err = newGatewayRole(cfg, demo.PeerToken(opts.ControlToken), m, log)
		control = &controls{}
	}
	if err != nil {
		return fmt.Errorf("member %s: %w", cfg.ID, err)
	}

	var ready atomic.Bool
	mux := http.NewServeMux()
	mux.Handle("/", r.Handler())
	mux.Handle("/metrics", m.Handler())
	mux.HandleFunc("/healthz", serveHealthz)
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, req *http.Request) {
		if !ready.Load() {
			api.Error(w, http.StatusServiceUnavailable, "starting")
			return
		}
		// /readyz?settled=1 (demo.ReadyzSettled) also waits until the
		// member has nothing left to catch up: a store node's catch-up
		// from its peers and its hints handed off, a gateway's write-behind
		// queue flushed and no breaker open. A cluster's first start waits
		// for it, so a fault injected at once does not find every node
		// still recovering, and so does the read-back after a run's faults
		// are reverted. Plain /readyz does not: a node that restarts while
		// cut off from its peers serves (takes writes) long before it has
		// caught up.
		if s, ok := r.(interface{ Unsettled() string }); ok && req.URL.Query().Get("settled") != "" {
			if why := s.Unsettled(); why != "" {
				api.Error(w, http.StatusServiceUnavailable, why)
				return
			}
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	control.id, control.role, control.token = cfg.ID, cfg.Role, opts.ControlToken
	control.peers = cfg.Peers
	control.metrics, control.log = m, log
	mux.Handle("/control/v1/", control)
	// Profiles, for finding where a member spends its time under load: they
	// show the process's insides, so they take the control token too.
	mux.Handle("/debug/pprof/", withToken(opts.ControlToken, "pprof", m, http.HandlerFunc(pprof.Index)))
	mux.Handle("/debug/pprof/profile", withToken(opts.ControlToken, "pprof", m, http.HandlerFunc(pprof.Profile)))

	srv := &http.Server{
		// Every body is read, within its deadline, before anything else
		// sees the request (see bodies).
		Handler:           newBodies(opts.BodyTimeout, opts.BodyBudget, m).wrap(mux),
		ReadHeaderTimeout: ReadHeaderTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		ErrorLog:          nil,
	}
	bgCtx, bgCancel := context.WithCancel(context.Background())
	bgDone := make(chan error, 1)
	go func() { bgDone <- r.Run(bgCtx) }()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	ready.Store(true)
	log.WithField("addr", ln.Addr().String()).Info("member ready")
	if opts.Ready != nil {
		opts.Ready(ln.Addr().String())
	}

	var result error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			result = fmt.Errorf("member %s: serve: %w", cfg.ID, err)
		}
	}
	ready.Store(false)
	shutCtx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	// Order matters: stop taking requests, then let the role finish (flush the
	// write-behind queue, drain replication), then close storage.
	if err := srv.Shutdown(shutCtx); err != nil {
		log.WithError(err).Warn("graceful shutdown cut short")
	}
	bgCancel()
	if err := <-bgDone; err != nil && result == nil {
		result = err
	}
	if err := r.Close(shutCtx); err != nil && result == nil {
		result = fmt.Errorf("member %s: close: %w", cfg.ID, err)
	}
	log.Info("member stopped")
	return result
}

// nodeRole is a store node with its storage and clock.
type nodeRole struct {
	node   *node.Node
	engine storage.Engine
	admit  func(http.Handler) http.Handler
}

func newNodeRole(cfg demo.MemberConfig, peerToken string, m *metrics.Member, log *logrus.Entry) (*nodeRole, error) {
	var (
		eng storage.Engine
		err error
	)
	if cfg.Cluster.Persistence == demo.PersistDisk {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		eng, err = storage.OpenBolt(filepath.Join(cfg.DataDir, "data.db"))
		if err != nil {
			return nil, fmt.Errorf("open storage: %w", err)
		}
	} else {
		eng = storage.OpenMemory()
	}
	s := cfg.Cluster
	n, err := node.New(node.Config{
		ID:          cfg.ID,
		Nodes:       s.NodeIDs(),
		VNodes:      s.VNodes,
		Sharding:    s.Sharding,
		Splits:      s.Splits,
		N:           s.Replication.N,
		W:           s.Replication.W,
		R:           s.Replication.R,
		Consistency: s.Consistency,
		Peers:       cfg.Peers,
		Timeout:     s.Resilience.Timeout,
		Recovery:    nodeRecovery(s),
		PeerToken:   peerToken,
		RaftDir:     raftDir(cfg),
		Raft:        raftkv.Settings{Reads: s.RaftReads},
	}, eng, hlc.New(nil), m, log)
	if err != nil {
		eng.Close()
		return nil, err
	}
	return &nodeRole{node: n, engine: eng, admit: admission(cfg, m, log)}, nil
}

// raftDir is where Raft mode keeps its logs and snapshots: beside the data
// under disk persistence, nowhere (memory) otherwise.
func raftDir(cfg demo.MemberConfig) string {
	if cfg.Cluster.Persistence == demo.PersistDisk {
		return cfg.DataDir
	}
	return ""
}

// nodeRecovery is the node's start-up recovery: a node whose data is on disk
// restarts with it and has nothing to catch up; an in-memory one restarts
// empty and follows the cluster's recovery mode.
func nodeRecovery(s demo.ClusterSpec) string {
	if s.Persistence == demo.PersistDisk {
		return node.RecoveryNone
	}
	return s.Recovery
}

func (n *nodeRole) Handler() http.Handler {
	h := n.node.Handler()
	admitted := n.admit(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only the client API goes through admission control; replica traffic
		// between nodes is bounded by the callers' deadlines.
		if strings.HasPrefix(r.URL.Path, api.KVPrefix) || strings.HasPrefix(r.URL.Path, api.CRDTPrefix) {
			admitted.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (n *nodeRole) Run(ctx context.Context) error { return n.node.Run(ctx) }

// Unsettled says why the node is not settled, "" when it is (node.Unsettled).
func (n *nodeRole) Unsettled() string { return n.node.Unsettled() }

func (n *nodeRole) Close(context.Context) error {
	if err := n.engine.Close(); err != nil {
		return fmt.Errorf("close storage: %w", err)
	}
	return nil
}

// memberRand returns the member's seeded randomness: the run's seed mixed with
// the member id, so members differ but a run repeats.
func memberRand(cfg demo.MemberConfig) *rand.Rand {
	h := fnv.New64a()
	_, _ = h.Write([]byte(cfg.ID))
	return rand.New(rand.NewPCG(uint64(cfg.Seed), h.Sum64()))
}

// controls serves the control endpoints.
type controls struct {
	id, role, token string
	peers           map[string]string // store node id -> address through the fault plane
	node            *node.Node
	metrics         *metrics.Member
	log             *logrus.Entry
	// corrupted counts the values the corrupt control damaged, for the
	// fault's receipt.
	corrupted atomic.Int64
}

// authorized reports whether r carries "Authorization: Bearer token",
// compared in constant time; never when token is empty.
func authorized(r *http.Request, token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+token)) == 1
}

// withToken lets through the requests that carry the bearer token and
// answers the others 401 (counted by endpoint).
func withToken(token, endpoint string, m *metrics.Member, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !authorized(r, token) {
			m.Unauthorized.WithLabelValues(endpoint).Inc()
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+endpoint+`"`)
			api.Error(w, http.StatusUnauthorized, endpoint+": missing or wrong bearer token")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (c *controls) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !authorized(r, c.token) {
		c.metrics.Unauthorized.WithLabelValues("control").Inc()
		api.Error(w, http.StatusUnauthorized, "control endpoint: missing or wrong bearer token")
		return
	}
	action := strings.TrimPrefix(r.URL.Path, "/control/v1/")
	if action == "status" && (r.Method == http.MethodGet || r.Method == http.MethodPost) {
		st := map[string]any{"id": c.id, "role": c.role, "pid": os.Getpid()}
		if c.node != nil {
			st["clockOffset"] = c.node.ClockOffset().String()
			st["recovering"] = c.node.Recovering()
			st["corrupted"] = c.corrupted.Load()
			if n, err := c.node.LiveValues(); err == nil {
				st["values"] = n
			}
		}
		writeJSON(w, st)
		return
	}
	if r.Method != http.MethodPost {
		api.Error(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	if action == "reach" {
		c.reach(w, r)
		return
	}
	if c.node == nil {
		api.Error(w, http.StatusNotFound, "control action "+action+" is only for store nodes")
		return
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	switch action {
	case "clock-skew":
		var req struct {
			Offset string `json:"offset"`
		}
		if err := dec.Decode(&req); err != nil {
			api.Error(w, http.StatusBadRequest, "clock-skew: body must be {\"offset\":\"DURATION\"}: "+err.Error())
			return
		}
		d, err := time.ParseDuration(req.Offset)
		if err != nil {
			api.Error(w, http.StatusBadRequest, "clock-skew: offset: "+err.Error())
			return
		}
		c.node.SetClockOffset(d)
		c.log.WithField("offset", d).Warn("clock skew set")
		writeJSON(w, map[string]string{"offset": d.String()})
	case "corrupt":
		var req struct {
			Count int     `json:"count"`
			Ratio float64 `json:"ratio"`
			Seed  int64   `json:"seed"`
		}
		err := dec.Decode(&req)
		if err == nil && req.Count == 0 && req.Ratio > 0 && req.Ratio <= 1 {
			// A share of the values stored now, at least one.
			n, lerr := c.node.StoredValues()
			if lerr != nil {
				api.Error(w, http.StatusInternalServerError, lerr.Error())
				return
			}
			req.Count = max(1, int(math.Ceil(req.Ratio*float64(n))))
		}
		if err != nil || req.Count < 1 {
			api.Error(w, http.StatusBadRequest, "corrupt: body must be {\"count\":N (≥1)} or {\"ratio\":R (0<R≤1)}, with an optional \"seed\"")
			return
		}
		keys, err := c.node.Corrupt(req.Count, req.Seed)
		if err != nil {
			api.Error(w, http.StatusInternalServerError, err.Error())
			return
		}
		c.corrupted.Add(int64(len(keys)))
		c.log.WithField("keys", len(keys)).Warn("stored values corrupted")
		writeJSON(w, map[string]any{"keys": keys})
	default:
		api.Error(w, http.StatusNotFound, "unknown control action "+action+"; allowed: clock-skew, corrupt, reach, status")
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
