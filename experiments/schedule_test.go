package experiments

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// nemesisFiles are nemesis sections over several targets, for the
// schedule properties.
var nemesisFiles = map[string]string{
	"sample": minimalWith(nemesisSample),
	"every kind, overlapping": minimalWith(`target: {demo: {nodes: 5, gateways: 2}}
nemesis:
  kinds: [partition, latency, bandwidth, reset, blackhole, crash, pause, restart, clockSkew, corrupt]
  faults: {min: 2, max: 8}
  duration: {min: 500ms, max: 4s}
  spacing: {min: 0s, max: 1500ms}
  overlap: true
  partition: {behavior: reject}
  clockSkew: {offset: {min: -5050ms, max: -1050ms}}
`),
	"tight": minimalWith(`nemesis:
  kinds: [crash, pause, corrupt]
  targets: [n2, g1]
  faults: 4
  duration: {min: 2s, max: 9s}
  spacing: {min: 500ms, max: 3s}
  crash: {restartAfter: {min: 1s, max: 2s}}
`),
	"http, matched": minimalWith(nemesisHTTPSample),
	"http on proxies": `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: ext}
target:
  external:
    members: [{name: web, command: [sleep, "60"]}]
    proxies: [{name: web-proxy, listen: "127.0.0.1:28080", upstream: "127.0.0.1:18080"}, {name: db-proxy, listen: "127.0.0.1:25432", upstream: "127.0.0.1:5432"}]
workload: {rate: 10, duration: 20s, http: [{url: "http://127.0.0.1:28080/"}]}
slos: [{name: ok, sli: availability, objective: 99%}]
nemesis:
  kinds: [http, crash]
  faults: {min: 1, max: 4}
  overlap: true
  http: {actions: [abort, drop], status: [502], percent: {min: 0.5%, max: 1.2%}}
`,
	"external": `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: ext}
target:
  external:
    members: [{name: web, command: [sleep, "60"]}, {name: db, command: [sleep, "60"]}]
    proxies: [{name: db-proxy, listen: "127.0.0.1:25432", upstream: "127.0.0.1:5432"}]
workload: {rate: 10, duration: 20s, http: [{url: "http://127.0.0.1:28080/"}]}
slos: [{name: ok, sli: availability, objective: 99%}]
nemesis: {kinds: [blackhole, latency, crash, restart], faults: {min: 1, max: 4}}
`,
}

// nemesisHTTPSample draws http faults with every action on the workload's
// links, the gateway's and the store nodes', beside crashes.
const nemesisHTTPSample = `nemesis:
  kinds: [http, crash]
  targets: [client, g1, n1, n2, n3]
  faults: {min: 1, max: 4}
  duration: {min: 1s, max: 3s}
  http:
    actions: [abort, delay, drop]
    status: [500, 502, 503]
    delay: {min: 50ms, max: 2s}
    percent: {min: 5%, max: 80%}
    match: {method: GET, pathPrefix: /kv/, headers: {X-Tenant: blue, Accept: text/plain}}
`

func TestDrawScheduleIsAPureFunctionOfFileAndSeed(t *testing.T) {
	for name, src := range nemesisFiles {
		t.Run(name, func(t *testing.T) {
			e1, err := Decode("t.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			e2, err := Decode("t.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			differ := 0
			var prev []byte
			for seed := int64(-3); seed < 200; seed++ {
				a, err := e1.DrawSchedule(seed)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := e2.DrawSchedule(seed)
				var fa, fb bytes.Buffer
				if err := FormatSchedule(&fa, a); err != nil {
					t.Fatal(err)
				}
				_ = FormatSchedule(&fb, b)
				if !reflect.DeepEqual(a, b) || !bytes.Equal(fa.Bytes(), fb.Bytes()) {
					t.Fatalf("seed %d: two draws differ:\n%s\n%s", seed, fa.String(), fb.String())
				}
				if !bytes.Equal(prev, fa.Bytes()) {
					differ++
				}
				prev = fa.Bytes()
			}
			if differ < 100 {
				t.Errorf("only %d of 203 seeds changed the schedule", differ)
			}
		})
	}
}

// Every drawn schedule, written into the file as a v1 experiment, decodes
// to the very faults drawn: each passes the validation of a hand-written
// fault, and the drawer fills in what Decode would.
func TestDrawnFaultsPassTheFileValidation(t *testing.T) {
	for name, src := range nemesisFiles {
		t.Run(name, func(t *testing.T) {
			e, err := Decode("t.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			for seed := range int64(300) {
				s, err := e.DrawSchedule(seed)
				if err != nil {
					t.Fatal(err)
				}
				out, got, err := ScheduleSource("min.yaml", []byte(src), s, "")
				if err != nil {
					t.Fatalf("seed %d: %v\n%s", seed, err, out)
				}
				if got.Nemesis != nil || *got.Seed != seed || got.Workload.Duration != s.Duration {
					t.Fatalf("seed %d: written file keeps nemesis %v, seed %v, duration %v", seed, got.Nemesis, *got.Seed, got.Workload.Duration)
				}
				if !reflect.DeepEqual(got.Faults, s.Faults) {
					t.Fatalf("seed %d: decoded faults differ from the drawn ones:\n%+v\n%+v\n%s", seed, got.Faults, s.Faults, out)
				}
				if err := got.CheckRunnable(); err != nil {
					t.Fatal(err)
				}
				if _, err := got.Plan(seed); err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
			}
		})
	}
}

func TestDrawnSchedulesKeepTheirBounds(t *testing.T) {
	for name, src := range nemesisFiles {
		t.Run(name, func(t *testing.T) {
			e, err := Decode("t.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			n := e.Nemesis
			counts := map[int]bool{}
			for seed := range int64(300) {
				s, _ := e.DrawSchedule(seed)
				counts[len(s.Faults)] = true
				if len(s.Faults) > n.Faults.Max || (!n.Overlap && len(s.Faults) < n.Faults.Min) || len(s.Faults) == 0 {
					t.Fatalf("seed %d: %d faults, want %d to %d", seed, len(s.Faults), n.Faults.Min, n.Faults.Max)
				}
				prevEnd := time.Duration(0)
				for i, f := range s.Faults {
					k := f.Kind()
					if !slices.Contains(n.Kinds, k) {
						t.Fatalf("seed %d: kind %s not in %v", seed, k, n.Kinds)
					}
					if f.At < 0 || f.End() > e.Workload.Duration || f.At >= e.Workload.Duration {
						t.Fatalf("seed %d: %s from %s to %s, outside the workload's %s", seed, f.Name, f.At, f.End(), e.Workload.Duration)
					}
					lo, hi := n.Duration.Min, n.Duration.Max
					switch {
					case k == FaultCrash:
						lo, hi = n.Crash.RestartAfter.Min, n.Crash.RestartAfter.Max
					case k == FaultCorrupt:
						lo, hi = 0, 0
					}
					if f.Duration < lo || f.Duration > hi {
						t.Fatalf("seed %d: %s lasts %s, want %s to %s", seed, f.Name, f.Duration, lo, hi)
					}
					if !n.Overlap {
						if gap := f.At - prevEnd; gap < n.Spacing.Min || gap > n.Spacing.Max {
							t.Fatalf("seed %d: %s starts %s after the previous fault, want %s to %s", seed, f.Name, gap, n.Spacing.Min, n.Spacing.Max)
						}
						prevEnd = f.End()
					}
					if i > 0 && n.Overlap && f.At < s.Faults[i-1].At {
						t.Fatalf("seed %d: %s starts before the fault before it", seed, f.Name)
					}
					for _, name := range touchedNames(&f, e) {
						if !slices.Contains(n.Targets, name) {
							t.Fatalf("seed %d: %s acts on %s, outside the targets %v", seed, f.Name, name, n.Targets)
						}
					}
					checkIntensity(t, n, &f)
				}
			}
			if n.Faults.Max > n.Faults.Min && len(counts) < 2 {
				t.Errorf("every schedule had the same number of faults: %v", counts)
			}
		})
	}
}

// touchedNames is what a drawn fault acts on: its nodes, or for a
// partition written as groups the side it cuts off.
func touchedNames(f *Fault, e *Experiment) []string {
	if p := f.Partition; p != nil {
		switch {
		case p.Mode != "":
			return e.Target.Demo.NodeNames() // the shapes that span every node need them all as targets
		case len(p.Groups[1]) < len(p.Groups[0]):
			return p.Groups[1]
		default:
			return p.Groups[0]
		}
	}
	return append(f.Selector().Nodes, f.Selector().Proxies...)
}

func checkIntensity(t *testing.T, n *Nemesis, f *Fault) {
	t.Helper()
	in := func(ok bool, what string) {
		if !ok {
			t.Fatalf("%s: %s out of the nemesis's range", f.Name, what)
		}
	}
	switch {
	case f.Latency != nil:
		in(f.Latency.Delay >= n.Latency.Delay.Min && f.Latency.Delay <= n.Latency.Delay.Max, "delay")
	case f.Bandwidth != nil:
		in(f.Bandwidth.Rate >= n.Bandwidth.Rate.Min && f.Bandwidth.Rate <= n.Bandwidth.Rate.Max, "rate")
	case f.ClockSkew != nil:
		in(f.ClockSkew.Offset >= n.ClockSkew.Offset.Min && f.ClockSkew.Offset <= n.ClockSkew.Offset.Max, "offset")
	case f.Corrupt != nil:
		in(f.Corrupt.Ratio >= n.Corrupt.Ratio.Min && f.Corrupt.Ratio <= n.Corrupt.Ratio.Max, "ratio")
	case f.HTTP != nil:
		h := f.HTTP
		action, share := h.Action()
		in(slices.Contains(n.HTTP.Actions, HTTPAction(action)), "action")
		in(share.FirstN == 0 && share.Percent >= n.HTTP.Percent.Min && share.Percent <= n.HTTP.Percent.Max, "percent "+share.Percent.String())
		in(reflect.DeepEqual(h.Match, n.HTTP.Match) || len(n.HTTP.Match.Headers) == 0 && h.Match.Headers == nil, "match")
		if h.Abort != nil {
			in(slices.Contains(n.HTTP.Status, h.Abort.Status), "status")
		}
		if h.Delay != nil {
			in(h.Delay.Latency >= n.HTTP.Delay.Min && h.Delay.Latency <= n.HTTP.Delay.Max, "latency")
		}
	case f.Partition != nil:
		in(f.Partition.Behavior == n.Partition.Behavior, "behavior")
		shape := f.Partition.Mode
		if shape == "" {
			shape = ModeIsolate
			if len(f.Partition.Groups[1]) < len(f.Partition.Groups[0]) && len(f.Partition.Groups[1]) > 1 {
				shape = ModeMajorityMinority
			}
		}
		in(slices.Contains(n.Partition.Shapes, shape) || shape == ModeIsolate && slices.Contains(n.Partition.Shapes, ModeMajorityMinority), "shape")
	}
}

func TestFormatScheduleGolden(t *testing.T) {
	e, err := Decode("t.yaml", []byte(minimalWith(nemesisSample)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.DrawSchedule(7)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := FormatSchedule(&b, s); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	if !strings.HasPrefix(b.String(), "seed: 7\nfaults:\n  - {name: f1-") {
		t.Errorf("schedule:\n%s", b.String())
	}
}

func TestScheduleSourceReplacesFaultsAndKeepsTheRest(t *testing.T) {
	src := `# the file's header
apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: t}   # the name
seed: 5
workload:
  rate: 10
  duration: 10s       # measured time
faults:
  - {name: old, at: 1s, duration: 1s, pause: {nodes: [n1]}}
nemesis:              # drawn from
  kinds: [crash]
checks: [linearizable]
`
	e, err := Decode("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.DrawSchedule(9)
	if err != nil {
		t.Fatal(err)
	}
	s.Faults, s.Duration = s.Faults[:1], 8*time.Second
	if s.Faults[0].End() > s.Duration {
		t.Fatalf("the first fault ends at %s", s.Faults[0].End())
	}
	out, got, err := ScheduleSource("t.yaml", []byte(src), s, "minimal-1.yaml: from seed 9")
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{"# minimal-1.yaml: from seed 9\n", "seed: 9\n", "metadata: {name: t} # the name", "duration: 8s # measured time", "- {name: f1-crash-"} {
		if !strings.Contains(text, want) {
			t.Errorf("written file lacks %q:\n%s", want, text)
		}
	}
	for _, gone := range []string{"the file's header", "nemesis", "name: old"} {
		if strings.Contains(text, gone) {
			t.Errorf("written file still has %q:\n%s", gone, text)
		}
	}
	if got.Nemesis != nil || !reflect.DeepEqual(got.Faults, s.Faults) || *got.Seed != 9 {
		t.Errorf("decoded %+v", got)
	}
}

// The nemesis draws http faults on every link an http fault may select,
// with every action, status and a spread of shares; the same seed draws
// the same schedule, written byte for byte the same.
func TestDrawnHTTPFaults(t *testing.T) {
	src := minimalWith(nemesisHTTPSample)
	e, err := Decode("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	on, actions, statuses, shares := map[string]int{}, map[string]int{}, map[int]int{}, map[Percent]bool{}
	for seed := range int64(300) {
		s, err := e.DrawSchedule(seed)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range s.Faults {
			h := f.HTTP
			if h == nil {
				continue
			}
			on[h.Nodes[0]]++
			action, share := h.Action()
			actions[action]++
			shares[share.Percent] = true
			if h.Abort != nil {
				statuses[h.Abort.Status]++
			}
			if share.Percent != Percent(math.Round(float64(share.Percent)*100)/100) {
				t.Fatalf("seed %d: %s acts on %s, not a whole percent", seed, f.Name, share.Percent)
			}
		}
	}
	t.Logf("on %v, actions %v, statuses %v, %d shares", on, actions, statuses, len(shares))
	for _, name := range []string{"client", "g1", "n1", "n2", "n3"} {
		if on[name] == 0 {
			t.Errorf("no http fault drawn on %s: %v", name, on)
		}
	}
	for _, a := range []string{"abort", "delay", "drop"} {
		if actions[a] == 0 {
			t.Errorf("no %s drawn: %v", a, actions)
		}
	}
	for _, st := range []int{500, 502, 503} {
		if statuses[st] == 0 {
			t.Errorf("no abort with %d: %v", st, statuses)
		}
	}
	if len(shares) < 30 {
		t.Errorf("only %d distinct shares of 5%% to 80%%", len(shares))
	}

	// One seed's schedule, as explore --dry-run prints it: the draw's
	// order (kind, start, length, target, action, its setting, share) is
	// part of the format's promise that a seed replays.
	var a, b bytes.Buffer
	for _, buf := range []*bytes.Buffer{&a, &b} {
		e, err := Decode("t.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		s, err := e.DrawSchedule(4)
		if err != nil {
			t.Fatal(err)
		}
		if err := FormatSchedule(buf, s); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("two draws of seed 4 differ:\n%s\n%s", a.String(), b.String())
	}
	t.Log("\n" + a.String())
	want := `seed: 4
faults:
  - {name: f1-http-client, at: 200ms, duration: 1.9s, http: {nodes: [client], match: {method: GET, pathPrefix: /kv/, headers: {Accept: text/plain, X-Tenant: blue}}, drop: {percent: 68%}}}
  - {name: f2-crash-n1, at: 2.2s, crash: {nodes: [n1], restartAfter: 1.3s}}
`
	if a.String() != want {
		t.Errorf("seed 4 draws\n%s\nwant\n%s", a.String(), want)
	}
}

// A range within one tenth of a percent is drawn as its min; a narrow one
// in tenths of a percent.
func TestDrawnHTTPSharesOfNarrowRanges(t *testing.T) {
	for _, tt := range []struct {
		percent string
		want    string
	}{
		{"0.15%", "[0.15%]"},
		{"{min: 0.5%, max: 1.2%}", "[0.5% 0.6% 0.7% 0.8% 0.9% 1% 1.1% 1.2%]"},
		{"{min: 2.5%, max: 5%}", "[3% 4% 5%]"},
	} {
		e, err := Decode("t.yaml", []byte(minimalWith("nemesis: {kinds: [http], faults: 3, http: {percent: "+tt.percent+"}}\n")))
		if err != nil {
			t.Fatal(err)
		}
		got := map[Percent]bool{}
		for seed := range int64(200) {
			s, _ := e.DrawSchedule(seed)
			for _, f := range s.Faults {
				_, share := f.HTTP.Action()
				got[share.Percent] = true
			}
		}
		var drawn []Percent
		for p := range got {
			drawn = append(drawn, p)
		}
		slices.Sort(drawn)
		if fmt.Sprint(drawn) != tt.want {
			t.Errorf("percent %s: drew %v, want %v", tt.percent, drawn, tt.want)
		}
	}
}
