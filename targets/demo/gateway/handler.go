package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/crdt"
	"github.com/chaosctl/chaosctl/targets/demo/placement"
	"github.com/chaosctl/chaosctl/targets/demo/resilience"
	"github.com/prometheus/client_golang/prometheus"
)

// Handler serves the client API on /kv/{key} and range queries on
// GET /kv?from=&to=&limit= (scan.go) behind resilience.Middleware (request
// id, rate limit, shedding, deadline, metrics, one log line per request) and
// GET /debug/ring. The member wiring adds /metrics, /healthz and /readyz.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(api.KVPrefix, resilience.Middleware(g.mw, g.m, g.log, http.HandlerFunc(g.serveKV)))
	mux.Handle(api.ScanPath, resilience.Middleware(g.mw, g.m, g.log, http.HandlerFunc(g.serveScan)))
	mux.Handle(api.LockPrefix, resilience.Middleware(g.mw, g.m, g.log, http.HandlerFunc(g.serveLock)))
	mux.Handle(api.CRDTPrefix, resilience.Middleware(g.mw, g.m, g.log, http.HandlerFunc(g.serveCRDT)))
	mux.HandleFunc("GET /debug/ring", g.serveRing)
	return mux
}

func (g *Gateway) serveKV(w http.ResponseWriter, r *http.Request) {
	key, _ := api.KeyFromPath(r.URL.Path)
	if err := api.ValidateKey(key); err != nil {
		api.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx := r.Context()
	session := r.Header.Get(api.HeaderSession)
	if session != "" && len(session) <= api.MaxSessionLen {
		ctx = withSession(ctx, session)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		get := g.Get
		if noCache(r.Header) || sessionFrom(ctx) != "" {
			get = g.GetFromStore
		}
		e, err := get(ctx, key)
		if err != nil {
			g.fail(w, r, err)
			return
		}
		if !e.Found {
			api.Error(w, http.StatusNotFound, "not found")
			return
		}
		if e.Version != "" {
			w.Header().Set(api.HeaderVersion, e.Version)
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(e.Value)
	case http.MethodPut:
		value, err := readValue(w, r)
		if err != nil {
			api.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		if fence := r.Header.Get(api.HeaderFencingToken); fence != "" {
			// A fenced write is a compare-and-set at the node: never
			// cached or queued, whatever the write mode.
			ans, err := g.call(ctx, storeOp{method: http.MethodPut, key: key, value: value, fence: fence})
			g.cache.Invalidate(key)
			if err != nil {
				g.fail(w, r, err)
				return
			}
			answerWritten(w, ans.version)
			return
		}
		version, err := g.Put(ctx, key, value)
		if err != nil {
			g.fail(w, r, err)
			return
		}
		answerWritten(w, version)
	case http.MethodDelete:
		version, err := g.Delete(ctx, key)
		if err != nil {
			g.fail(w, r, err)
			return
		}
		answerWritten(w, version)
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT, DELETE")
		api.Error(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed", r.Method))
	}
}

// serveCRDT passes the CRDT API (/crdt/{type}/{key}, eventual mode) to the
// key's nodes with the gateway's retries, failover and breakers, never
// through its cache or write-behind queue: a CRDT value is merged by the
// store's replicas, and a copy here would be one more replica that merges
// nothing. An update is retried on another node only when it certainly did not
// apply, as a PUT is.
func (g *Gateway) serveCRDT(w http.ResponseWriter, r *http.Request) {
	typ, key, ok := api.CRDTFromPath(r.URL.Path)
	if !ok || !crdt.KnownType(typ) {
		api.Error(w, http.StatusNotFound, fmt.Sprintf("no such CRDT type %q; use /crdt/{type}/{key} with type one of %s", typ, strings.Join(crdt.Types(), ", ")))
		return
	}
	if err := api.ValidateKey(key); err != nil {
		api.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	op := storeOp{method: r.Method, key: key, crdt: typ}
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4096))
		if err != nil || len(body) == 0 {
			api.Error(w, http.StatusBadRequest, "an update is a JSON body of at most 4096 bytes")
			return
		}
		op.value = body
	default:
		w.Header().Set("Allow", "GET, POST")
		api.Error(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed", r.Method))
		return
	}
	ans, err := g.call(r.Context(), op)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	if r.Method == http.MethodPost {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(ans.value)
}

// noCache reports whether the request's Cache-Control carries no-cache (RFC 9111
// section 5.2.1.4: the answer must come from the origin, here the store).
func noCache(h http.Header) bool {
	for _, line := range h.Values("Cache-Control") {
		for _, d := range strings.Split(line, ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(d), "=")
			if strings.EqualFold(name, "no-cache") {
				return true
			}
		}
	}
	return false
}

func answerWritten(w http.ResponseWriter, version string) {
	if version != "" {
		w.Header().Set(api.HeaderVersion, version)
	}
	w.WriteHeader(http.StatusNoContent)
}

// readValue reads a PUT body of at most api.MaxValueLen bytes.
func readValue(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > api.MaxValueLen {
		return nil, fmt.Errorf("value is %d bytes; the limit is %d bytes", r.ContentLength, api.MaxValueLen)
	}
	v, err := io.ReadAll(http.MaxBytesReader(w, r.Body, api.MaxValueLen))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, fmt.Errorf("value exceeds the limit of %d bytes", api.MaxValueLen)
		}
		return nil, fmt.Errorf("read value: %w", err)
	}
	if err := api.ValidateValue(v); err != nil {
		return nil, err
	}
	return v, nil
}

// fail answers a failed request; the full error goes to the debug log, the
// short reason to X-Error (and the middleware's request line).
func (g *Gateway) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, reason := statusOf(err)
	g.log.WithField("request_id", resilience.RequestIDFrom(r.Context())).WithError(err).Debug("request failed")
	api.Error(w, code, reason)
}

// RingView is the JSON of GET /debug/ring: the ring, plus this gateway's view of
// the nodes (their addresses and breaker states) and, for ?key=K, K's preference
// list.
type RingView struct {
	placement.Description
	Member     string            `json:"member"`
	Replicas   int               `json:"replicas"`
	Peers      map[string]string `json:"peers"`
	Breakers   map[string]string `json:"breakers"`
	Key        string            `json:"key,omitempty"`
	Preference []string          `json:"preference,omitempty"`
}

func (g *Gateway) serveRing(w http.ResponseWriter, r *http.Request) {
	view := RingView{
		Description: g.ring.Describe(),
		Member:      g.cfg.ID,
		Replicas:    g.cfg.Replicas,
		Peers:       g.cfg.Peers,
		Breakers:    g.breakers.States(),
	}
	if k := r.URL.Query().Get("key"); k != "" {
		view.Key, view.Preference = k, g.ring.Preference(k, g.cfg.Replicas)
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(view)
}

func (g *Gateway) replicaCalls(node, class string) prometheus.Counter {
	return g.m.ReplicaRequests.WithLabelValues(node, class)
}

// serveLock passes the lock API (api.LockPrefix) to the lock's coordinator,
// the first node of its record's preference list that admits the call. A
// POST is a write: it fails over only when it certainly had no effect.
func (g *Gateway) serveLock(w http.ResponseWriter, r *http.Request) {
	name, _ := api.LockNameFromPath(r.URL.Path)
	if err := api.ValidateKey(name); err != nil {
		api.Error(w, http.StatusBadRequest, "lock name: "+err.Error())
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		api.Error(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed", r.Method))
		return
	}
	// The record's key places the call; the node's path takes the name.
	ans, err := g.call(r.Context(), storeOp{method: r.Method, key: name, prefix: api.LockPrefix, query: r.URL.RawQuery})
	if err != nil {
		g.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ans.code)
	_, _ = w.Write(ans.value)
}
