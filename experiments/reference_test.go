package experiments

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/chaosctl/chaosctl/internal/deadman"
)

// The references (docs/format.md, docs/gameday.md, embedded) document every
// field the decoder accepts and no other, with the walker's type name and
// every enum value.

func TestFormatReferenceDocumentsEveryField(t *testing.T) {
	ref := ExperimentReference()
	checkReference(t, "docs/format.md", ExperimentFields(), ref, func(string) (string, bool) { return "", false })
	t.Logf("docs/format.md documents %d field paths", len(ref.Rows))
}

func TestGameDayReferenceDocumentsEveryField(t *testing.T) {
	ref := GameDayReference()
	checkReference(t, "docs/gameday.md", GameDayFields(), ref, GameDayBorrowed)
	t.Logf("docs/gameday.md documents %d field paths of its own", len(ref.Rows))
}

// checkReference fails for every field of tree that neither ref nor (through
// borrowed) the experiment reference documents, for every row of ref that
// names no field, and for a type or an enum the row gets wrong.
func checkReference(t *testing.T, file string, tree *Field, ref *Reference, borrowed func(string) (string, bool)) {
	t.Helper()
	for _, p := range ref.Problems {
		t.Errorf("%s: %s", file, p)
	}
	tree.Walk(func(f *Field) {
		if !f.Named() {
			return
		}
		row, own := ref.byPath[f.Path]
		if !own {
			if as, ok := borrowed(f.Path); ok {
				if _, found := ExperimentReference().Row(as); found {
					return // checked by the experiment reference's test
				}
				t.Errorf("docs/format.md lacks %s (type %s), which %s borrows as %s: add a row", as, f.TypeName(), file, f.Path)
				return
			}
			t.Errorf("%s lacks the field %s (type %s): add a row | `%s` | %s | default | allowed | description |", file, f.Path, f.TypeName(), f.Path, f.TypeName())
			return
		}
		if row.Type != f.TypeName() {
			t.Errorf("%s:%d: %s: type %q, the decoder reads %q", file, row.Line, f.Path, row.Type, f.TypeName())
		}
		allowed := f.Allowed()
		if f.Kind == FieldList {
			allowed = f.Elem.Allowed()
		}
		for _, a := range allowed {
			if !strings.Contains(row.Allowed, "`"+a+"`") {
				t.Errorf("%s:%d: %s: allowed values lack `%s` (the decoder allows %s)", file, row.Line, f.Path, a, strings.Join(allowed, ", "))
			}
		}
		if strings.TrimSpace(row.Description) == "" {
			t.Errorf("%s:%d: %s has no description", file, row.Line, f.Path)
		}
	})
	for _, row := range ref.Rows {
		if tree.Lookup(row.Path) == nil {
			t.Errorf("%s:%d: %s is not a field the decoder knows: remove the row (or fix the path)", file, row.Line, row.Path)
		}
	}
}

// observed is a field's value in a decoded test file, and whether the file
// gave it.
type observed struct {
	value reflect.Value
	given bool
	at    string // the concrete path, for messages
}

// observe records the value of every named field below f in v, the first
// default (a value the file did not give) of each path winning.
func observe(f *Field, v reflect.Value, concrete string, d *decoder, out map[string]observed) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if f.Named() {
		o := observed{value: v, given: d.has(concrete) || d.bad[concrete], at: concrete}
		if prev, ok := out[f.Path]; !ok || (prev.given && !o.given) {
			out[f.Path] = o
		}
	}
	switch f.Kind {
	case FieldObject, FieldRange:
		for _, c := range f.Fields {
			observe(c, v.FieldByIndex(c.index), joinPath(concrete, c.Name), d, out)
		}
	case FieldList:
		for i := range v.Len() {
			observe(f.Elem, v.Index(i), fmt.Sprintf("%s[%d]", concrete, i), d, out)
		}
	}
}

// Defaults a runtime fills in rather than the decoder (a zero in the
// decoded file means "the runtime's default"): the values come from the
// packages that apply them.
var runtimeDefaults = map[string]any{
	"target.leaseTTL": deadman.DefaultTTL,
}

// defaultsFiles between them reach every field whose reference row states
// a default value, leaving those fields out: the demo cluster with every
// kind of fault, probe and the nemesis, and an external target with both
// workloads.
var defaultsFiles = []string{`
apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: defaults}
target: {demo: {}}
workload: {rate: 10, duration: 30s}
steadyState:
  probes:
    - {name: h, http: {url: "http://127.0.0.1:1/"}}
    - {name: t, tcp: {addr: "127.0.0.1:1"}}
faults:
  - {name: p, at: 1s, partition: {mode: isolate}}
  - {name: l, at: 1s, latency: {pick: {}, delay: 10ms}}
  - {name: b, at: 1s, bandwidth: {pick: {}, rate: 1MB/s}}
  - {name: r, at: 1s, reset: {pick: {}}}
  - {name: bh, at: 1s, blackhole: {pick: {}}}
  - {name: c, at: 1s, crash: {pick: {}}}
  - {name: pa, at: 1s, pause: {pick: {}}}
  - {name: re, at: 1s, restart: {pick: {}}}
  - {name: cs, at: 1s, clockSkew: {pick: {}, offset: 1s}}
  - {name: co, at: 1s, corrupt: {pick: {}}}
  - {name: ha, at: 1s, http: {pick: {}, abort: {status: 503}}}
  - {name: hd, at: 1s, http: {pick: {}, delay: {latency: 1ms}}}
  - {name: hr, at: 1s, http: {pick: {}, drop: {}}}
slos: [{name: a, sli: availability, objective: 99%}]
nemesis: {kinds: [partition, latency, bandwidth, crash, clockSkew, corrupt]}
ramp: {fault: l, param: latency.delay, from: 10ms, to: 20ms}
`, `
apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: defaults}
target:
  external:
    members: [{name: web, command: [web]}]
    proxies: [{name: web, listen: "127.0.0.1:2", upstream: "127.0.0.1:3"}]
workload:
  rate: 10
  duration: 30s
  http: [{url: "http://127.0.0.1:2/"}]
  redis: {addr: "127.0.0.1:2"}
slos: [{name: a, sli: availability, objective: 99%}]
`, `
apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: defaults}
workload: {rate: 10, duration: 30s}
steadyState:
  probes: [{name: x, exec: {command: ["true"]}}]
actions:
  - {name: e, at: 1s, exec: {command: ["true"]}, rollback: {exec: {command: ["true"]}}}
  - {name: h, at: 1s, http: {url: "http://127.0.0.1:2/"}, rollback: {http: {url: "http://127.0.0.1:2/"}}}
`, `
apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: defaults}
workload: {kind: lock, duration: 30s, lock: {}}
checks: [mutual-exclusion]
`, `
apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: defaults}
workload: {kind: scan, rate: 10, duration: 30s, scan: {}}
`}

// decodeDefaults decodes src and fills its defaults as Decode does, without
// validating it (the defaults files break rules that do not matter here).
func decodeDefaults(t *testing.T, src string) (*Experiment, *decoder) {
	t.Helper()
	d := newDecoder("defaults.yaml")
	root := d.parse([]byte(src))
	if root == nil {
		t.Fatal(d.err())
	}
	exp := &Experiment{}
	d.decode(root, "", reflect.ValueOf(exp).Elem())
	setDefaults(exp, d)
	if len(d.problems) > 0 {
		t.Fatal(d.err())
	}
	return exp, d
}

// The defaults the references state as values are the decoder's: each is
// decoded as the file would give it and compared with what Decode fills in
// when the field is left out. And every field Decode fills with something
// other than zero has its default documented.
func TestFormatReferenceDefaultsAreTheDecoders(t *testing.T) {
	tree := ExperimentFields()
	seen := map[string]observed{}
	for _, src := range defaultsFiles {
		exp, d := decodeDefaults(t, src)
		out := map[string]observed{}
		observe(tree, reflect.ValueOf(exp).Elem(), "", d, out)
		for p, o := range out {
			if prev, ok := seen[p]; !ok || (prev.given && !o.given) {
				seen[p] = o
			}
		}
	}
	checked := checkDefaults(t, "docs/format.md", tree, ExperimentReference(), seen)
	if checked < 60 {
		t.Errorf("only %d documented defaults were checked; the reference states far more", checked)
	}
	t.Logf("%d defaults of docs/format.md are the decoder's", checked)
}

func TestGameDayReferenceDefaultsAreTheDecoders(t *testing.T) {
	src := `
apiVersion: chaosctl/v1
kind: GameDay
metadata: {name: defaults}
steps:
  - name: cp
    checkpoint: {duration: 2s, probes: [{name: e, metric: error_ratio, max: 1%}]}
`
	d := newDecoder("defaults.yaml")
	root := d.parse([]byte(src))
	gd := &GameDay{File: "defaults.yaml"}
	d.decode(root, "", reflect.ValueOf(gd).Elem())
	dirs, err := newExperimentDirs("defaults.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if extra := validateGameDay(gd, d, dirs); len(d.problems) > 0 || len(extra) > 0 {
		t.Fatalf("%v %v", d.err(), extra)
	}
	seen := map[string]observed{}
	observe(GameDayFields(), reflect.ValueOf(gd).Elem(), "", d, seen)
	ref := GameDayReference()
	own := &Reference{byPath: ref.byPath, Rows: ref.Rows} // the borrowed rows are the experiment's test's
	if checked := checkDefaults(t, "docs/gameday.md", GameDayFields(), own, seen); checked < 2 {
		t.Errorf("only %d documented defaults were checked", checked)
	}
}

// checkDefaults compares the default values ref states with the observed
// ones, and returns how many it compared.
func checkDefaults(t *testing.T, file string, tree *Field, ref *Reference, seen map[string]observed) (checked int) {
	t.Helper()
	for _, row := range ref.Rows {
		lit, ok := row.DefaultLiteral()
		f := tree.Lookup(row.Path)
		if !ok || f == nil {
			continue
		}
		want, err := decodeLiteral(f, lit)
		if err != nil {
			t.Errorf("%s:%d: %s: default `%s` is not a value of the field: %v", file, row.Line, row.Path, lit, err)
			continue
		}
		if rd, ok := runtimeDefaults[row.Path]; ok {
			if got := reflect.ValueOf(rd).Convert(f.Type).Interface(); !reflect.DeepEqual(got, want.Interface()) {
				t.Errorf("%s:%d: %s: default `%s`, the runtime's is %v", file, row.Line, row.Path, lit, got)
			}
			checked++
			continue
		}
		o, ok := seen[row.Path]
		switch {
		case !ok:
			t.Errorf("%s:%d: %s: its default `%s` is checked against the decoder, and no defaults file reaches the field: add it to the test's files", file, row.Line, row.Path, lit)
		case o.given:
			t.Errorf("%s:%d: %s: the defaults files give %s; leave it out so its default `%s` is checked", file, row.Line, row.Path, o.at, lit)
		case !reflect.DeepEqual(o.value.Interface(), want.Interface()):
			t.Errorf("%s:%d: %s: the reference says the default is `%s`, the decoder fills in %v (at %s)", file, row.Line, row.Path, lit, describeValue(o.value), o.at)
		default:
			checked++
		}
	}
	var filled []string
	for p, o := range seen {
		f := tree.Lookup(p)
		if o.given || f == nil || f.Kind == FieldObject || o.value.IsZero() {
			continue
		}
		row, ok := ref.Row(p)
		if !ok {
			continue // a missing row is the other test's failure
		}
		if d := strings.TrimSpace(row.Default); d == "" || strings.HasPrefix(d, "—") {
			filled = append(filled, fmt.Sprintf("%s:%d: %s: the decoder fills in %v (at %s), and the reference says it has no default", file, row.Line, p, describeValue(o.value), o.at))
		}
	}
	slices.Sort(filled)
	for _, msg := range filled {
		t.Error(msg)
	}
	return checked
}

// decodeLiteral decodes a default written as in a file into a value of
// f's type, through the decoder.
func decodeLiteral(f *Field, lit string) (reflect.Value, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(lit), &doc); err != nil {
		return reflect.Value{}, err
	}
	if len(doc.Content) != 1 {
		return reflect.Value{}, fmt.Errorf("not one value")
	}
	d := newDecoder("reference")
	v := reflect.New(f.Type).Elem()
	d.decode(doc.Content[0], f.Path, v)
	if len(d.problems) > 0 {
		return reflect.Value{}, d.err()
	}
	return v, nil
}

func describeValue(v reflect.Value) string {
	if s, ok := v.Interface().(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%v", v.Interface())
}

// The walker sees every field the decoder decodes: each path a decoded
// file records (its list indexes written []) is one of the tree's.
func TestFieldTreeCoversDecodedPaths(t *testing.T) {
	tree := ExperimentFields()
	for _, src := range defaultsFiles {
		_, d := decodeDefaults(t, src)
		for p := range d.values {
			if p == "" {
				continue
			}
			pattern := indexRE.ReplaceAllString(p, "[]")
			if strings.HasSuffix(pattern, "[]") {
				continue // a list item, named by its list
			}
			if tree.Lookup(pattern) == nil && !underMap(tree, pattern) {
				t.Errorf("the decoder decoded %s, which the field tree lacks", p)
			}
		}
	}
}

var indexRE = regexp.MustCompile(`\[[0-9]+\]`)

// underMap reports whether path lies inside a mapping of free names (its
// keys are the file's, not fields).
func underMap(tree *Field, path string) bool {
	for p := parentPath(path); p != ""; p = parentPath(p) {
		if f := tree.Lookup(p); f != nil && f.Kind == FieldMap {
			return true
		}
	}
	return false
}
