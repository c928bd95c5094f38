package member

import (
	"context"
	"net/http"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/demo/cache"
	"github.com/chaosctl/chaosctl/targets/demo/gateway"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
	"github.com/chaosctl/chaosctl/targets/demo/resilience"
)

// gatewayRole is a gateway: cache and resilience kit in front of the store.
type gatewayRole struct{ gw *gateway.Gateway }

// newGatewayRole builds a gateway; peerToken lets it list the store's keys
// (the Bloom filter's seed, cache penetration bloom).
func newGatewayRole(cfg demo.MemberConfig, peerToken string, m *metrics.Member, log *logrus.Entry) (role, error) {
	s := cfg.Cluster
	rc, err := resilienceConfig(s.Resilience)
	if err != nil {
		return nil, err
	}
	// CoDel judges a request's age, and a client's request ages on the
	// client's side too (a load generator running late, a dial): at a
	// gateway that would count the client's lateness as the gateway's
	// queue. Store nodes, whose callers are members, keep it.
	rc.Admission.Queue = resilience.QueueNone
	c := s.Cache
	negativeTTL := c.NegativeTTL
	if c.Penetration != demo.PenetrationNegative {
		negativeTTL = 0 // not-found answers are cached only by the negative defence
	}
	gw, err := gateway.New(gateway.Config{
		ID:       cfg.ID,
		Nodes:    s.NodeIDs(),
		VNodes:   s.VNodes,
		Sharding: s.Sharding,
		Splits:   s.Splits,
		Replicas: s.Replication.N,
		Peers:    cfg.Peers,
		Cache: cache.Config{
			Policy:              cache.Policy(c.Policy),
			Size:                c.Size,
			TTL:                 c.TTL,
			TTLJitter:           min(c.TTLJitter, 0.999),
			NegativeTTL:         negativeTTL,
			Penetration:         cache.Penetration(c.Penetration),
			BloomFalsePositive:  c.BloomFalsePositive,
			DisableSingleflight: c.NoSingleflight,
			EarlyRefreshBeta:    max(c.EarlyRefreshBeta, 0),
			DisableEarlyRefresh: c.EarlyRefreshBeta < 0,
			StaleIfError:        c.StaleIfError,
		},
		WriteMode:        gateway.WriteMode(c.WriteMode),
		WriteBehindQueue: c.WriteBehindQueue,
		Resilience:       rc,
		// One gateway sees every write the workload makes (clients of a
		// cluster with gateways write through them).
		OnlyWriter: s.Gateways == 1,
		PeerToken:  peerToken,
		Scan:       gateway.ScanConfig{ShardTimeout: s.Scan.ShardTimeout, Partial: gateway.ScanPolicy(s.Scan.Partial)},
	}, m, log, memberRand(cfg))
	if err != nil {
		return nil, err
	}
	return &gatewayRole{gw: gw}, nil
}

func (g *gatewayRole) Handler() http.Handler { return g.gw.Handler() }

func (g *gatewayRole) Run(ctx context.Context) error {
	g.gw.Run(ctx)
	return nil
}

// Close flushes the write-behind queue (graceful stop only: a killed gateway
// loses it, which is the lesson of write-behind).
func (g *gatewayRole) Close(ctx context.Context) error { return g.gw.Close(ctx) }

// Unsettled says why the gateway is not settled, "" when it is
// (gateway.Unsettled).
func (g *gatewayRole) Unsettled() string { return g.gw.Unsettled() }
