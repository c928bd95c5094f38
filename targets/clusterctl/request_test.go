package clusterctl

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

func link(from, to string) faultplane.Link { return faultplane.Link{From: from, To: to} }

func TestResolvePartitionShapes(t *testing.T) {
	top := testTopology()
	tests := []struct {
		name        string
		req         Request
		wantTargets []string
		wantLinks   []faultplane.Link
	}{
		{
			name:        "groups cut every link between them, both ways",
			req:         Request{Fault: injectors.Fault{Kind: "partition"}, Groups: [][]string{{"n1"}, {"n2", "n3"}}},
			wantTargets: []string{"n1", "n2", "n3"},
			wantLinks:   []faultplane.Link{link("n1", "n2"), link("n1", "n3"), link("n2", "n1"), link("n3", "n1")},
		},
		{
			name:        "one way cuts only the first group's outgoing links",
			req:         Request{Fault: injectors.Fault{Kind: "partition"}, Groups: [][]string{{"n1"}, {"n2", "n3"}}, OneWay: true},
			wantTargets: []string{"n1", "n2", "n3"},
			wantLinks:   []faultplane.Link{link("n1", "n2"), link("n1", "n3")},
		},
		{
			name:        "a gateway cut off the store nodes",
			req:         Request{Fault: injectors.Fault{Kind: "partition", Behavior: "reject"}, Groups: [][]string{{"g1"}, {"n1", "n2", "n3"}}},
			wantTargets: []string{"g1", "n1", "n2", "n3"},
			wantLinks:   []faultplane.Link{link("g1", "n1"), link("g1", "n2"), link("g1", "n3")},
		},
		{
			name:        "the client side is a group member",
			req:         Request{Fault: injectors.Fault{Kind: "partition"}, Groups: [][]string{{"client"}, {"g1"}}},
			wantTargets: []string{"client", "g1"},
			wantLinks:   []faultplane.Link{link("client", "g1")},
		},
		{
			name:        "members are cut off every link from or to them",
			req:         Request{Fault: injectors.Fault{Kind: "partition", Targets: []string{"n2"}}},
			wantTargets: []string{"n2"},
			wantLinks:   []faultplane.Link{link("g1", "n2"), link("n1", "n2"), link("n2", "n1"), link("n2", "n3"), link("n3", "n2")},
		},
		{
			name:      "links are taken as given",
			req:       Request{Fault: injectors.Fault{Kind: "partition", Links: []faultplane.Link{link("n1", "n2")}}},
			wantLinks: []faultplane.Link{link("n1", "n2")},
		},
		{
			name:        "the kind as people type it",
			req:         Request{Fault: injectors.Fault{Kind: " Partition ", Behavior: "isolate", Targets: []string{"g1"}}},
			wantTargets: []string{"g1"},
			wantLinks:   []faultplane.Link{link("client", "g1"), link("g1", "n1"), link("g1", "n2"), link("g1", "n3")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, ttl, err := tc.req.Resolve(top)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if f.Kind != injectors.KindPartition || ttl != DefaultFaultTTL {
				t.Errorf("kind %q, ttl %s; want partition, %s", f.Kind, ttl, DefaultFaultTTL)
			}
			if !slices.Equal(f.Targets, tc.wantTargets) {
				t.Errorf("targets %v, want %v", f.Targets, tc.wantTargets)
			}
			sortLinks(f.Links)
			sortLinks(tc.wantLinks)
			if !slices.Equal(f.Links, tc.wantLinks) {
				t.Errorf("links %v, want %v", f.Links, tc.wantLinks)
			}
		})
	}
}

func sortLinks(ls []faultplane.Link) {
	slices.SortFunc(ls, func(a, b faultplane.Link) int { return strings.Compare(a.From+">"+a.To, b.From+">"+b.To) })
}

func TestResolveAcceptsEachKind(t *testing.T) {
	top := testTopology()
	tests := []struct {
		req     Request
		wantTTL time.Duration
	}{
		{Request{Fault: injectors.Fault{Kind: "latency", Targets: []string{"g1"}, Delay: 200 * time.Millisecond, Jitter: 50 * time.Millisecond}, TTL: "90s"}, 90 * time.Second},
		{Request{Fault: injectors.Fault{Kind: "latency", Links: []faultplane.Link{link("client", "g1")}, Delay: time.Millisecond}}, DefaultFaultTTL},
		{Request{Fault: injectors.Fault{Kind: "bandwidth", Targets: []string{"client"}, BytesPerSecond: 64 << 10}}, DefaultFaultTTL},
		{Request{Fault: injectors.Fault{Kind: "reset", Targets: []string{"n1"}}}, DefaultFaultTTL},
		{Request{Fault: injectors.Fault{Kind: "blackhole", Links: []faultplane.Link{link("n1", "n2")}}}, DefaultFaultTTL},
		{Request{Fault: injectors.Fault{Kind: "crash", Targets: []string{"g1", "n1"}}, TTL: "20s"}, 20 * time.Second},
		{Request{Fault: injectors.Fault{Kind: "pause", Targets: []string{"n3"}}, TTL: "1m"}, time.Minute},
		{Request{Fault: injectors.Fault{Kind: "restart", Targets: []string{"n2"}}}, DefaultFaultTTL},
		{Request{Fault: injectors.Fault{Kind: "clock-skew", Targets: []string{"n1"}, Offset: -2 * time.Second}}, DefaultFaultTTL},
		{Request{Fault: injectors.Fault{Kind: "corrupt", Targets: []string{"n1"}, Count: 5, Seed: 7}}, DefaultFaultTTL},
		{Request{Fault: injectors.Fault{Kind: "corrupt", Targets: []string{"n1"}, Ratio: 0.1}}, DefaultFaultTTL},
	}
	for _, tc := range tests {
		f, ttl, err := tc.req.Resolve(top)
		if err != nil {
			t.Errorf("%s %+v: %v", tc.req.Kind, tc.req.Fault, err)
			continue
		}
		if ttl != tc.wantTTL {
			t.Errorf("%s: ttl %s, want %s", tc.req.Kind, ttl, tc.wantTTL)
		}
		if want, _ := CanonicalKind(tc.req.Kind); f.Kind != want {
			t.Errorf("kind %q resolved to %q, want %q", tc.req.Kind, f.Kind, want)
		}
	}
}

func TestResolveRejects(t *testing.T) {
	top := testTopology()
	fault := func(kind string, targets ...string) injectors.Fault {
		return injectors.Fault{Kind: kind, Targets: targets}
	}
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"unknown kind lists the allowed ones in help order", Request{Fault: fault("warp", "n1")},
			`kind "warp": allowed are partition, latency, bandwidth, reset, blackhole, crash, pause, restart, clockSkew, corrupt`},
		{"bad name", Request{Fault: injectors.Fault{Kind: "pause", Name: "a b", Targets: []string{"n1"}}}, `name "a b": use 1 to 100 letters`},
		{"ttl without unit", Request{Fault: fault("pause", "n1"), TTL: "10"}, "ttl: "},
		{"ttl zero", Request{Fault: fault("pause", "n1"), TTL: "0s"}, "ttl 0s: must be above 0"},
		{"unused parameter", Request{Fault: injectors.Fault{Kind: "crash", Targets: []string{"n1"}, Delay: 5 * time.Millisecond}}, "delay applies to latency only, not to crash"},
		{"links on a membership fault", Request{Fault: injectors.Fault{Kind: "pause", Links: []faultplane.Link{link("n1", "n2")}}},
			"links applies to partition, latency, bandwidth, reset, blackhole only, not to pause"},
		{"groups on latency", Request{Fault: fault("latency", "n1"), Groups: [][]string{{"n1"}, {"n2"}}}, "groups applies to partition only, not to latency"},
		{"unknown member", Request{Fault: injectors.Fault{Kind: "latency", Targets: []string{"n9"}, Delay: time.Millisecond}},
			`latency target "n9": no such member; allowed are g1, n1, n2, n3, client`},
		{"client on a membership fault", Request{Fault: fault("pause", "client")}, `pause target "client": no such member; allowed are g1, n1, n2, n3`},
		{"gateway on a store-node fault", Request{Fault: injectors.Fault{Kind: "corrupt", Targets: []string{"g1"}, Count: 1}},
			`corrupt target "g1": no such member; allowed are n1, n2, n3`},
		{"unknown link", Request{Fault: injectors.Fault{Kind: "partition", Links: []faultplane.Link{link("n1", "g1")}}},
			"link n1>g1: the fault plane has no such link; it has client>MEMBER, g*>n* and n*>n* (members: g1, n1, n2, n3)"},
		{"link fault without members or links", Request{Fault: injectors.Fault{Kind: "latency", Delay: time.Millisecond}},
			"latency: give the members whose links it acts on (--nodes) or the links (--links)"},
		{"link fault with members and links", Request{Fault: injectors.Fault{Kind: "reset", Targets: []string{"n1"}, Links: []faultplane.Link{link("n1", "n2")}}},
			"reset: give members (--nodes) or links (--links), not both"},
		{"membership fault without members", Request{Fault: fault("pause")}, "pause: give the members it acts on (--nodes)"},
		{"partition with nothing", Request{Fault: injectors.Fault{Kind: "partition", Behavior: "reject"}}, "partition: give exactly one of groups"},
		{"partition with two shapes", Request{Fault: fault("partition", "n1"), Groups: [][]string{{"n1"}, {"n2"}}}, "partition: give exactly one of groups"},
		{"partition behavior", Request{Fault: injectors.Fault{Kind: "partition", Behavior: "explode", Targets: []string{"n1"}}},
			`partition: behavior "explode": allowed are drop, reject, isolate`},
		{"one way without groups", Request{Fault: fault("partition", "n1"), OneWay: true}, "partition: one-way applies to groups only"},
		{"one group", Request{Fault: fault("partition"), Groups: [][]string{{"n1", "n2"}}}, "partition: groups [[n1 n2]]: give at least two groups"},
		{"empty group", Request{Fault: fault("partition"), Groups: [][]string{{"n1"}, {}}}, "partition: group 2 is empty"},
		{"unknown group member", Request{Fault: fault("partition"), Groups: [][]string{{"n1"}, {"n7"}}},
			`partition: group member "n7": no such member; allowed are g1, n1, n2, n3, client`},
		{"member in two groups", Request{Fault: fault("partition"), Groups: [][]string{{"n1"}, {"n2", "n1"}}}, "partition: n1 is in two groups"},
		{"groups that cut nothing", Request{Fault: fault("partition"), Groups: [][]string{{"client"}, {"n1"}}}, "partition: groups [[client] [n1]] cut no link of the fault plane"},
		{"latency too small", Request{Fault: injectors.Fault{Kind: "latency", Targets: []string{"g1"}, Delay: 100 * time.Microsecond}},
			"latency: delay 100µs: must be at least 1ms (toxiproxy counts whole milliseconds)"},
		{"jitter above delay", Request{Fault: injectors.Fault{Kind: "latency", Targets: []string{"g1"}, Delay: 10 * time.Millisecond, Jitter: 20 * time.Millisecond}},
			"latency: jitter 20ms: must be between 0 and the delay 10ms"},
		{"bandwidth too small", Request{Fault: injectors.Fault{Kind: "bandwidth", Targets: []string{"g1"}, BytesPerSecond: 10}}, "bandwidth: rate 10 B/s: must be at least"},
		{"clock skew of zero", Request{Fault: fault("clockSkew", "n1")}, "clockSkew: give a non-zero offset"},
		{"corrupt count and ratio", Request{Fault: injectors.Fault{Kind: "corrupt", Targets: []string{"n1"}, Count: 1, Ratio: 0.5}}, "corrupt: give a count or a ratio, not both"},
		{"corrupt negative count", Request{Fault: injectors.Fault{Kind: "corrupt", Targets: []string{"n1"}, Count: -1}}, "corrupt: count -1: must be above 0"},
		{"lease without unit", Request{Fault: fault("pause", "n1"), Lease: "5"}, "lease: "},
		{"lease too short", Request{Fault: fault("pause", "n1"), Lease: "50ms"}, "lease 50ms: want between 100ms and 10m0s"},
		{"lease too long", Request{Fault: fault("pause", "n1"), Lease: "1h"}, "lease 1h: want between 100ms and 10m0s"},
		{"lease on a fault with nothing to revert", Request{Fault: injectors.Fault{Kind: "corrupt", Targets: []string{"n1"}, Count: 1}, Lease: "5s"},
			"lease: corrupt has nothing to revert, so nothing to hold"},
		{"corrupt ratio above 1", Request{Fault: injectors.Fault{Kind: "corrupt", Targets: []string{"n1"}, Ratio: 1.5}}, "corrupt: give a count above 0 (--count) or a ratio in (0, 1] (--ratio); have ratio 1.5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := tc.req.Resolve(top)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Resolve: %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestKindsComeFromTheRegistry(t *testing.T) {
	reg := injectors.DefaultRegistry()
	// Every registry kind but http, which only experiment files write.
	want := slices.DeleteFunc(reg.KindsInOrder(), func(k string) bool { return k == injectors.KindHTTP })
	if got := Kinds(); !slices.Equal(got, want) {
		t.Fatalf("Kinds() = %v, want the registry's %v", got, want)
	}
	if _, ok := CanonicalKind("http"); ok {
		t.Error("CanonicalKind accepts http, which a request cannot describe")
	}
	for _, k := range Kinds() {
		caps, _ := reg.Capabilities(k)
		if got := slices.Contains(linkKinds(), k); got != caps.Links {
			t.Errorf("%s: listed as a link kind %v, the registry says %v", k, got, caps.Links)
		}
	}
	for in, want := range map[string]string{"clock-skew": "clockSkew", "CLOCKSKEW": "clockSkew", " pause ": "pause", "Black-Hole": "blackhole"} {
		if got, ok := CanonicalKind(in); !ok || got != want {
			t.Errorf("CanonicalKind(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if got, ok := CanonicalKind("warp"); ok {
		t.Errorf("CanonicalKind(warp) = %q, true", got)
	}
}

func TestParseLinks(t *testing.T) {
	tests := []struct {
		in      string
		want    []faultplane.Link
		wantErr string
	}{
		{"n1>n2", []faultplane.Link{link("n1", "n2")}, ""},
		{" n1 -> n2 , g1→n1,,", []faultplane.Link{link("n1", "n2"), link("g1", "n1")}, ""},
		{"client>g1", []faultplane.Link{link("client", "g1")}, ""},
		{"n1", nil, `--links "n1": write FROM>TO pairs separated by commas`},
		{"n1>", nil, `--links "n1>": write FROM>TO pairs`},
		{"n1>n2>n3", nil, `--links "n1>n2>n3": write FROM>TO pairs`},
		{" , ", nil, `--links " , ": no link given`},
	}
	for _, tc := range tests {
		got, err := ParseLinks(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseLinks(%q): %v, %v; want error %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseLinks(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseGroups(t *testing.T) {
	got, err := ParseGroups(" n1 | n2, n3 ")
	if err != nil || len(got) != 2 || !slices.Equal(got[0], []string{"n1"}) || !slices.Equal(got[1], []string{"n2", "n3"}) {
		t.Fatalf("ParseGroups = %v, %v; want [[n1] [n2 n3]]", got, err)
	}
	for in, want := range map[string]string{
		"n1":     `--groups "n1": give at least two groups separated by '|'`,
		"n1||n2": `--groups "n1||n2": group 2 is empty`,
		"|n1":    `--groups "|n1": group 1 is empty`,
	} {
		if _, err := ParseGroups(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseGroups(%q): %v; want %q", in, err, want)
		}
	}
	if got := SplitList(" a, b,,c ,"); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("SplitList = %v", got)
	}
}

// FuzzParseLinks checks that every parsed link has both ends and no '>'.
func FuzzParseLinks(f *testing.F) {
	for _, s := range []string{"n1>n2", "a->b,c→d", ">", ",,", "n1>n2>n3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		links, err := ParseLinks(s)
		if err != nil {
			return
		}
		if len(links) == 0 {
			t.Fatalf("ParseLinks(%q): no links and no error", s)
		}
		for _, l := range links {
			if l.From == "" || l.To == "" || strings.Contains(l.To, ">") {
				t.Fatalf("ParseLinks(%q): link %+v", s, l)
			}
		}
	})
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		f    injectors.Fault
		want string
	}{
		{injectors.Fault{Kind: "latency", Delay: 200 * time.Millisecond, Jitter: 50 * time.Millisecond, Targets: []string{"g1"}}, "latency 200ms ±50ms on g1"},
		{injectors.Fault{Kind: "partition", Targets: []string{"g1"}, Links: []faultplane.Link{link("g1", "n1"), link("g1", "n2")}}, "partition (drop) on 2 links: g1>n1, g1>n2"},
		{injectors.Fault{Kind: "partition", Behavior: "reject", Links: []faultplane.Link{
			link("a", "b"), link("a", "c"), link("a", "d"), link("a", "e"), link("a", "f"), link("a", "g"), link("a", "h"), link("a", "i")}},
			"partition (reject) on 8 links: a>b, a>c, a>d, a>e, a>f, a>g, and 2 more"},
		{injectors.Fault{Kind: "clockSkew", Offset: -2 * time.Second, Targets: []string{"n1", "n2"}}, "clockSkew -2s on n1, n2"},
		{injectors.Fault{Kind: "corrupt", Count: 5, Targets: []string{"n1"}}, "corrupt 5 values on n1"},
		{injectors.Fault{Kind: "corrupt", Ratio: 0.1, Targets: []string{"n1"}}, "corrupt 10% of values on n1"},
		{injectors.Fault{Kind: "pause", Targets: []string{"n3"}}, "pause on n3"},
	}
	for _, tc := range tests {
		if got := Describe(tc.f); got != tc.want {
			t.Errorf("Describe(%+v) = %q, want %q", tc.f, got, tc.want)
		}
	}
	bw := Describe(injectors.Fault{Kind: "bandwidth", BytesPerSecond: 64 << 10, Targets: []string{"g1"}})
	if !strings.HasPrefix(bw, "bandwidth ") || !strings.HasSuffix(bw, "/s on g1") {
		t.Errorf("Describe(bandwidth) = %q", bw)
	}
}
