package member

import (
	"net/http"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
	"github.com/chaosctl/chaosctl/targets/demo/resilience"
)

// resilienceConfig translates the cluster's resilience section.
func resilienceConfig(s demo.Resilience) (resilience.Config, error) {
	return resilience.Config{
		Timeout: s.Timeout,
		Retries: resilience.RetryConfig{Max: s.Retries.Max, Base: s.Retries.Base, Cap: s.Retries.Cap},
		Breaker: resilience.BreakerConfig{Failures: s.Breaker.Failures, OpenFor: s.Breaker.OpenFor, MaxOpen: s.Breaker.MaxOpen, Disabled: s.Breaker.Disabled,
			Trip: s.Breaker.Trip, ErrorRate: s.Breaker.ErrorRate, MinRequests: s.Breaker.MinRequests, Window: s.Breaker.Window},
		Hedge:       resilience.HedgeConfig{After: s.Hedge.After, Budget: s.Hedge.Budget, Disabled: !s.Hedge.Enabled},
		Bulkhead:    s.Bulkhead,
		MaxInflight: s.MaxInflight,
		RateLimit:   s.RateLimit,
		RetryBudget: s.RetryBudget,
		Admission: resilience.AdmissionConfig{Limit: s.Admission.Limit, Target: s.Admission.Target,
			Queue: s.Admission.Queue, QueueTarget: s.Admission.QueueTarget, QueueInterval: s.Admission.QueueInterval,
			Priority: s.Admission.Priority},
	}.Validate()
}

// admission wraps a store node's client API with request ids, load shedding
// and deadlines (rate limiting is the gateways' job).
func admission(cfg demo.MemberConfig, m *metrics.Member, log *logrus.Entry) func(http.Handler) http.Handler {
	rc, err := resilienceConfig(cfg.Cluster.Resilience)
	if err != nil {
		rc = resilience.DefaultConfig()
	}
	rc.RateLimit = 0
	mc := rc.MiddlewareConfig(m)
	mc.Limiter = nil
	return func(h http.Handler) http.Handler { return resilience.Middleware(mc, m, log, h) }
}
