package experiments

import (
	"errors"
	"fmt"

	"github.com/chaosctl/chaosctl/targets/demo"
)

// ClusterSpec translates the demo cluster section for the demo cluster's
// runtimes (processdemo.Start, docker.StartDemo), validated.
func (c *DemoCluster) ClusterSpec() (demo.ClusterSpec, error) {
	s := demo.ClusterSpec{
		Nodes: c.Nodes, Gateways: c.Gateways, VNodes: c.VNodes,
		Sharding: string(c.Sharding), Splits: c.Splits,
		Replication: demo.Replication{N: c.Replication.N, W: c.Replication.W, R: c.Replication.R},
		Consistency: string(c.Consistency), Persistence: string(c.Persistence), Recovery: string(c.Recovery),
		RaftReads: string(c.Raft.Reads),
		Cache: demo.CacheSpec{
			Policy: string(c.Cache.Policy), Size: c.Cache.Size, TTL: c.Cache.TTL, TTLJitter: float64(c.Cache.TTLJitter),
			NegativeTTL: c.Cache.NegativeTTL, WriteMode: string(c.Cache.WriteMode),
			NoSingleflight: !c.Cache.Singleflight,
			Penetration:    string(c.Cache.Penetration), BloomFalsePositive: float64(c.Cache.BloomFalsePositive),
		},
		Scan: demo.ScanSpec{ShardTimeout: c.Scan.ShardTimeout, Partial: string(c.Scan.Partial)},
		Resilience: demo.Resilience{
			Timeout: c.Resilience.Timeout,
			Retries: demo.Retries{Max: c.Resilience.Retries.Max, Base: c.Resilience.Retries.Base, Cap: c.Resilience.Retries.Cap},
			Breaker: demo.Breaker{Failures: c.Resilience.Breaker.Failures, OpenFor: c.Resilience.Breaker.OpenFor, MaxOpen: float64(c.Resilience.Breaker.MaxOpen), Disabled: !c.Resilience.Breaker.Enabled,
				Trip: string(c.Resilience.Breaker.Trip), ErrorRate: float64(c.Resilience.Breaker.ErrorRate), MinRequests: c.Resilience.Breaker.MinRequests, Window: c.Resilience.Breaker.Window},
			Hedge:       demo.Hedge{After: c.Resilience.Hedge.After, Budget: float64(c.Resilience.Hedge.Budget), Enabled: c.Resilience.Hedge.Enabled},
			Bulkhead:    c.Resilience.Bulkhead,
			MaxInflight: c.Resilience.MaxInflight,
			RateLimit:   c.Resilience.RateLimit,
			RetryBudget: float64(c.Resilience.RetryBudget),
			Admission: demo.Admission{Limit: string(c.Resilience.Admission.Limit), Target: c.Resilience.Admission.Target,
				Queue: string(c.Resilience.Admission.Queue), QueueTarget: c.Resilience.Admission.QueueTarget,
				QueueInterval: c.Resilience.Admission.QueueInterval, Priority: c.Resilience.Admission.Priority},
		},
	}
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("demo cluster: %w", err)
	}
	return s, nil
}

// DemoSpec returns the experiment's demo cluster as a demo.ClusterSpec; an
// external target has none.
func (e *Experiment) DemoSpec() (demo.ClusterSpec, error) {
	if e.Target.Demo == nil {
		return demo.ClusterSpec{}, errors.New("the target is not the demo cluster (target.external)")
	}
	return e.Target.Demo.ClusterSpec()
}
