package probes

import (
	"math"
	"testing"
	"time"
)

func TestHotShardShare(t *testing.T) {
	node := func(name string, rate float64) MemberSample {
		return MemberSample{Member: name, Role: "node", Up: true, HaveRates: true, RequestRate: rate}
	}
	gw := MemberSample{Member: "g1", Role: roleGateway, Up: true, HaveRates: true, RequestRate: 500}
	tests := []struct {
		name    string
		samples []MemberSample
		want    float64
		ok      bool
	}{
		{"balanced", []MemberSample{gw, node("n1", 30), node("n2", 30), node("n3", 40)}, 0.4, true},
		{"one hot shard", []MemberSample{gw, node("n1", 97), node("n2", 2), node("n3", 1)}, 0.97, true},
		{"no store traffic", []MemberSample{gw, node("n1", 0), node("n2", 0)}, 0, false},
		{"a node without rates", []MemberSample{gw, node("n1", 10), {Member: "n2", Role: "node", Up: true}}, 1, false},
		{"a node down", []MemberSample{gw, node("n1", 10), {Member: "n2", Role: "node"}}, 1, false},
	}
	for _, tt := range tests {
		got, ok := MetricValue(MetricHotShardShare, tt.samples)
		if ok != tt.ok || (ok && math.Abs(got-tt.want) > 1e-9) {
			t.Errorf("%s: hot_shard_share = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	if c := Aggregate(time.Time{}, []MemberSample{gw, node("n1", 30), node("n2", 90)}); c.HotShardShare != 0.75 {
		t.Errorf("HotShardShare = %v, want 0.75", c.HotShardShare)
	}
}
