package raftkv

import "github.com/prometheus/client_golang/prometheus"

// Collector exports the groups' state on every scrape:
// chaosdemo_raft_term, chaosdemo_raft_leader (1 while this node leads),
// chaosdemo_raft_commit_index, chaosdemo_raft_applied_index and
// chaosdemo_raft_elections_total, each by group.
func (s *Store) Collector() prometheus.Collector { return collector{s} }

var (
	descTerm      = prometheus.NewDesc("chaosdemo_raft_term", "Current Raft term of the group on this node.", []string{"group"}, nil)
	descLeader    = prometheus.NewDesc("chaosdemo_raft_leader", "1 while this node leads the group, else 0.", []string{"group"}, nil)
	descCommit    = prometheus.NewDesc("chaosdemo_raft_commit_index", "Highest log index this node knows to be committed in the group.", []string{"group"}, nil)
	descApplied   = prometheus.NewDesc("chaosdemo_raft_applied_index", "Highest log index of the group applied to this node's store.", []string{"group"}, nil)
	descElections = prometheus.NewDesc("chaosdemo_raft_elections_total", "Elections this node started in the group (times it became a candidate).", []string{"group"}, nil)
)

type collector struct{ s *Store }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTerm, descLeader, descCommit, descApplied, descElections} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, g := range c.s.Groups() {
		st := g.Status()
		leader := 0.0
		if g.IsLeader() {
			leader = 1
		}
		ch <- prometheus.MustNewConstMetric(descTerm, prometheus.GaugeValue, float64(st.Term), g.ID)
		ch <- prometheus.MustNewConstMetric(descLeader, prometheus.GaugeValue, leader, g.ID)
		ch <- prometheus.MustNewConstMetric(descCommit, prometheus.GaugeValue, float64(st.CommitIndex), g.ID)
		ch <- prometheus.MustNewConstMetric(descApplied, prometheus.GaugeValue, float64(st.AppliedIndex), g.ID)
		ch <- prometheus.MustNewConstMetric(descElections, prometheus.CounterValue, float64(st.Elections), g.ID)
	}
}
