package demo

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestQuorumArithmetic(t *testing.T) {
	cases := []struct {
		nodes, n, w, r int
		mode           string
		err            string
	}{
		{5, 3, 2, 2, "linearizable", ""},
		{3, 3, 3, 1, "linearizable", ""},
		{3, 3, 1, 3, "linearizable", ""},
		{5, 5, 3, 3, "linearizable", ""},
		{3, 3, 1, 1, "quorum", ""},
		{3, 3, 2, 1, "linearizable", "r+w > n"},
		{4, 4, 2, 2, "linearizable", "r+w > n"},
		{2, 3, 2, 2, "quorum", "exceeds the 2 store nodes"},
		{3, 3, 4, 2, "quorum", "write quorum w=4"},
		{3, 3, 2, -1, "quorum", "read quorum r=-1"},
		{3, -1, 1, 1, "quorum", "at least 1"},
	}
	for _, tc := range cases {
		s := ClusterSpec{Nodes: tc.nodes, Consistency: tc.mode, Replication: Replication{N: tc.n, W: tc.w, R: tc.r}}
		err := s.Validate()
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%+v: unexpected error %v", tc, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%+v: error %v, want one containing %q", tc, err, tc.err)
		}
	}
}

func TestDefaultsFollowNodeCountAndMode(t *testing.T) {
	s := ClusterSpec{Nodes: 1}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.Replication != (Replication{N: 1, W: 1, R: 1}) {
		t.Fatalf("1 node: replication %+v, want n=w=r=1", s.Replication)
	}
	s = ClusterSpec{Nodes: 5, Consistency: "eventual"}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.Replication != (Replication{N: 3, W: 1, R: 1}) {
		t.Fatalf("eventual: replication %+v, want n=3 w=r=1", s.Replication)
	}
	d := DefaultClusterSpec()
	if d.Nodes != DefaultNodes || d.Gateways != DefaultGateways || d.Resilience.Timeout != 500*time.Millisecond ||
		d.Resilience.Retries.Max != 2 || d.Cache.Policy != "none" || d.Replication != (Replication{3, 2, 2}) {
		t.Fatalf("defaults differ from the documented ones: %+v", d)
	}
}

func TestMemberConfigRoundTripRejectsUnknownFields(t *testing.T) {
	m := MemberConfig{ID: "n1", Role: RoleNode, Listen: "127.0.0.1:1", Cluster: ClusterSpec{Nodes: 1}}
	enc, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeMemberConfig(enc); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := DecodeMemberConfig(strings.Replace(enc, `"role"`, `"rol":1,"role"`, 1)); err == nil {
		t.Fatal("an unknown field was accepted")
	}
}

func TestPeerTokenIsDerivedAndOneWay(t *testing.T) {
	a, b := PeerToken("control-a"), PeerToken("control-b")
	if a == "" || a != PeerToken("control-a") {
		t.Fatalf("PeerToken is not a stable function of the control token: %q", a)
	}
	if a == b || a == "control-a" || strings.Contains(a, "control-a") {
		t.Fatalf("peer tokens %q and %q: want distinct, and unlike their control tokens", a, b)
	}
	if PeerToken("") != "" {
		t.Fatal("an empty control token gave a peer token; it must give none")
	}
}

// The cache's penetration defaults to negative (negativeTTL's caching of
// not-found answers, the behaviour before the field existed); bloom fills its
// false positive rate; bad values are named with the allowed ones.
func TestCachePenetrationSpec(t *testing.T) {
	d := DefaultClusterSpec()
	if d.Cache.Penetration != PenetrationNegative || d.Cache.NegativeTTL != DefaultNegativeTTL {
		t.Fatalf("default penetration %q, negativeTTL %s; want negative, %s", d.Cache.Penetration, d.Cache.NegativeTTL, DefaultNegativeTTL)
	}
	b := ClusterSpec{Cache: CacheSpec{Policy: "lfu", Penetration: PenetrationBloom}}
	if err := b.Validate(); err != nil || b.Cache.BloomFalsePositive != DefaultBloomFalsePos {
		t.Fatalf("bloom: %v, bloomFalsePositive %g; want no error and %g", err, b.Cache.BloomFalsePositive, DefaultBloomFalsePos)
	}
	for _, tt := range []struct {
		cache CacheSpec
		want  string
	}{
		{CacheSpec{Penetration: "cuckoo"}, `cache penetration "cuckoo": allowed are bloom, negative, none`},
		{CacheSpec{Penetration: PenetrationBloom, BloomFalsePositive: 0.6}, "cache bloomFalsePositive 0.6: must be above 0 and at most 0.5"},
		{CacheSpec{Policy: "mru"}, `cache policy "mru": allowed are none, lru, arc, 2q, lfu`},
	} {
		s := ClusterSpec{Cache: tt.cache}
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want an error containing %q", tt.cache, err, tt.want)
		}
	}
}

func TestOverloadSwitchesValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Resilience)
		err  string // "" = valid
	}{
		{"defaults: all off", func(*Resilience) {}, ""},
		{"all on", func(r *Resilience) {
			r.RetryBudget, r.Breaker.Trip = 0.1, "errorRate"
			r.Admission = Admission{Limit: "aimd", Queue: "codel", Priority: true}
		}, ""},
		{"unknown trip", func(r *Resilience) { r.Breaker.Trip = "often" }, `breaker.trip "often": allowed are consecutive, errorRate`},
		{"unknown limit", func(r *Resilience) { r.Admission.Limit = "vegas" }, `admission.limit "vegas": allowed are static, aimd`},
		{"unknown queue", func(r *Resilience) { r.Admission.Queue = "red" }, `admission.queue "red": allowed are none, codel`},
		{"retry budget above 1", func(r *Resilience) { r.RetryBudget = 1.5 }, "retryBudget 1.5: must be 0 (off) to 1"},
		{"negative error rate", func(r *Resilience) { r.Breaker.ErrorRate = -0.5 }, "errorRate -0.5 must be 0 (default) to 1"},
	}
	for _, tt := range tests {
		s := ClusterSpec{Gateways: 1}
		tt.edit(&s.Resilience)
		err := s.Validate()
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.err)
		}
	}
}

func TestRaftReadsSpec(t *testing.T) {
	for _, reads := range []string{"", "index", "lease"} {
		s := ClusterSpec{Nodes: 3, Consistency: "raft", RaftReads: reads}
		if err := s.Validate(); err != nil {
			t.Errorf("raft reads %q: %v", reads, err)
		}
	}
	s := ClusterSpec{Nodes: 3, Consistency: "raft", RaftReads: "stale"}
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), `raft reads "stale": allowed are index, lease`) {
		t.Fatalf("raft reads stale: %v, want an error naming the allowed values", err)
	}
}

func TestShardingSpec(t *testing.T) {
	s := ClusterSpec{Nodes: 3}
	if err := s.Validate(); err != nil || s.Sharding != "hash" || s.Splits != nil {
		t.Fatalf("default sharding: %q %q, %v; want hash and no split points", s.Sharding, s.Splits, err)
	}
	s = ClusterSpec{Nodes: 3, Sharding: "range"}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	// k0..k999 in byte order: k0, k1, k10, k100, ..., so a third of them
	// come before k4 and two thirds before k7.
	if want := []string{"k4", "k7"}; !slices.Equal(s.Splits, want) {
		t.Fatalf("default split points %q, want %q", s.Splits, want)
	}
	p, err := s.Placement()
	if err != nil || p.Owner("k42") != "n2" || p.Scheme() != "range" {
		t.Fatalf("Placement() = %v, %v", p, err)
	}
	for _, tt := range []struct {
		spec ClusterSpec
		want string
	}{
		{ClusterSpec{Nodes: 3, Sharding: "directory"}, `sharding: sharding scheme "directory" unknown; allowed: hash, range`},
		{ClusterSpec{Nodes: 3, Splits: []string{"k5"}}, `split points ["k5"] apply to range sharding only`},
		{ClusterSpec{Nodes: 3, Sharding: "range", Splits: []string{"k6", "k3"}}, `split point 1 "k3" is not above split point 0 "k6"`},
		{ClusterSpec{Nodes: 3, Sharding: "range", Splits: []string{""}}, "split point 0 is empty"},
	} {
		if err := tt.spec.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want an error saying %q", tt.spec, err, tt.want)
		}
	}
}

// A scan's shard deadline defaults to 200ms and its policy to fail; an
// unknown policy or a negative deadline is refused.
func TestScanSpec(t *testing.T) {
	d := DefaultClusterSpec()
	if d.Scan.ShardTimeout != DefaultScanShardTimeout || d.Scan.Partial != ScanPartialFail {
		t.Fatalf("default scan %+v; want %s, fail", d.Scan, DefaultScanShardTimeout)
	}
	for _, sc := range []ScanSpec{{Partial: "sometimes"}, {ShardTimeout: -1}} {
		s := ClusterSpec{Scan: sc}
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "scan") {
			t.Errorf("Validate(scan %+v) = %v, want an error naming scan", sc, err)
		}
	}
}
