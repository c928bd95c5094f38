package metrics

import "github.com/prometheus/client_golang/prometheus"

// Recovery holds a store node's recovery metrics: how it catches up after a
// restart without its state (in-memory storage).
type Recovery struct {
	Recovering    prometheus.Gauge   // chaosdemo_recovering
	ResyncSeconds prometheus.Gauge   // chaosdemo_resync_duration_seconds
	KeysCopied    prometheus.Counter // chaosdemo_resync_keys_copied_total
	Resyncs       prometheus.Counter // chaosdemo_resyncs_total
}

// NewRecovery creates the recovery metrics and registers them with the
// member's registry. Call it once per member.
func (m *Member) NewRecovery() *Recovery {
	r := &Recovery{
		Recovering: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "recovering",
			Help: "1 while the store node catches up from its peers after a restart (it answers no replica read), else 0."}),
		ResyncSeconds: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "resync_duration_seconds",
			Help: "How long the last catch-up took, from start to answering reads."}),
		KeysCopied: prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "resync_keys_copied_total",
			Help: "Records copied from peers during catch-up that were newer than the node's own copy."}),
		Resyncs: prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "resyncs_total",
			Help: "Catch-ups completed."}),
	}
	m.Registry.MustRegister(r.Recovering, r.ResyncSeconds, r.KeysCopied, r.Resyncs)
	return r
}
