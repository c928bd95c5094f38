package faultplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/sirupsen/logrus"
)

// ClientSide is the member name of the workload's side of client→gateway links.
const ClientSide = "client"

// NamePrefix starts the name of every proxy chaosctl creates.
const NamePrefix = "chaosctl-"

// Link is a directed connection from one member (or the client) to another.
type Link struct {
	From string `json:"from"`
	To   string `json:"to"`
}

func (l Link) String() string { return l.From + "→" + l.To }

// Plane is a set of proxies, one per link, on one toxiproxy server.
type Plane struct {
	run    string
	client *toxiclient.Client
	url    string
	log    *logrus.Entry

	embedded *http.Server // nil when driving an external server

	mu      sync.Mutex
	proxies map[Link]*toxiclient.Proxy
	holds   map[Link]*linkHold // who holds each link disabled (enablement.go)
}

// newServer is the toxiproxy API server chaosctl runs (embedded, or as the
// `chaosctl proxy` process of the docker runtime's fault-plane container).
func newServer() *toxiproxy.ApiServer {
	return toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
}

// Serve runs a toxiproxy API server on ln until ctx ends, then stops every
// proxy it holds. It is `chaosctl proxy`.
func Serve(ctx context.Context, ln net.Listener) error {
	server := newServer()
	srv := &http.Server{Handler: server.Routes(), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("fault plane API: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	server.Collection.Clear()
	return nil
}

// StartEmbedded starts an in-process toxiproxy server whose API listens on a
// free 127.0.0.1 port, and returns a plane driving it.
func StartEmbedded(ctx context.Context, run string, log *logrus.Entry) (*Plane, error) {
	server := newServer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fault plane: listen: %w", err)
	}
	srv := &http.Server{Handler: server.Routes(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	p := newPlane(run, "http://"+ln.Addr().String(), log)
	p.embedded = srv
	if err := p.ping(ctx); err != nil {
		_ = srv.Close()
		return nil, err
	}
	return p, nil
}

// Connect drives an existing toxiproxy server at url (http://host:port).
func Connect(ctx context.Context, run, url string, log *logrus.Entry) (*Plane, error) {
	p := newPlane(run, url, log)
	if err := p.ping(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

func newPlane(run, url string, log *logrus.Entry) *Plane {
	return &Plane{run: run, url: url, client: toxiclient.NewClient(url), log: log, proxies: map[Link]*toxiclient.Proxy{}, holds: map[Link]*linkHold{}}
}

func (p *Plane) ping(ctx context.Context) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := p.client.Version()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("fault plane: toxiproxy API at %s does not answer: %w", p.url, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// URL is the toxiproxy API's address.
func (p *Plane) URL() string { return p.url }

// Client is the toxiproxy client driving the plane.
func (p *Plane) Client() *toxiclient.Client { return p.client }

// ProxyName is the name of the proxy for link in run.
func ProxyName(run string, l Link) string {
	return NamePrefix + run + "-" + l.From + "-" + l.To
}

// AddProxy creates the proxy for link, listening on listen (port 0 = free) and
// forwarding to upstream, and returns the address it listens on.
func (p *Plane) AddProxy(l Link, listen, upstream string) (string, error) {
	px, err := p.client.CreateProxy(ProxyName(p.run, l), listen, upstream)
	if err != nil {
		return "", fmt.Errorf("fault plane: create proxy %s: %w", l, err)
	}
	p.mu.Lock()
	p.proxies[l] = px
	p.mu.Unlock()
	return px.Listen, nil
}

// Proxy returns the proxy of link, or nil.
func (p *Plane) Proxy(l Link) *toxiclient.Proxy {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proxies[l]
}

// Links returns every link with a proxy, sorted.
func (p *Plane) Links() []Link {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Link, 0, len(p.proxies))
	for l := range p.proxies {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].From != out[j].From {
			return out[i].From < out[j].From
		}
		return out[i].To < out[j].To
	})
	return out
}

// Addr returns where link's proxy listens ("" when there is none).
func (p *Plane) Addr(l Link) string {
	if px := p.Proxy(l); px != nil {
		return px.Listen
	}
	return ""
}

// Close deletes every proxy of this run and stops an embedded server. It is
// idempotent.
func (p *Plane) Close() error {
	err := Cleanup(p.client, p.run)
	p.mu.Lock()
	p.proxies = map[Link]*toxiclient.Proxy{}
	srv := p.embedded
	p.embedded = nil
	p.mu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
	return err
}

// Cleanup deletes every proxy named for run on the server behind client (for
// recovery after a crash), or every chaosctl proxy when run is "".
func Cleanup(client *toxiclient.Client, run string) error {
	all, err := client.Proxies()
	if err != nil {
		return fmt.Errorf("fault plane: list proxies: %w", err)
	}
	prefix := NamePrefix + run
	if run != "" {
		prefix += "-"
	}
	var errs []error
	for name, px := range all {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		if err := px.Delete(); err != nil {
			errs = append(errs, fmt.Errorf("delete proxy %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
