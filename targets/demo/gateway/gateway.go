package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/cache"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
	"github.com/chaosctl/chaosctl/targets/demo/placement"
	"github.com/chaosctl/chaosctl/targets/demo/resilience"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"
)

// Gateway is one gateway member's request handling: cache, routing and the
// resilience kit towards the store nodes. It is safe for concurrent use.
type Gateway struct {
	cfg       Config
	m         *metrics.Member
	log       *logrus.Entry
	ring      placement.Placement
	cache     *cache.Cache
	load      cache.Loader // g.loadFromStore, bound once so a hit does not allocate
	transport *http.Transport
	client    *http.Client
	breakers  *resilience.Breakers
	hedges    *resilience.HedgeBudget
	retries   *resilience.RetryBudget // nil: no retry budget
	// readLatency holds recent successful read attempts' latencies: the
	// hedge delay is their 95th percentile.
	readLatency *resilience.LatencyWindow
	bulkheads   *resilience.Bulkheads
	rng         *resilience.LockedRand
	mw          resilience.MiddlewareConfig
	behind      *writeBehind // nil unless WriteMode is behind
	// filter holds the keys that may exist; nil unless Cache.Penetration
	// is bloom (see bloom.go).
	filter *cache.KeyFilter
	// stalls watches the gateway's own process (Run starts it): an attempt
	// that failed while the gateway itself stalled is not held against the
	// node (see attempt).
	stalls     *resilience.StallDetector
	stalledFor func(from, to time.Time) time.Duration // stalls.Stalled; tests replace it

	kvURL       map[string]string // node -> "http://host:port/kv/"
	peerRetries map[string]prometheus.Counter
}

// New builds a gateway. m receives its metrics; log its logs (nil: none); rng
// seeds the cache's jitter and early refresh and the retry backoff. In behind
// mode it starts the write-behind flushers; Close stops them.
func New(cfg Config, m *metrics.Member, log *logrus.Entry, rng *rand.Rand) (*Gateway, error) {
	cfg, err := cfg.Validate()
	if err != nil {
		return nil, fmt.Errorf("create gateway: %w", err)
	}
	if m == nil || rng == nil {
		return nil, fmt.Errorf("create gateway %s: metrics and rng are required", cfg.ID)
	}
	if log == nil {
		log = logrus.NewEntry(logrus.New())
		log.Logger.SetOutput(io.Discard)
	}
	log = log.WithField("member", cfg.ID)
	r, err := placement.New(placement.Config{Scheme: cfg.Sharding, Nodes: cfg.Nodes, VNodes: cfg.VNodes, Splits: cfg.Splits})
	if err != nil {
		return nil, fmt.Errorf("create gateway %s: %w", cfg.ID, err)
	}
	// The cache gets its own generator, derived from rng, so the cache's draws
	// and the backoff's do not depend on each other's order.
	c, err := cache.New(cfg.Cache, rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())), time.Now, m)
	if err != nil {
		return nil, fmt.Errorf("create gateway %s: %w", cfg.ID, err)
	}
	breakers, err := resilience.NewBreakers(cfg.Resilience.Breaker, cfg.Nodes, m, log)
	if err != nil {
		return nil, fmt.Errorf("create gateway %s: %w", cfg.ID, err)
	}
	bulkhead := cfg.Resilience.Bulkhead
	transport := &http.Transport{
		Proxy: nil, // nodes are reached directly (or through the fault plane's proxies by address)
		DialContext: (&net.Dialer{
			Timeout:   cfg.Resilience.Timeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		// Many keep-alive connections to few hosts: never close a connection
		// a bulkhead slot may want again.
		MaxIdleConns:        bulkhead * len(cfg.Nodes),
		MaxIdleConnsPerHost: bulkhead,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	g := &Gateway{
		cfg:         cfg,
		m:           m,
		log:         log,
		ring:        r,
		cache:       c,
		transport:   transport,
		client:      &http.Client{Transport: transport},
		breakers:    breakers,
		hedges:      resilience.NewHedgeBudget(cfg.Resilience.Hedge.Budget),
		retries:     resilience.NewRetryBudget(cfg.Resilience.RetryBudget, resilience.DefaultRetryBudgetFloor, nil),
		readLatency: resilience.NewLatencyWindow(time.Second, nil),
		bulkheads:   resilience.NewBulkheads(bulkhead, cfg.Nodes, m),
		rng:         resilience.NewLockedRand(rng),
		mw:          cfg.Resilience.MiddlewareConfig(m),
		kvURL:       make(map[string]string, len(cfg.Nodes)),
		peerRetries: make(map[string]prometheus.Counter, len(cfg.Nodes)),
		stalls:      resilience.NewStallDetector(m.StallSeconds),
	}
	g.stalledFor = g.stalls.Stalled
	g.load = g.loadFromStore
	for _, n := range cfg.Nodes {
		g.kvURL[n] = "http://" + cfg.Peers[n] + api.KVPrefix
		g.peerRetries[n] = m.Retries.WithLabelValues(n)
	}
	if cfg.Cache.Penetration == cache.PenetrationBloom {
		g.filter = cache.NewKeyFilter(cfg.Cache.BloomCapacity, cfg.Cache.BloomFalsePositive, cfg.OnlyWriter, m)
	}
	if cfg.WriteMode == WriteBehind {
		g.behind = newWriteBehind(g)
	}
	return g, nil
}

// Config returns the validated config, defaults filled in.
func (g *Gateway) Config() Config { return g.cfg }

// Ring returns the placement the gateway routes by.
func (g *Gateway) Ring() placement.Placement { return g.ring }

// Get reads key through the cache (hit, miss, stale, negative are counted in
// chaosdemo_cache_requests_total); a miss loads from the key's preference list.
// With penetration bloom a key the trusted filter never saw is not found
// without the cache or the store (chaosdemo_bloom_checks_total).
// A key the store does not hold is an Entry with Found false and a nil error.
// The entry's Value is shared with the cache and must not be modified.
func (g *Gateway) Get(ctx context.Context, key string) (cache.Entry, error) {
	if err := api.ValidateKey(key); err != nil {
		return cache.Entry{}, &StatusError{Code: http.StatusBadRequest, Reason: err.Error()}
	}
	if g.filter != nil {
		return g.checkFilter(ctx, key, g.getCached)
	}
	return g.getCached(ctx, key)
}

func (g *Gateway) getCached(ctx context.Context, key string) (cache.Entry, error) {
	e, _, err := g.cache.Get(ctx, key, g.load)
	return e, err
}

// GetFromStore reads key from the store, bypassing the cache and the
// write-behind writes not yet flushed: the key's node coordinates the read (a
// quorum read in the linearizable and quorum modes). The answer is not cached.
// It serves GET with Cache-Control: no-cache; the Bloom filter is not asked
// either, but learns a key found.
func (g *Gateway) GetFromStore(ctx context.Context, key string) (cache.Entry, error) {
	if err := api.ValidateKey(key); err != nil {
		return cache.Entry{}, &StatusError{Code: http.StatusBadRequest, Reason: err.Error()}
	}
	e, err := g.loadFromStore(ctx, key)
	if err == nil && e.Found && g.filter != nil {
		g.filter.Learn(key)
	}
	return e, err
}

func (g *Gateway) loadFromStore(ctx context.Context, key string) (cache.Entry, error) {
	ans, err := g.call(ctx, storeOp{method: http.MethodGet, key: key})
	if err != nil {
		return cache.Entry{}, err
	}
	if ans.code == http.StatusNotFound {
		return cache.Entry{Found: false}, nil
	}
	return cache.Entry{Value: ans.value, Version: ans.version, Found: true}, nil
}

// Put writes value under key as the write mode says and returns the version the
// store gave it ("" in behind mode, where the store has not seen it yet). The
// gateway keeps value; the caller must not modify it afterwards.
func (g *Gateway) Put(ctx context.Context, key string, value []byte) (version string, err error) {
	if err := api.ValidateKey(key); err != nil {
		return "", &StatusError{Code: http.StatusBadRequest, Reason: err.Error()}
	}
	if err := api.ValidateValue(value); err != nil {
		return "", &StatusError{Code: http.StatusBadRequest, Reason: err.Error()}
	}
	return g.write(ctx, storeOp{method: http.MethodPut, key: key, value: value})
}

// Delete removes key as the write mode says.
func (g *Gateway) Delete(ctx context.Context, key string) (version string, err error) {
	if err := api.ValidateKey(key); err != nil {
		return "", &StatusError{Code: http.StatusBadRequest, Reason: err.Error()}
	}
	return g.write(ctx, storeOp{method: http.MethodDelete, key: key})
}

func (g *Gateway) write(ctx context.Context, op storeOp) (string, error) {
	written := cache.Entry{Value: op.value, Found: op.method == http.MethodPut}
	if g.filter != nil && written.Found {
		g.filter.Add(op.key) // before any node can hold the key (bloom.go, rule 1)
	}
	switch g.cfg.WriteMode {
	case WriteBehind:
		return "", g.behind.enqueue(op, resilience.RequestIDFrom(ctx), written)
	case WriteThrough:
		ans, err := g.call(ctx, op)
		if err != nil {
			// Neither the old value nor the new one is known to be the
			// store's (an indeterminate write may land later): the next
			// read asks the store.
			g.cache.Invalidate(op.key)
			return "", err
		}
		written.Version = ans.version
		g.cache.Set(op.key, written)
		return ans.version, nil
	default: // WriteInvalidate
		ans, err := g.call(ctx, op)
		// Dropped whatever the outcome: an indeterminate write may have landed.
		g.cache.Invalidate(op.key)
		return ans.version, err
	}
}

// Close stops the gateway gracefully: in behind mode it refuses new writes and
// flushes the queue within ctx; writes still queued when ctx ends are lost
// (counted in chaosdemo_writebehind_flushes_total{result="error"}) and Close
// says how many. Idle connections to the nodes are closed.
// Run watches the gateway's own stalls, and with penetration bloom seeds the
// filter from the store (retrying until it succeeds), until ctx ends.
func (g *Gateway) Run(ctx context.Context) {
	if g.filter != nil {
		done := make(chan struct{})
		go func() {
			defer close(done)
			g.seedFilterUntilDone(ctx)
		}()
		defer func() { <-done }()
	}
	g.stalls.Run(ctx)
}

func (g *Gateway) Close(ctx context.Context) error {
	var err error
	if g.behind != nil {
		err = g.behind.close(ctx)
	}
	g.transport.CloseIdleConnections()
	return err
}

// statusOf maps an error of the read or write path to the answer's status code
// and X-Error reason. 503 promises the client that nothing happened, so it is
// used only for errors that say so (ErrUnavailable, a full queue, a closing
// gateway); a write that may have applied is 500 or 504 with an "indeterminate"
// reason, and an error of unknown kind is 500.
func statusOf(err error) (int, string) {
	var (
		se *StatusError
		ie *IndeterminateError
	)
	switch {
	case errors.As(err, &se):
		return se.Code, se.Reason
	case errors.As(err, &ie) && ie.Timeout:
		return http.StatusGatewayTimeout, "indeterminate: " + api.OpName(ie.Method) + " timed out on " + ie.Node + "; it may have applied"
	case errors.As(err, &ie):
		return http.StatusInternalServerError, "indeterminate: " + api.OpName(ie.Method) + " failed on " + ie.Node + " after it was sent; it may have applied"
	case errors.Is(err, errQueueFull):
		return http.StatusServiceUnavailable, "write-behind queue full"
	case errors.Is(err, errClosing):
		return http.StatusServiceUnavailable, "gateway closing"
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable, "store unavailable"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "deadline exceeded"
	default:
		return http.StatusInternalServerError, "internal error"
	}
}
