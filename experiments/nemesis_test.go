package experiments

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// nemesisSample is the section as issue 17 writes it: files that hold it
// must be accepted as written, so that teams can share them.
const nemesisSample = `nemesis:
  kinds: [partition, crash]      # any fault kinds of the format
  targets: [n1, n2, n3]          # members the nemesis may pick (default: all)
  faults: {min: 1, max: 3}       # per schedule (a plain number too)
  duration: {min: 2s, max: 6s}   # of each fault with a duration
`

func TestNemesisSampleIsAcceptedAsWritten(t *testing.T) {
	e, err := Decode("sample.yaml", []byte(minimalWith(nemesisSample)))
	if err != nil {
		t.Fatal(err)
	}
	n := e.Nemesis
	if n == nil {
		t.Fatal("no nemesis decoded")
	}
	if !reflect.DeepEqual(n.Kinds, []FaultKind{FaultPartition, FaultCrash}) || !reflect.DeepEqual(n.Targets, []string{"n1", "n2", "n3"}) {
		t.Errorf("kinds %v targets %v", n.Kinds, n.Targets)
	}
	if n.Faults != (Range[int]{1, 3}) || n.Duration != (Range[time.Duration]{2 * time.Second, 6 * time.Second}) {
		t.Errorf("faults %v duration %v", n.Faults, n.Duration)
	}
	// Defaults: the crash restart delay follows the duration range, the
	// spacing is 0 to 2s, every shape three nodes allow (all of them are
	// targets), drop.
	if n.Crash.RestartAfter != n.Duration || n.Spacing != (Range[time.Duration]{0, 2 * time.Second}) || n.Overlap {
		t.Errorf("restartAfter %v spacing %v overlap %v", n.Crash.RestartAfter, n.Spacing, n.Overlap)
	}
	if want := []PartitionMode{ModeIsolate, ModeMajorityMinority, ModeHalves, ModeBridge}; !reflect.DeepEqual(n.Partition.Shapes, want) || n.Partition.Behavior != BehaviorDrop {
		t.Errorf("partition %+v, want shapes %v and drop", n.Partition, want)
	}
	if len(e.Faults) != 0 {
		t.Errorf("faults %v", e.Faults)
	}
}

func TestNemesisDefaultsAndRanges(t *testing.T) {
	e, err := Decode("t.yaml", []byte(minimalWith(`target: {demo: {nodes: 5, gateways: 2}}
nemesis:
  kinds: [crash, latency, clockSkew]
  faults: 2
  spacing: {max: 1s}
  latency: {delay: {min: 100ms}}
  clockSkew: {offset: -3s}
`)))
	if err != nil {
		t.Fatal(err)
	}
	n := e.Nemesis
	// Default targets: every member a kind acts on, not the client side.
	if want := []string{"g1", "g2", "n1", "n2", "n3", "n4", "n5"}; !reflect.DeepEqual(n.Targets, want) {
		t.Errorf("targets %v, want %v", n.Targets, want)
	}
	if n.Faults != (Range[int]{2, 2}) {
		t.Errorf("a plain number is min = max: %v", n.Faults)
	}
	// The workload lasts 10s: durations 1s to a third of it.
	if n.Duration != (Range[time.Duration]{time.Second, 10 * time.Second / 3}) {
		t.Errorf("duration %v", n.Duration)
	}
	if n.Spacing != (Range[time.Duration]{0, time.Second}) {
		t.Errorf("spacing %v", n.Spacing)
	}
	if n.Latency.Delay != (Range[time.Duration]{100 * time.Millisecond, DefaultNemesisDelay.Max}) {
		t.Errorf("delay %v", n.Latency.Delay)
	}
	if n.ClockSkew.Offset != (Range[time.Duration]{-3 * time.Second, -3 * time.Second}) {
		t.Errorf("offset %v", n.ClockSkew.Offset)
	}
	if got := e.NemesisCandidates(FaultCrash); !reflect.DeepEqual(got, []string{"g1", "g2", "n1", "n2", "n3", "n4", "n5"}) {
		t.Errorf("crash candidates %v", got)
	}
	// A bound given alone keeps the range ordered.
	e, err = Decode("t.yaml", []byte(minimalWith("nemesis: {kinds: [crash], faults: {min: 5}}\n")))
	if err != nil {
		t.Fatal(err)
	}
	if e.Nemesis.Faults != (Range[int]{5, 5}) {
		t.Errorf("faults {min: 5} = %v, want 5 to 5", e.Nemesis.Faults)
	}
}

func TestNemesisProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"misspelt field", "nemesis:\n  kinds: [crash]\n  duraton: 2s\n",
			[]string{`8:3: unknown field "duraton" in nemesis; allowed: kinds, targets, faults, duration, spacing, overlap, partition, latency, bandwidth, crash, clockSkew, corrupt, http; did you mean "duration"?`}},
		{"misspelt kind", "nemesis: {kinds: [partition, crsh]}\n",
			[]string{`6:30: nemesis.kinds[1]: bad value "crsh"; allowed: partition, latency, bandwidth, reset, blackhole, http, crash, pause, restart, clockSkew, corrupt; did you mean "crash"?`}},
		{"misspelt target", "nemesis: {kinds: [crash], targets: [n1, n4]}\n",
			[]string{`6:41: nemesis.targets[1]: unknown member "n4"; allowed: g1, n1, n2, n3, client; did you mean "n1"?`}},
		{"missing kinds", "nemesis: {targets: [n1]}\n",
			[]string{`6:10: nemesis: missing required field kinds`}},
		{"duplicate kind", "nemesis: {kinds: [crash, crash]}\n",
			[]string{`6:26: nemesis.kinds[1]: crash is already listed at nemesis.kinds[0]`}},
		{"range out of order", "nemesis: {kinds: [crash], faults: {min: 3, max: 1}}\n",
			[]string{`6:35: nemesis.faults: min 3 is above max 1`}},
		{"range as a list", "nemesis: {kinds: [crash], faults: [1, 3]}\n",
			[]string{`6:35: nemesis.faults: expected an integer, or a range {min: ..., max: ...} of them, got a list`}},
		{"duration past the workload", "nemesis: {kinds: [pause], duration: {min: 1s, max: 11s}}\n",
			[]string{`6:37: nemesis.duration: max 11s is out of range; allowed: 1ms to 10s`}},
		{"section of an unlisted kind", "nemesis:\n  kinds: [crash]\n  latency: {delay: 5ms}\n",
			[]string{`8:3: nemesis.latency: sets latency faults, and nemesis.kinds does not list latency`}},
		{"kind without a target", "nemesis: {kinds: [corrupt], targets: [g1]}\n",
			[]string{`6:19: nemesis.kinds[0]: no member of nemesis.targets can take a corrupt; it acts on n1, n2, n3`}},
		{"shape outside the blast radius", "nemesis: {kinds: [partition], targets: [n1, n2], partition: {shapes: [isolate, bridge]}}\n",
			[]string{`6:80: nemesis.partition.shapes[1]: bridge spans every store node, and nemesis.targets leaves some out`}},
		{"faults that do not fit", "nemesis: {kinds: [pause], faults: {min: 4, max: 4}, duration: 3s}\n",
			[]string{`6:35: nemesis.faults: 4 faults of at least 3s, each after at least 0s of spacing, do not fit in the workload's 10s`}},
		{"skew through zero", "nemesis: {kinds: [clockSkew], clockSkew: {offset: {min: -1s, max: 1s}}}\n",
			[]string{`6:51: nemesis.clockSkew.offset: -1s to 1s includes or touches 0`}},
		{"http section of an unlisted kind", "nemesis:\n  kinds: [crash]\n  http: {percent: 5%}\n",
			[]string{`8:3: nemesis.http: sets http faults, and nemesis.kinds does not list http`}},
		{"misspelt http field", "nemesis:\n  kinds: [http]\n  http: {statsu: [503]}\n",
			[]string{`8:10: unknown field "statsu" in nemesis.http; allowed: actions, status, delay, percent, match; did you mean "status"?`}},
		{"misspelt http action", "nemesis: {kinds: [http], http: {actions: [abort, dealy]}}\n",
			[]string{`6:50: nemesis.http.actions[1]: bad value "dealy"; allowed: abort, delay, drop; did you mean "delay"?`}},
		{"duplicate http action", "nemesis: {kinds: [http], http: {actions: [drop, drop]}}\n",
			[]string{`6:49: nemesis.http.actions[1]: drop is already listed at nemesis.http.actions[0]`}},
		{"no http action", "nemesis: {kinds: [http], http: {actions: []}}\n",
			[]string{`6:42: nemesis.http.actions: is empty; give the actions to draw from: abort, delay, drop`}},
		{"status out of range", "nemesis: {kinds: [http], http: {status: [503, 600]}}\n",
			[]string{`6:47: nemesis.http.status[1]: 600 is out of range; allowed: 200 to 599`}},
		{"duplicate status", "nemesis: {kinds: [http], http: {status: [503, 503]}}\n",
			[]string{`6:47: nemesis.http.status[1]: 503 is already listed at nemesis.http.status[0]`}},
		{"status without abort", "nemesis: {kinds: [http], http: {actions: [delay], status: [503]}}\n",
			[]string{`6:51: nemesis.http.status: sets how abort faults are drawn, and nemesis.http.actions does not list abort`}},
		{"delay without delay", "nemesis: {kinds: [http], http: {actions: [abort, drop], delay: 1s}}\n",
			[]string{`6:57: nemesis.http.delay: sets how delay faults are drawn, and nemesis.http.actions does not list delay`}},
		{"http delay out of range", "nemesis: {kinds: [http], http: {delay: {min: 0s, max: 2m}}}\n",
			[]string{`6:40: nemesis.http.delay: min 0s is out of range; allowed: 1ms to 1m0s`}},
		{"http percent above 100%", "nemesis: {kinds: [http], http: {percent: {min: 10%, max: 150%}}}\n",
			[]string{`6:42: nemesis.http.percent: max 150% is out of range; allowed: 0.1% to 100%`}},
		{"http percent as a plain number", "nemesis: {kinds: [http], http: {percent: {min: 0.1, max: 40}}}\n",
			[]string{`6:42: nemesis.http.percent: max 4000% is out of range; allowed: 0.1% to 100% (write 40% for 40 percent)`}},
		{"http percent of nothing", "nemesis: {kinds: [http], http: {percent: 0}}\n",
			[]string{`6:42: nemesis.http.percent: min 0% is out of range; allowed: 0.1% to 100%`}},
		{"http percent out of order", "nemesis: {kinds: [http], http: {percent: {min: 50%, max: 10%}}}\n",
			[]string{`6:42: nemesis.http.percent: min 50% is above max 10%`}},
		{"http match path without a slash", "nemesis: {kinds: [http], http: {match: {pathPrefix: kv/}}}\n",
			[]string{`6:53: nemesis.http.match.pathPrefix: "kv/" does not start with /`}},
		{"http match bad header", "nemesis: {kinds: [http], http: {match: {headers: {\"X Tenant\": blue}}}}\n",
			[]string{`6:51: nemesis.http.match.headers.X Tenant: bad header name "X Tenant"`}},
		{"http match misspelt method", "nemesis: {kinds: [http], http: {match: {method: GTE}}}\n",
			[]string{`6:49: nemesis.http.match.method: bad value "GTE"; allowed: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS; did you mean "GET"?`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode("t.yaml", []byte(minimalWith(tt.src)))
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Decode error = %v, want a *ValidationError", err)
			}
			checkProblems(t, verr, "t.yaml", tt.want)
		})
	}
}

func TestCheckRunnable(t *testing.T) {
	e, err := Decode("explore.yaml", []byte(minimalWith(nemesisSample)))
	if err != nil {
		t.Fatal(err)
	}
	err = e.CheckRunnable()
	var verr *ValidationError
	if !errors.As(err, &verr) || len(verr.Problems) != 1 {
		t.Fatalf("CheckRunnable = %v, want one problem", err)
	}
	if got := verr.Error(); !strings.HasPrefix(got, "explore.yaml:6:1: nemesis: the file has a nemesis and no faults") || !strings.Contains(got, "chaosctl explore explore.yaml") {
		t.Errorf("problem = %q", got)
	}
	withFaults := minimalWith(nemesisSample + "faults: [{name: a, at: 1s, duration: 1s, pause: {nodes: [n1]}}]\n")
	if e, err = Decode("t.yaml", []byte(withFaults)); err != nil {
		t.Fatal(err)
	}
	if err := e.CheckRunnable(); err != nil {
		t.Errorf("a file with faults and a nemesis runs its faults: %v", err)
	}
}

func TestNemesisHTTPDefaultsAndTargets(t *testing.T) {
	e, err := Decode("t.yaml", []byte(minimalWith("nemesis: {kinds: [http]}\n")))
	if err != nil {
		t.Fatal(err)
	}
	h := e.Nemesis.HTTP
	if !reflect.DeepEqual(h.Actions, []HTTPAction{HTTPActionAbort, HTTPActionDelay, HTTPActionDrop}) || !reflect.DeepEqual(h.Status, []int{500, 503}) {
		t.Errorf("actions %v status %v", h.Actions, h.Status)
	}
	if h.Delay != (Range[time.Duration]{100 * time.Millisecond, time.Second}) || h.Percent != (Range[Percent]{0.1, 0.5}) {
		t.Errorf("delay %v percent %v", h.Delay, h.Percent)
	}
	if m := h.Match; m.Method != "" || m.PathPrefix != "" || m.Headers != nil {
		t.Errorf("match %+v, want every request", m)
	}
	// The defaults are copies: a file's change does not reach the next one.
	h.Status[0] = 599
	if DefaultNemesisHTTPStatus[0] != 500 {
		t.Fatal("the decoded status list shares the default's array")
	}
	// Default targets: the gateway and the store nodes, whose links carry
	// the workload's requests and the gateway's to the nodes; client is
	// named to act on the workload's links alone.
	if want := []string{"g1", "n1", "n2", "n3"}; !reflect.DeepEqual(e.Nemesis.Targets, want) || !reflect.DeepEqual(e.NemesisCandidates(FaultHTTP), want) {
		t.Errorf("targets %v candidates %v, want %v", e.Nemesis.Targets, e.NemesisCandidates(FaultHTTP), want)
	}
	e, err = Decode("t.yaml", []byte(minimalWith("nemesis: {kinds: [http, crash], targets: [client, g1, n2]}\n")))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.NemesisCandidates(FaultHTTP); !reflect.DeepEqual(got, []string{"client", "g1", "n2"}) {
		t.Errorf("http candidates %v", got)
	}
	if got := e.NemesisCandidates(FaultCrash); !reflect.DeepEqual(got, []string{"g1", "n2"}) {
		t.Errorf("crash candidates %v", got)
	}
}

// A toxiproxy server of the user's has no HTTP toxic: the nemesis refuses
// to draw http faults against it, as the file's own faults are refused.
func TestNemesisHTTPNeedsChaosctlsFaultPlane(t *testing.T) {
	src := `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: ext}
target:
  external:
    members: [{name: web, command: [sleep, "60"]}]
    proxies: [{name: web-proxy, listen: "127.0.0.1:28080", upstream: "127.0.0.1:18080"}]
    toxiproxy: {url: "http://127.0.0.1:8474"}
workload: {rate: 10, duration: 20s, http: [{url: "http://127.0.0.1:28080/"}]}
slos: [{name: ok, sli: availability, objective: 99%}]
nemesis: {kinds: [latency, http]}
`
	_, err := Decode("t.yaml", []byte(src))
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Decode error = %v, want a *ValidationError", err)
	}
	checkProblems(t, verr, "t.yaml", []string{`11:28: nemesis.kinds[1]: http faults need chaosctl's own fault plane`})
	// Without the user's toxiproxy chaosctl runs its own plane, and the
	// nemesis draws http faults on the proxies.
	e, err := Decode("t.yaml", []byte(strings.Replace(src, "    toxiproxy: {url: \"http://127.0.0.1:8474\"}\n", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.NemesisCandidates(FaultHTTP); !reflect.DeepEqual(got, []string{"web-proxy"}) {
		t.Errorf("http candidates %v", got)
	}
}
