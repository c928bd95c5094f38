package experiments

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestDecodeGameDayEveryStepKind(t *testing.T) {
	path := filepath.Join("testdata", "gameday", "playbook.yaml")
	gd, err := LoadGameDay(path)
	if err != nil {
		t.Fatal(err)
	}
	if gd.Metadata.Name != "every-step" || gd.Seed == nil || *gd.Seed != 4 || gd.File != path {
		t.Errorf("header = %+v", gd)
	}
	if c := gd.Target.Demo; c == nil || c.Nodes != 3 || c.VNodes != DefaultVNodes || gd.Target.Runtime != RuntimeProcess {
		t.Errorf("shared target = %+v, want 3 nodes with defaults on process", gd.Target)
	}
	var kinds []string
	for _, s := range gd.Steps {
		kinds = append(kinds, s.Kind())
	}
	if strings.Join(kinds, ",") != "manual,experiment,experiment,wait,checkpoint" {
		t.Fatalf("step kinds = %v", kinds)
	}

	brief := gd.Steps[0]
	if brief.Expect != "nothing moves yet" || !strings.Contains(brief.Manual.Instructions, "Tell the team") || brief.Resolved != nil {
		t.Errorf("manual step = %+v", brief)
	}

	file := gd.Steps[1]
	e := file.Resolved
	if e == nil || !file.TargetReplaced || file.File != filepath.Join("testdata", "gameday", "crash.yaml") || !file.ContinueOnFail {
		t.Fatalf("path step = %+v", file)
	}
	if e.Metadata.Name != "crash-one" || e.Target.Demo.Nodes != 3 || e.Target.Demo.Persistence != PersistenceMemory || *e.Seed != 9 {
		t.Errorf("file experiment = %+v (target %+v): want its own name and seed, the shared target", e.Metadata, e.Target.Demo)
	}
	if !strings.Contains(string(file.Source), "nodes: 3") || strings.Contains(string(file.Source), "persistence: disk") {
		t.Errorf("path step source does not carry the shared target:\n%s", file.Source)
	}

	inline := gd.Steps[2].Resolved
	if inline == nil || inline.Metadata.Name != "slow-inline" || inline.Kind != KindExperiment || *inline.Seed != 12 {
		t.Fatalf("inline experiment = %+v", inline)
	}
	if inline.Target.Demo.Nodes != 3 || len(inline.Faults) != 1 || inline.Faults[0].Latency.Delay != 50*time.Millisecond || inline.SteadyState.Window != DefaultSteadyStateWindow {
		t.Errorf("inline experiment not decoded with defaults: %+v", inline)
	}
	if _, err := inline.Plan(1); err != nil {
		t.Errorf("inline plan: %v", err)
	}

	if w := gd.Steps[3].Wait; w == nil || *w != 2*time.Second {
		t.Errorf("wait = %v", w)
	}

	cp := gd.Steps[4]
	ce := cp.Resolved
	if ce == nil || cp.Checkpoint.Rate != DefaultCheckpointRate || cp.Checkpoint.Warmup != DefaultCheckpointWarmup {
		t.Fatalf("checkpoint = %+v", cp.Checkpoint)
	}
	if ce.Workload.Rate != DefaultCheckpointRate || ce.Workload.Duration != 3*time.Second || ce.Workload.Warmup != time.Second ||
		ce.SteadyState.Window != 3*time.Second || len(ce.Faults) != 0 || len(ce.SteadyState.Probes) != 1 || ce.Target.Demo.Nodes != 3 {
		t.Errorf("checkpoint experiment = workload %+v, steady state %+v", ce.Workload, ce.SteadyState)
	}
	if _, err := ce.DemoSpec(); err != nil {
		t.Errorf("DemoSpec: %v", err)
	}
}

func TestGameDayDefaults(t *testing.T) {
	gd, err := DecodeGameDay("gd.yaml", []byte(gameDayHead+"  - {name: w, wait: 1s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if gd.Target.Demo == nil || gd.Target.Demo.Nodes != 3 || gd.Target.Runtime != RuntimeProcess {
		t.Errorf("target = %+v", gd.Target)
	}
	noTarget := strings.Replace(gameDayHead, "target: {demo: {nodes: 3}}\n", "", 1)
	gd, err = DecodeGameDay("gd.yaml", []byte(noTarget+"  - {name: w, wait: 1s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if gd.Target.Demo == nil || !reflect.DeepEqual(*gd.Target.Demo, DefaultDemoCluster()) {
		t.Errorf("a playbook without target gets %+v, want the default demo cluster", gd.Target.Demo)
	}
}

// gameDayHead is a playbook up to its steps; the first step is on line 6.
const gameDayHead = `apiVersion: chaosctl/v1
kind: GameDay
metadata: {name: gd}
target: {demo: {nodes: 3}}
steps:
`

func TestGameDayProblems(t *testing.T) {
	dir := filepath.Join("testdata", "gameday")
	pb := filepath.Join(dir, "gd.yaml") // experiment paths resolve next to it
	bad := filepath.Join(dir, "bad-crash.yaml")
	tests := []struct {
		name string
		src  string
		// want lists "FILE:LINE:COL: text"; no other problem may be reported.
		want []string
	}{
		{
			name: "misspelt step kind",
			src:  gameDayHead + "  - {name: a, wiat: 5s}\n",
			want: []string{pb + `:6:15: unknown field "wiat" in steps[0]; allowed: name, expect, manual, experiment, wait, checkpoint, continueOnFail; did you mean "wait"?`},
		},
		{
			name: "no step kind",
			src:  gameDayHead + "  - {name: a, expect: x}\n",
			want: []string{pb + `:6:5: steps[0]: needs one of manual, experiment, wait, checkpoint`},
		},
		{
			name: "two step kinds",
			src:  gameDayHead + "  - {name: a, wait: 1s, manual: {instructions: x}}\n",
			want: []string{pb + `:6:25: steps[0].manual: wait and manual are exclusive`},
		},
		{
			name: "bad duration",
			src:  gameDayHead + "  - {name: a, wait: 5}\n",
			want: []string{pb + `:6:21: steps[0].wait: bad duration 5: add a unit`},
		},
		{
			name: "wait out of range",
			src:  gameDayHead + "  - {name: a, wait: 2h}\n",
			want: []string{pb + `:6:21: steps[0].wait: 2h0m0s is out of range; allowed: above 0 up to 1h0m0s`},
		},
		{
			name: "missing experiment file",
			src:  gameDayHead + "  - {name: a, experiment: {path: nope.yaml}}\n",
			want: []string{pb + `:6:34: steps[0].experiment.path: cannot read the experiment ` + filepath.Join(dir, "nope.yaml") + `: no such file or directory`},
		},
		{
			name: "experiment file with a nemesis and no faults",
			src:  gameDayHead + "  - {name: a, experiment: {path: nemesis-only.yaml}}\n",
			want: []string{filepath.Join(dir, "nemesis-only.yaml") + `:5:1: nemesis: the file has a nemesis and no faults`},
		},
		{
			name: "experiment file invalid against the shared target",
			src:  gameDayHead + "  - {name: a, experiment: {path: bad-crash.yaml}}\n",
			want: []string{bad + `:8:42: faults[0].crash.nodes[0]: unknown node "n5"; allowed: g1, n1, n2, n3`},
		},
		{
			name: "a playbook as an experiment",
			src:  gameDayHead + "  - {name: a, experiment: {path: playbook.yaml}}\n",
			want: []string{pb + `:6:34: steps[0].experiment.path: ` + filepath.Join(dir, "playbook.yaml") + ` is a GameDay playbook`},
		},
		{
			name: "path and inline",
			src:  gameDayHead + "  - {name: a, experiment: {path: crash.yaml, inline: {}}}\n",
			want: []string{pb + `:6:46: steps[0].experiment.inline: path and inline are exclusive`},
		},
		{
			name: "inline experiment with a target",
			src: gameDayHead + `  - name: a
    experiment:
      inline:
        target: {demo: {nodes: 5}}
        workload: {rate: 10, duration: 5s}
        slos: [{name: av, sli: availability, objective: 99%}]
`,
			want: []string{pb + `:9:9: unknown field "target" in steps[0].experiment.inline; allowed: seed, workload, steadyState, faults, actions, slos, abort, checks, receipts`},
		},
		{
			name: "inline experiment judged against the shared target",
			src: gameDayHead + `  - name: a
    experiment:
      inline:
        workload: {rate: 10, duration: 5s}
        faults: [{name: k, at: 1s, crash: {nodes: [n4]}}]
        slos: [{name: av, sli: availability, objective: 150%}]
`,
			want: []string{
				pb + `:10:52: steps[0].experiment.inline.faults[0].crash.nodes[0]: unknown node "n4"; allowed: g1, n1, n2, n3`,
				pb + `:11:57: steps[0].experiment.inline.slos[0].objective: 150% is out of range`,
			},
		},
		{
			name: "inline experiment without a workload",
			src:  gameDayHead + "  - {name: a, experiment: {inline: {slos: [{name: av, sli: availability, objective: 99%}]}}}\n",
			want: []string{pb + `:6:36: steps[0].experiment.inline: missing required field workload`},
		},
		{
			name: "checkpoint without probes, out of range",
			src:  gameDayHead + "  - {name: a, checkpoint: {duration: 20m, rate: 0}}\n",
			want: []string{
				pb + `:6:38: steps[0].checkpoint.duration: 20m0s is out of range; allowed: 1s to 10m0s`,
				pb + `:6:49: steps[0].checkpoint.rate: 0 requests/s is out of range`,
				pb + `:6:27: steps[0].checkpoint: missing required field probes`,
			},
		},
		{
			name: "checkpoint probe in the wrong unit",
			src:  gameDayHead + "  - {name: a, checkpoint: {duration: 5s, probes: [{name: p, metric: error_ratio, max: 150ms}]}}\n",
			want: []string{pb + `:6:87: steps[0].checkpoint.probes[0].max: error_ratio is a ratio; write the bound as 1% or 0.01`},
		},
		{
			name: "manual step without instructions, expect twice",
			src:  gameDayHead + "  - {name: a, expect: x, manual: {expect: y}}\n",
			want: []string{
				pb + `:6:34: steps[0].manual: missing required field instructions`,
				pb + `:6:35: steps[0].manual.expect: expect is given twice`,
			},
		},
		{
			name: "continueOnFail on a wait, duplicate and bad names",
			src:  gameDayHead + "  - {name: a, wait: 1s, continueOnFail: true}\n  - {name: a, wait: 1s}\n  - {name: B_, wait: 1s}\n",
			want: []string{
				pb + `:6:25: steps[0].continueOnFail: applies to experiment and checkpoint steps`,
				pb + `:7:12: steps[1].name: step name "a" is already used by steps[0].name`,
				pb + `:8:12: steps[2].name: bad name "B_"`,
			},
		},
		{
			name: "no steps",
			src:  strings.TrimSuffix(gameDayHead, "steps:\n") + "steps: []\n",
			want: []string{pb + `:5:8: steps: is empty; give at least one step`},
		},
		{
			name: "an experiment's kind",
			src:  strings.Replace(gameDayHead, "kind: GameDay", "kind: Experiment", 1) + "  - {name: a, wait: 1s}\n",
			want: []string{pb + `:2:7: kind: bad kind "Experiment"; allowed: GameDay`},
		},
		{
			name: "external target",
			src:  strings.Replace(gameDayHead, "target: {demo: {nodes: 3}}", "target: {external: {proxies: [{name: p, listen: '127.0.0.1:1', upstream: '127.0.0.1:2'}]}}", 1) + "  - {name: a, wait: 1s}\n",
			want: []string{pb + `:4:10: target.external: a GameDay's shared target is the demo cluster`},
		},
		{
			name: "bad shared target: the experiments are not judged against it",
			src:  strings.Replace(gameDayHead, "nodes: 3", "nodes: 0", 1) + "  - {name: a, experiment: {path: bad-crash.yaml}}\n",
			want: []string{pb + `:4:24: target.demo.nodes: 0 is out of range; allowed: 1 to 32`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeGameDay(pb, []byte(tc.src))
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			checkProblems(t, verr, "", tc.want)
		})
	}
}

func TestIsGameDay(t *testing.T) {
	for src, want := range map[string]bool{
		gameDayHead:                           true,
		"kind: Experiment\n":                  false,
		"kind: [GameDay]\n":                   false,
		"- kind: GameDay\n":                   false,
		"kind: GameDay\n---\nkind: GameDay\n": true,
		"{{{":                                 false,
	} {
		if got := IsGameDay([]byte(src)); got != want {
			t.Errorf("IsGameDay(%q) = %v, want %v", src, got, want)
		}
	}
}

func TestLoadGameDayMissingFile(t *testing.T) {
	_, err := LoadGameDay(filepath.Join(t.TempDir(), "nope.yaml"))
	var verr *ValidationError
	if err == nil || errors.As(err, &verr) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want a wrapped not-exist error", err)
	}
}

// The GameDay examples validate, with every experiment they name.
func TestGameDayExamplesValidate(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "examples", "gameday", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no playbook in examples/gameday/")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			gd, err := LoadGameDay(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range gd.Steps {
				if s.Resolved != nil {
					if _, err := s.Resolved.Plan(1); err != nil {
						t.Errorf("step %s: plan: %v", s.Name, err)
					}
				}
				if s.Kind() != StepWait && s.Expect == "" {
					t.Errorf("step %s says nothing about what to expect", s.Name)
				}
			}
		})
	}
}

func TestGameDayExperimentPathMustBeARegularFile(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "folder.yaml"), 0o700); err != nil {
		t.Fatal(err)
	}
	pb := filepath.Join(dir, "gd.yaml")
	for name, want := range map[string]string{
		"fifo.yaml":   "the file is a named pipe (FIFO); allowed: a regular file of at most 1 MiB",
		"folder.yaml": "the file is a folder; allowed: a regular file",
	} {
		done := make(chan error, 1)
		go func() {
			_, err := DecodeGameDay(pb, []byte(gameDayHead+"  - {name: a, experiment: {path: "+name+"}}\n"))
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), pb+":6:34: steps[0].experiment.path: cannot read the experiment "+filepath.Join(dir, name)+": "+want) {
				t.Errorf("%s: got %v", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: DecodeGameDay blocks", name)
		}
	}
}

// A step runs its experiment once on the shared target: a file that asks
// for a control run is refused at its control:.
func TestGameDayStepRefusesControl(t *testing.T) {
	dir := t.TempDir()
	exp := filepath.Join(dir, "exp.yaml")
	src := "apiVersion: chaosctl/v1\nkind: Experiment\nmetadata: {name: x}\ncontrol: true\nworkload: {rate: 10, duration: 5s}\nslos: [{name: a, sli: availability, objective: 99%}]\n"
	if err := os.WriteFile(exp, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	pb := filepath.Join(dir, "gd.yaml")
	_, err := DecodeGameDay(pb, []byte(gameDayHead+"  - {name: a, experiment: {path: exp.yaml}}\n"))
	if err == nil || !strings.Contains(err.Error(), exp+":4:10: control: a GameDay step runs its experiment once") {
		t.Fatalf("got %v", err)
	}
}

// A step runs its experiment once: a file that asks for repeats is refused
// at its repeat:, not run once in silence.
func TestGameDayStepRefusesRepeat(t *testing.T) {
	dir := t.TempDir()
	exp := filepath.Join(dir, "exp.yaml")
	src := "apiVersion: chaosctl/v1\nkind: Experiment\nmetadata: {name: x}\nrepeat: 3\nworkload: {rate: 10, duration: 5s}\nchecks: [linearizable]\n"
	if err := os.WriteFile(exp, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	pb := filepath.Join(dir, "gd.yaml")
	_, err := DecodeGameDay(pb, []byte(gameDayHead+"  - {name: a, experiment: {path: exp.yaml}}\n"))
	if err == nil || !strings.Contains(err.Error(), exp+":4:9: repeat: a GameDay step runs its experiment once") {
		t.Fatalf("got %v", err)
	}
	one := strings.Replace(src, "repeat: 3", "repeat: 1", 1)
	if err := os.WriteFile(exp, []byte(one), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeGameDay(pb, []byte(gameDayHead+"  - {name: a, experiment: {path: exp.yaml}}\n")); err != nil {
		t.Fatalf("repeat: 1: %v", err)
	}
}

// A path step names files in the playbook's folder only (after cleaning
// and resolving symlinks), unless the caller allows another folder; the
// problems of a file it names quote nothing of it.
func TestGameDayExperimentPathsStayInThePlaybooksFolder(t *testing.T) {
	const secret = "hunter2-do-not-print"
	root := t.TempDir()
	folder, outside := filepath.Join(root, "playbooks"), filepath.Join(root, "private")
	for _, d := range []string{folder, outside, filepath.Join(folder, "sub")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Not YAML an experiment could be, and YAML with keys and values of its
	// own: the old messages quoted both ("got the string ...", unknown
	// field "...").
	write(filepath.Join(outside, "shadow"), "root:$6$"+secret+":19000:0:99999:7:::\nuser:$6$"+secret+":19000:0:99999:7:::\n")
	write(filepath.Join(outside, "creds.yaml"), "apiVersion: chaosctl/v1\nkind: Experiment\n"+secret+": {token: "+secret+"}\n")
	write(filepath.Join(folder, "creds.yaml"), "password: "+secret+"\n")
	write(filepath.Join(folder, "sub", "crash.yaml"), "apiVersion: chaosctl/v1\nkind: Experiment\nmetadata: {name: c}\n"+
		"workload: {rate: 10, duration: 5s}\nfaults: [{name: k, at: 1s, crash: {nodes: [n1]}}]\nslos: [{name: av, sli: availability, objective: 99%}]\n")
	for _, link := range []struct{ name, to string }{
		{"shadow-link.yaml", filepath.Join(outside, "shadow")},
		{"private", outside},
		{"sub-link", filepath.Join(folder, "sub")},
	} {
		if err := os.Symlink(link.to, filepath.Join(folder, link.name)); err != nil {
			t.Fatal(err)
		}
	}
	pb := filepath.Join(folder, "gd.yaml")
	outsideRule := "is outside the playbook's folder " + folder + "; allowed: a file in that folder or below it, symlinks resolved (chaosctl gameday --allow-path DIR allows the files in DIR too)"
	tests := []struct {
		name, path string
		allow      []string
		want       string // in the error; "" for a valid playbook
		quotes     bool   // the file is one the playbook may name, so its problems may quote it
	}{
		{name: "parent folder", path: "../private/shadow", want: pb + ":6:34: steps[0].experiment.path: ../private/shadow " + outsideRule},
		{name: "absolute path", path: filepath.Join(outside, "shadow"), want: outsideRule},
		{name: "dot-dot after a folder", path: "sub/../../private/creds.yaml", want: outsideRule},
		{name: "symlink to a file outside", path: "shadow-link.yaml", want: outsideRule},
		{name: "symlink to a folder outside", path: "private/creds.yaml", want: outsideRule},
		{name: "missing file outside", path: "../private/nope.yaml", want: outsideRule},
		{name: "missing file inside", path: "nope.yaml", want: "cannot read the experiment " + filepath.Join(folder, "nope.yaml") + ": no such file or directory"},
		{name: "file below the folder", path: "sub/crash.yaml"},
		{name: "symlink within the folder", path: "sub-link/crash.yaml"},
		{name: "absolute path within the folder", path: filepath.Join(folder, "sub", "crash.yaml")},
		// Files the playbook may name are the user's own: their problems are
		// reported in full, as `chaosctl validate` would.
		{name: "a file inside", path: "creds.yaml", want: filepath.Join(folder, "creds.yaml") + `:1:1: unknown field "password"`, quotes: true},
		{name: "an allowed folder", path: "../private/creds.yaml", allow: []string{outside}, want: filepath.Join(folder, "../private/creds.yaml") + `:3:1: unknown field "` + secret, quotes: true},
		{name: "an allowed folder through a symlink", path: "private/creds.yaml", allow: []string{outside}, want: `:3:1: unknown field "` + secret, quotes: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gd, err := DecodeGameDay(pb, []byte(gameDayHead+"  - {name: a, experiment: {path: '"+tc.path+"'}}\n"), tc.allow...)
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want == "":
				if gd.Steps[0].Resolved == nil {
					t.Fatal("the step's experiment was not resolved")
				}
				return
			case err == nil:
				t.Fatalf("no error, want %q", tc.want)
			}
			var verr *ValidationError
			if !errors.As(err, &verr) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant a *ValidationError with %q", err, tc.want)
			}
			if !tc.quotes && (strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "root:") || strings.Contains(err.Error(), "password")) {
				t.Errorf("the error quotes the file:\n%v", err)
			}
		})
	}
	if _, err := DecodeGameDay(pb, []byte(gameDayHead+"  - {name: a, wait: 1s}\n"), filepath.Join(root, "nope")); err == nil || !strings.Contains(err.Error(), "allowed experiment folder "+filepath.Join(root, "nope")) {
		t.Errorf("a missing allowed folder: got %v", err)
	}
}

// FuzzGameDay: any bytes give a playbook or a *ValidationError, never a
// panic; experiment paths resolve next to the playbook (this package's
// testdata).
func FuzzGameDay(f *testing.F) {
	for _, name := range []string{"playbook.yaml", "crash.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", "gameday", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(gameDayHead + "  - {name: a, experiment: {inline: {workload: {rate: 1, duration: 1s}, checks: [linearizable]}}}\n"))
	f.Add([]byte(gameDayHead + "  - {name: a, checkpoint: {duration: 1s, probes: [{name: p, metric: error_ratio, max: 1%}]}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		gd, err := DecodeGameDay(filepath.Join("testdata", "gameday", "fuzz.yaml"), data)
		var verr *ValidationError
		switch {
		case err == nil && gd == nil:
			t.Fatal("no playbook and no error")
		case err != nil && !errors.As(err, &verr):
			t.Fatalf("error %v is not a *ValidationError", err)
		case err != nil && len(verr.Problems) == 0:
			t.Fatal("a ValidationError without problems")
		}
	})
}

func TestEmptyPlaybook(t *testing.T) {
	_, err := DecodeGameDay("gd.yaml", []byte("\n# nothing\n"))
	if err == nil || !strings.Contains(err.Error(), "gd.yaml:1:1: empty file: expected a GameDay playbook") {
		t.Fatalf("got %v", err)
	}
}
