package faultplane

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/internal/deadman"
	"github.com/chaosctl/chaosctl/internal/httpcall"
	"github.com/chaosctl/chaosctl/targets/faultplane/httptoxic"
)

// MetricsPath serves the plane's own metrics (behind the token).
const MetricsPath = "/chaosctl/metrics"

// server is the toxiproxy API chaosctl serves (embedded, or as `chaosctl
// proxy` in the docker fault-plane container and the kubernetes fault-plane
// pod): every request but GET /version must carry the run's token, and a
// lease (package deadman) that chaosctl renews reverts every fault when it
// lapses.
type server struct {
	api   *toxiproxy.ApiServer
	lease *deadman.Lease
	log   *logrus.Entry

	// reverting is held by a lease's revert and read-held by every API
	// request: toxiproxy's handlers read a proxy's fields without its lock,
	// so the revert must not run beside them.
	reverting sync.RWMutex

	refused  atomic.Int64
	reverted atomic.Int64 // toxics removed and proxies enabled by lease expiries

	handler http.Handler
}

func newServer(token string, log *logrus.Entry) *server {
	if log == nil {
		log = logrus.NewEntry(logrus.StandardLogger())
	}
	// chaosctl's own toxics: every plane chaosctl serves has them.
	httptoxic.Register()
	reg := prometheus.NewRegistry()
	s := &server{api: toxiproxy.NewServer(toxiproxy.NewMetricsContainer(reg), zerolog.Nop()), log: log}
	s.lease = deadman.NewLease(s.revertAll, log)
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "chaosctl_plane_refused_requests_total",
			Help: "Requests to the fault plane's API refused for a missing or wrong token."},
			func() float64 { return float64(s.refused.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "chaosctl_plane_lease_expiries_total",
			Help: "Times chaosctl stopped renewing the fault plane's lease."},
			func() float64 { return float64(s.lease.Expiries()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "chaosctl_plane_lease_reverts_total",
			Help: "Toxics removed and proxies enabled by lease expiries."},
			func() float64 { return float64(s.reverted.Load()) }),
	)
	routes := s.api.Routes()
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.reverting.RLock()
		defer s.reverting.RUnlock()
		routes.ServeHTTP(w, r)
	})
	authed := http.NewServeMux()
	authed.Handle(deadman.Path, s.lease.Handler())
	authed.Handle(MetricsPath, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	authed.Handle("/", api)
	mux := http.NewServeMux()
	// Only toxiproxy's version answers without the token, for readiness
	// probes (the kubelet's, a user's): it tells nothing of the proxies and
	// changes nothing.
	mux.Handle("GET /version", api)
	mux.Handle("/", httpcall.RequireToken(token, func() { s.refused.Add(1) }, authed))
	s.handler = mux
	return s
}

// revertAll removes every toxic and enables every proxy the server holds:
// the dead-man switch.
func (s *server) revertAll() {
	s.reverting.Lock()
	defer s.reverting.Unlock()
	toxics, enabled := 0, 0
	for name, px := range s.api.Collection.Proxies() {
		toxics += len(px.Toxics.GetToxicArray())
		px.Toxics.ResetToxics(context.Background())
		switch err := px.Start(); {
		case err == nil:
			enabled++
		case !errors.Is(err, toxiproxy.ErrProxyAlreadyStarted):
			s.log.WithError(err).WithField("proxy", name).Error("dead-man switch: enable proxy")
		}
	}
	s.reverted.Add(int64(toxics + enabled))
	s.log.WithFields(logrus.Fields{"toxics": toxics, "enabled": enabled}).
		Warn("dead-man switch: removed every toxic and enabled every proxy")
}

// close stops the lease and every proxy.
func (s *server) close() {
	s.lease.Close()
	_ = s.api.Collection.Clear()
}
