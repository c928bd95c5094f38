package faultplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	neturl "net/url"
	"sort"
	"strings"
	"sync"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/internal/deadman"
	"github.com/chaosctl/chaosctl/internal/httpcall"
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
	token  string // "" for a user's own toxiproxy
	log    *logrus.Entry

	embedded *http.Server    // nil when driving an external server
	lease    *deadman.Keeper // the lease of a plane in another process

	mu      sync.Mutex
	proxies map[Link]*toxiclient.Proxy
	holds   map[Link]*linkHold // who holds each link disabled (enablement.go)
}

// Access is how chaosctl reaches a fault plane's toxiproxy API.
type Access struct {
	// Token is the run's token, which a plane chaosctl serves requires of
	// every request; "" for a user's own toxiproxy (target.external.toxiproxy),
	// which chaosctl drives as it is: no token, no lease.
	Token string
	// LeaseTTL is how long the faults of a plane in another process or
	// container outlive chaosctl's last renewal of its lease (0:
	// deadman.DefaultTTL). Only ConnectServed with a Token keeps a lease:
	// an embedded plane dies with chaosctl.
	LeaseTTL time.Duration
}

// Serve runs chaosctl's toxiproxy API server on ln until ctx ends, then
// stops every proxy it holds. Every request must carry token, and a lease
// that lapses reverts every fault (see package deadman). It is `chaosctl
// proxy`.
func Serve(ctx context.Context, ln net.Listener, token string, log *logrus.Entry) error {
	if token == "" {
		return errors.New("fault plane API: no token")
	}
	s := newServer(token, log)
	defer s.close()
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 5 * time.Second}
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
	return nil
}

// StartEmbedded starts an in-process toxiproxy server whose API listens on a
// free 127.0.0.1 port and requires a fresh random token of every request
// (Plane.Token), and returns a plane driving it. The server dies with
// chaosctl, its proxies with it, so it keeps no lease.
func StartEmbedded(ctx context.Context, run string, log *logrus.Entry) (*Plane, error) {
	token := httpcall.NewToken()
	s := newServer(token, log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fault plane: listen: %w", err)
	}
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 5 * time.Second}
	srv.RegisterOnShutdown(s.close)
	go func() { _ = srv.Serve(ln) }()
	p := newPlane(run, "http://"+ln.Addr().String(), token, log)
	p.embedded = srv
	if err := p.ping(ctx); err != nil {
		_ = srv.Close()
		s.close()
		return nil, err
	}
	return p, nil
}

// Connect drives a user's own toxiproxy server at url (http://host:port),
// as it is: no token, no lease (target.external.toxiproxy).
func Connect(ctx context.Context, run, url string, log *logrus.Entry) (*Plane, error) {
	return ConnectServed(ctx, run, url, Access{}, log)
}

// ConnectServed drives a plane chaosctl serves in another process or
// container (`chaosctl proxy`) at url: every request carries acc.Token, and
// the plane's lease is taken now and kept until Close. Without a token it is
// Connect.
func ConnectServed(ctx context.Context, run, url string, acc Access, log *logrus.Entry) (*Plane, error) {
	p := newPlane(run, url, acc.Token, log)
	if err := p.ping(ctx); err != nil {
		return nil, err
	}
	if acc.Token != "" {
		ttl := acc.LeaseTTL
		if ttl == 0 {
			ttl = deadman.DefaultTTL
		}
		k, err := deadman.Keep(ctx, url, acc.Token, ttl, log)
		if err != nil {
			return nil, fmt.Errorf("fault plane at %s: %w", url, err)
		}
		p.lease = k
	}
	return p, nil
}

func newPlane(run, url, token string, log *logrus.Entry) *Plane {
	return &Plane{run: run, url: url, token: token, client: NewClient(url, token), log: log, proxies: map[Link]*toxiclient.Proxy{}, holds: map[Link]*linkHold{}}
}

// NewClient is a toxiproxy client of the API at url that sends token ("" =
// none). toxiproxy's client takes no header nor transport, so the token
// rides as the password of the endpoint's user info, which net/http sends as
// basic authentication (and strips from the URLs of its errors); the
// server's check accepts it (httpcall.RequireToken).
func NewClient(url, token string) *toxiclient.Client {
	if token == "" {
		return toxiclient.NewClient(url)
	}
	u, err := neturl.Parse(url)
	if err != nil || u.Host == "" {
		u, err = neturl.Parse("http://" + url)
	}
	if err != nil {
		return toxiclient.NewClient(url) // the server refuses it: an error naming url
	}
	u.User = neturl.UserPassword("chaosctl", token)
	return toxiclient.NewClient(u.String())
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

// Token is what the plane's API requires of every request ("" for a user's
// own toxiproxy). `chaosctl halt` needs it to revert a wedged run's faults.
func (p *Plane) Token() string { return p.token }

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
	p.ReleaseLease()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
	return err
}

// ReleaseLease stops renewing the lease of a plane in another process and
// releases it: for a runtime that removes the plane's container or pod
// without Close. It is idempotent.
func (p *Plane) ReleaseLease() {
	p.mu.Lock()
	lease := p.lease
	p.lease = nil
	p.mu.Unlock()
	if lease != nil {
		lease.Stop()
	}
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

// RevertRun removes every toxic of run's proxies on the server behind client
// and enables them (`chaosctl halt`): the faults end, the proxies stay for
// the run to go on or end. It works on any toxiproxy.
func RevertRun(client *toxiclient.Client, run string) (toxics, enabled int, err error) {
	all, err := client.Proxies()
	if err != nil {
		return 0, 0, fmt.Errorf("fault plane: list proxies: %w", err)
	}
	var errs []error
	for name, px := range all {
		if !strings.HasPrefix(name, NamePrefix+run+"-") {
			continue
		}
		for _, t := range px.ActiveToxics {
			if err := px.RemoveToxic(t.Name); err != nil && !isNotFound(err) {
				errs = append(errs, fmt.Errorf("proxy %s: remove toxic %s: %w", name, t.Name, err))
				continue
			}
			toxics++
		}
		if !px.Enabled {
			if err := px.Enable(); err != nil {
				errs = append(errs, fmt.Errorf("proxy %s: enable: %w", name, err))
				continue
			}
			enabled++
		}
	}
	return toxics, enabled, errors.Join(errs...)
}
