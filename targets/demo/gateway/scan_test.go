package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/placement"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

func live(key string, t int64, value string) storage.KeyRecord {
	return storage.KeyRecord{Key: key, Record: storage.Seal(key, storage.Record{Version: storage.Version{Time: t}, Value: []byte(value)})}
}

func deleted(key string, t int64) storage.KeyRecord {
	return storage.KeyRecord{Key: key, Record: storage.Seal(key, storage.Record{Version: storage.Version{Time: t}, Tombstone: true})}
}

func keysValues(recs []storage.KeyRecord) string {
	parts := make([]string, len(recs))
	for i, r := range recs {
		parts[i] = r.Key + "=" + string(r.Record.Value)
	}
	return strings.Join(parts, " ")
}

func TestMergeListings(t *testing.T) {
	for _, tt := range []struct {
		name     string
		ls       []nodeListing
		to       string
		limit    int
		want     string
		wantNext string
	}{
		{
			name: "newest version of each key wins, whichever node has it",
			ls: []nodeListing{
				{recs: []storage.KeyRecord{live("a", 1, "a1"), live("b", 5, "b5")}},
				{recs: []storage.KeyRecord{live("a", 3, "a3"), live("b", 2, "b2"), live("c", 1, "c1")}},
			},
			limit: 10, want: "a=a3 b=b5 c=c1",
		},
		{
			name: "a newer tombstone deletes, an older one does not",
			ls: []nodeListing{
				{recs: []storage.KeyRecord{live("a", 1, "a1"), deleted("b", 9)}},
				{recs: []storage.KeyRecord{deleted("a", 0), live("b", 4, "b4"), deleted("c", 2)}},
			},
			limit: 10, want: "a=a1",
		},
		{
			name:  "the limit keeps the first keys and says where to continue",
			ls:    []nodeListing{{recs: []storage.KeyRecord{live("a", 1, "1"), live("b", 1, "1")}}, {recs: []storage.KeyRecord{live("c", 1, "1")}}},
			limit: 2, want: "a=1 b=1", wantNext: "b\x00",
		},
		{
			name: "a listing cut at its limit bounds the merge at its last key",
			ls: []nodeListing{
				{recs: []storage.KeyRecord{live("a", 1, "1"), deleted("b", 2)}, more: true},
				{recs: []storage.KeyRecord{live("a", 0, "0"), live("b", 1, "1"), live("c", 1, "1")}},
			},
			// c is past n1's last key: n1 may hold a newer c (a delete).
			limit: 10, want: "a=1", wantNext: "b\x00",
		},
		{
			name:  "no next past the end of the range",
			ls:    []nodeListing{{recs: []storage.KeyRecord{live("a", 1, "1"), live("b", 1, "1")}, more: true}},
			to:    "b\x00",
			limit: 10, want: "a=1 b=1",
		},
		{
			name:  "records that are not client keys (CRDT values) are left out",
			ls:    []nodeListing{{recs: []storage.KeyRecord{live("crdt/counter/x", 1, "{}"), live("k", 1, "1")}}},
			limit: 10, want: "k=1",
		},
		{
			name: "no listings: nothing", limit: 10, want: "",
		},
		{
			name:  "limit equal to the live keys of complete listings: no next",
			ls:    []nodeListing{{recs: []storage.KeyRecord{live("a", 1, "1"), live("b", 1, "1")}}},
			limit: 2, want: "a=1 b=1",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, next := mergeListings(tt.ls, tt.to, tt.limit)
			if keysValues(got) != tt.want || next != tt.wantNext {
				t.Errorf("mergeListings = [%s] next %q, want [%s] next %q", keysValues(got), next, tt.want, tt.wantNext)
			}
		})
	}
}

func TestGatherNamesMissedShards(t *testing.T) {
	shards := []shard{{name: "s1", nodes: []string{"n1", "n2"}}, {name: "s2", nodes: []string{"n3"}}, {name: "s0", nodes: []string{"n4"}}}
	byNode := map[string]listResult{
		"n1": {node: "n1", err: fmt.Errorf("timeout")},
		"n2": {node: "n2", listing: nodeListing{recs: []storage.KeyRecord{live("a", 1, "1")}}},
		"n3": {node: "n3", err: fmt.Errorf("refused")},
		"n4": {node: "n4", err: fmt.Errorf("open breaker")},
	}
	listings, missed, err := gather(shards, byNode)
	if len(listings) != 1 || strings.Join(missed, ",") != "s0,s2" || err == nil || !strings.Contains(err.Error(), "n3: refused") {
		t.Errorf("gather = %d listings, missed %v, err %v; want 1 listing (n2 answers for s1), missed s0,s2, err of n3", len(listings), missed, err)
	}
}

func TestDecodeListingRefusesDamagedAndDisorderedRecords(t *testing.T) {
	good := live("a", 1, "v")
	item := func(kr storage.KeyRecord) api.RangeItem {
		return api.RangeItem{Key: kr.Key, Version: kr.Record.Version.String(), Checksum: kr.Record.Checksum, Value: kr.Record.Value}
	}
	if _, err := decodeListing(api.RangeListing{Items: []api.RangeItem{item(good), item(live("b", 1, "w"))}}); err != nil {
		t.Fatalf("decodeListing(good) = %v", err)
	}
	bad := item(good)
	bad.Value = []byte("x")
	if _, err := decodeListing(api.RangeListing{Items: []api.RangeItem{bad}}); err == nil {
		t.Error("decodeListing accepted a record damaged in transit")
	}
	if _, err := decodeListing(api.RangeListing{Items: []api.RangeItem{item(live("b", 1, "w")), item(good)}}); err == nil {
		t.Error("decodeListing accepted keys out of order")
	}
}

func TestScanConfigValidation(t *testing.T) {
	base := Config{ID: "g1", Nodes: []string{"n1"}, Peers: map[string]string{"n1": "127.0.0.1:1"}}
	c, err := base.Validate()
	if err != nil || c.Scan.ShardTimeout != DefaultScanShardTimeout || c.Scan.Partial != ScanFail {
		t.Fatalf("defaults: %+v, %v", c.Scan, err)
	}
	for _, sc := range []ScanConfig{{ShardTimeout: -time.Second}, {Partial: "maybe"}} {
		cfg := base
		cfg.Scan = sc
		if _, err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "scan") {
			t.Errorf("Validate(%+v) = %v, want an error naming scan", sc, err)
		}
	}
}

// histogramOf reads a histogram of g's registry: its sample count and sum.
func histogramOf(t *testing.T, g *testGateway, name string) (uint64, float64) {
	t.Helper()
	mfs, err := g.m.Registry.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	t.Fatalf("no histogram %s", name)
	return 0, 0
}

// counterOf reads the counter name{...=label} of g's registry (0 when absent).
func counterOf(t *testing.T, g *testGateway, name, label string) float64 {
	t.Helper()
	mfs, err := g.m.Registry.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if mf.GetName() == name && len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == label {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// scanURL is the gateway's range query for [from, to) with limit.
func scanURL(base, from, to string, limit int) string {
	return base + api.ScanPath + "?" + api.ScanQuery{From: from, To: to, Limit: limit}.Encode()
}

func decodeScan(t *testing.T, a answer) api.ScanAnswer {
	t.Helper()
	var ans api.ScanAnswer
	if err := json.Unmarshal([]byte(a.body), &ans); err != nil {
		t.Fatalf("scan answer %d %q: %v", a.code, a.body, err)
	}
	return ans
}

func scanKeys(ans api.ScanAnswer) string {
	parts := make([]string, len(ans.Items))
	for i, it := range ans.Items {
		parts[i] = it.Key + "=" + string(it.Value)
	}
	return strings.Join(parts, " ")
}

// TestScanThroughRealNodes: a scan through a gateway over real store nodes
// lists the live keys of the range in order with their newest values, pages
// with next, and when one node's listing hangs past the shard deadline
// answers 503 (policy fail) or the rest with X-Chaos-Partial (allow).
func TestScanThroughRealNodes(t *testing.T) {
	c := startStoreCluster(t, 4)
	for _, policy := range []ScanPolicy{ScanFail, ScanAllow} {
		t.Run(string(policy), func(t *testing.T) {
			cfg := c.gatewayConfig(Config{ID: "g1", Resilience: fastResilience(), PeerToken: "peer-token",
				Scan: ScanConfig{ShardTimeout: 300 * time.Millisecond, Partial: policy}})
			g := serveGateway(t, cfg)
			for i := range 12 {
				k := fmt.Sprintf("%s-k%02d", policy, i)
				if a := do(t, http.MethodPut, g.url+"/kv/"+k, "v1", nil); a.code != http.StatusNoContent {
					t.Fatalf("PUT %s: %d %s", k, a.code, a.header.Get(api.HeaderError))
				}
			}
			k3 := fmt.Sprintf("%s-k03", policy)
			do(t, http.MethodPut, g.url+"/kv/"+k3, "v2", nil)
			do(t, http.MethodDelete, g.url+"/kv/"+fmt.Sprintf("%s-k04", policy), "", nil)

			from, to := string(policy)+"-k02", string(policy)+"-k07"
			a := do(t, http.MethodGet, scanURL(g.url, from, to, 100), "", nil)
			if a.code != http.StatusOK || a.header.Get(api.HeaderPartial) != "" {
				t.Fatalf("scan: %d %q partial %q", a.code, a.body, a.header.Get(api.HeaderPartial))
			}
			p := string(policy)
			want := fmt.Sprintf("%[1]s-k02=v1 %[1]s-k03=v2 %[1]s-k05=v1 %[1]s-k06=v1", p)
			if got := decodeScan(t, a); scanKeys(got) != want || got.Next != "" {
				t.Fatalf("scan [%s, %s) = [%s] next %q, want [%s]", from, to, scanKeys(got), got.Next, want)
			}
			a = do(t, http.MethodGet, scanURL(g.url, from, to, 2), "", nil)
			page := decodeScan(t, a)
			if scanKeys(page) != fmt.Sprintf("%[1]s-k02=v1 %[1]s-k03=v2", p) || page.Next != p+"-k03\x00" {
				t.Fatalf("scan limit 2 = [%s] next %q", scanKeys(page), page.Next)
			}
			if count, sum := histogramOf(t, g, "chaosdemo_scan_fanout"); count != 2 || sum != 8 {
				t.Errorf("chaosdemo_scan_fanout after 2 scans of 4 nodes: %d samples summing to %g, want 2 summing to 8", count, sum)
			}
			if count, _ := histogramOf(t, g, "chaosdemo_scan_slowest_shard_seconds"); count != 2 {
				t.Errorf("chaosdemo_scan_slowest_shard_seconds after 2 scans: %d samples", count)
			}

			// n2's listings hang until the gateway gives up on them.
			c.fronts["n2"].mu.Lock()
			c.fronts["n2"].rangeRule = func(*http.Request) frontAction { return hangAfter }
			c.fronts["n2"].mu.Unlock()
			defer func() {
				c.fronts["n2"].mu.Lock()
				c.fronts["n2"].rangeRule = nil
				c.fronts["n2"].mu.Unlock()
			}()
			a = do(t, http.MethodGet, scanURL(g.url, from, to, 100), "", nil)
			if a.header.Get(api.HeaderPartial) != "n2" {
				t.Fatalf("scan with n2 hanging: %d partial %q, want n2", a.code, a.header.Get(api.HeaderPartial))
			}
			switch policy {
			case ScanFail:
				if a.code != http.StatusServiceUnavailable {
					t.Fatalf("policy fail with n2 hanging: %d %q, want 503", a.code, a.body)
				}
				if got := counterOf(t, g, "chaosdemo_scan_partial_total", "failed"); got != 1 {
					t.Errorf("chaosdemo_scan_partial_total{result=failed} = %v, want 1", got)
				}
			case ScanAllow:
				got := decodeScan(t, a)
				// Every key has two more replicas: the others still list them all.
				if a.code != http.StatusOK || scanKeys(got) != want || strings.Join(got.Partial, ",") != "n2" {
					t.Fatalf("policy allow with n2 hanging: %d [%s] partial %v, want 200 [%s] partial n2", a.code, scanKeys(got), got.Partial, want)
				}
				if got := counterOf(t, g, "chaosdemo_scan_partial_total", "served"); got != 1 {
					t.Errorf("chaosdemo_scan_partial_total{result=served} = %v, want 1", got)
				}
			}
			if a.elapsed > 2*time.Second {
				t.Errorf("scan with n2 hanging took %s; the shard deadline is 300ms", a.elapsed)
			}
		})
	}
}

func TestScanRefusesBadQueries(t *testing.T) {
	c := startStoreCluster(t, 3)
	g := serveGateway(t, c.gatewayConfig(Config{ID: "g1", Resilience: fastResilience(), PeerToken: "peer-token"}))
	for _, q := range []string{"from=b&to=a", "from=a&to=a", "limit=0", "limit=1001", "limit=x", "from=" + strings.Repeat("k", api.MaxKeyLen+1)} {
		if a := do(t, http.MethodGet, g.url+api.ScanPath+"?"+q, "", nil); a.code != http.StatusBadRequest {
			t.Errorf("scan ?%s = %d, want 400", q, a.code)
		}
	}
	if a := do(t, http.MethodPost, g.url+api.ScanPath, "", nil); a.code != http.StatusMethodNotAllowed {
		t.Errorf("POST %s = %d, want 405", api.ScanPath, a.code)
	}
}

// Under range sharding a scan asks only the key ranges that overlap it, each
// answered by any of its replicas; on the hash ring it asks every node.
func TestRangeShardsFollowThePlacement(t *testing.T) {
	nodes := []string{"n1", "n2", "n3", "n4", "n5"}
	rp, err := placement.NewRange(nodes, []string{"k2", "k4", "k6", "k8"})
	if err != nil {
		t.Fatal(err)
	}
	g := &Gateway{cfg: Config{Nodes: nodes, Replicas: 2}, ring: rp}
	for _, tc := range []struct {
		from, to string
		want     []string // shard: replicas
	}{
		{"k3", "k5", []string{"r1:n2,n3", "r2:n3,n4"}},
		{"k4", "k4a", []string{"r2:n3,n4"}},
		{"k0", "k2", []string{"r0:n1,n2"}}, // to is exclusive: k2 starts r1
		{"k8", "", []string{"r4:n5,n1"}},
		{"", "", []string{"r0:n1,n2", "r1:n2,n3", "r2:n3,n4", "r3:n4,n5", "r4:n5,n1"}},
	} {
		var got []string
		for _, s := range g.rangeShards(tc.from, tc.to) {
			got = append(got, s.name+":"+strings.Join(s.nodes, ","))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("[%q, %q): shards %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
	hp, err := placement.NewHash(nodes, 8)
	if err != nil {
		t.Fatal(err)
	}
	g.ring = hp
	if got := g.rangeShards("k3", "k5"); len(got) != len(nodes) {
		t.Errorf("hash: %d shards, want every node (%d)", len(got), len(nodes))
	}
}
