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

// A node that stalls for a second (answers nothing, then twice as much)
// moves no share over the window; a shard that takes every request does.
func TestShardWindowSmoothsStalls(t *testing.T) {
	sec := func(n1, n2, n3 float64) []MemberSample {
		m := func(name string, n float64) MemberSample {
			return MemberSample{Member: name, Role: "node", Up: true, HaveRates: true, Requests: n, RequestRate: n}
		}
		return []MemberSample{{Member: "g1", Role: roleGateway, Up: true, HaveRates: true, Requests: 100}, m("n1", n1), m("n2", n2), m("n3", n3)}
	}
	w := NewShardWindow(5)
	for range 4 {
		if share, ok := w.Add(sec(33, 33, 34)); !ok || math.Abs(share-0.34) > 1e-9 {
			t.Fatalf("balanced: %v, %v", share, ok)
		}
	}
	share, _ := w.Add(sec(0, 50, 50)) // n1 stalls
	if share > 0.4 {
		t.Fatalf("one stalled second moved the window's share to %v", share)
	}
	if per, _ := MetricValue(MetricHotShardShare, sec(0, 50, 50)); per != 0.5 {
		t.Fatalf("the second alone has share %v, want 0.5", per)
	}
	hot := NewShardWindow(5)
	for range 5 {
		share, _ = hot.Add(sec(97, 2, 1))
	}
	if math.Abs(share-0.97) > 1e-9 {
		t.Fatalf("hot shard over the window: %v, want 0.97", share)
	}
	// A second without a node's rates has no value, and the window needs requests.
	missing := sec(10, 10, 10)
	missing[2].HaveRates = false
	if _, ok := hot.Add(missing); ok {
		t.Fatal("a second missing a store node's rates gave a share")
	}
	if _, ok := NewShardWindow(5).Add(sec(0, 0, 0)); ok {
		t.Fatal("no requests gave a share")
	}
}
