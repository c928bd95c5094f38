package experiments

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// compileSchema compiles a generated schema with a validator that knows
// draft 2020-12, which also checks the schema against its metaschema.
func compileSchema(t *testing.T, gen func() ([]byte, error)) *jsonschema.Schema {
	t.Helper()
	b, err := gen()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("chaosctl.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("chaosctl.schema.json")
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	return s
}

// yamlInstance turns a YAML file into the JSON value an editor validates.
func yamlInstance(t *testing.T, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// Every example, and every file of the repository's testdata that the
// decoder accepts, is valid against the schema of its kind: the schema is
// never stricter than chaosctl.
func TestSchemaAcceptsEveryValidFile(t *testing.T) {
	experiment := compileSchema(t, ExperimentSchema)
	gameday := compileSchema(t, GameDaySchema)
	examples := 0
	for _, root := range []string{"../examples", "../cmd/chaosctl/testdata", "testdata"} {
		err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || filepath.Ext(path) != ".yaml" {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			isExample := strings.HasPrefix(path, "../examples")
			var decodeErr error
			schema := experiment
			switch {
			case IsGameDay(src):
				schema = gameday
				_, decodeErr = DecodeGameDay(path, src)
			case bytes.Contains(src, []byte("kind: Experiment")):
				_, decodeErr = Decode(path, src)
			default:
				return nil // not a chaosctl file (a Kubernetes manifest)
			}
			if decodeErr != nil {
				if isExample {
					t.Errorf("%s: the example is invalid: %v", path, decodeErr)
				}
				return nil // a file of invalid input
			}
			if isExample {
				examples++
			}
			if err := schema.Validate(yamlInstance(t, src)); err != nil {
				t.Errorf("%s is valid for chaosctl, not for its schema:\n%v", path, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if examples < 20 {
		t.Errorf("only %d examples were validated", examples)
	}
	t.Logf("%d examples validated", examples)
}

// The schema rejects what an editor should flag: a misspelt field at any
// depth, a value outside an enum, a duration without a unit, a rate
// without /s, a list where a mapping belongs and a missing required field.
func TestSchemaRejectsMistakes(t *testing.T) {
	experiment := compileSchema(t, ExperimentSchema)
	gameday := compileSchema(t, GameDaySchema)
	quickstart, err := os.ReadFile("../examples/quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	playbook, err := os.ReadFile("../examples/gameday/failure-table.yaml")
	if err != nil {
		t.Fatal(err)
	}
	nemesisHTTP, err := os.ReadFile("../cmd/chaosctl/testdata/explore-http.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		src       []byte
		old, new  string
		schema    *jsonschema.Schema
		wantInErr string
	}{
		{"misspelt field", quickstart, "recoveryWithin:", "recoverWithin:", experiment, "recoverWithin"},
		{"misspelt top-level field", quickstart, "slos:", "slo:", experiment, "slo"},
		{"misspelt fault field", quickstart, "restartAfter:", "restartafter:", experiment, "restartafter"},
		{"bad enum", quickstart, "consistency: linearizable", "consistency: strong", experiment, "consistency"},
		{"duration without a unit", quickstart, "window: 2s", "window: 2", experiment, "window"},
		{"quoted number", quickstart, "rate: 200", `rate: "200"`, experiment, "rate"},
		{"missing required field", quickstart, "apiVersion: chaosctl/v1\n", "", experiment, "apiVersion"},
		{"bad bound", quickstart, "max: 200ms", "max: fast", experiment, "max"},
		{"partition size as a word", quickstart, "mode: isolate ", "size: two\n      mode: isolate ", experiment, "size"},
		{"misspelt nemesis http field", nemesisHTTP, "status: [500, 503]", "statuses: [500, 503]", experiment, "statuses"},
		{"bad nemesis http action", nemesisHTTP, "status: [500, 503]", "actions: [abort, slow]\n    status: [500, 503]", experiment, "actions"},
		{"nemesis http status as a string", nemesisHTTP, "status: [500, 503]", "status: [500, five]", experiment, "status"},
		{"a playbook is no experiment", playbook, "", "", experiment, "kind"},
		{"misspelt gameday field", playbook, "continueOnFail:", "continueOnFailure:", gameday, "continueOnFailure"},
		{"misspelt field of an inline experiment", playbook, "recoveryWithin: 4s", "recoverWithin: 4s", gameday, "recoverWithin"},
		{"misspelt checkpoint probe field", playbook, "metric: breaker_open, max: 0}\n    expect: Back", "metrik: breaker_open, max: 0}\n    expect: Back", gameday, "metrik"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.old != "" && !bytes.Contains(tc.src, []byte(tc.old)) {
				t.Fatalf("the file has no %q", tc.old)
			}
			src := bytes.Replace(tc.src, []byte(tc.old), []byte(tc.new), 1)
			err := tc.schema.Validate(yamlInstance(t, src))
			if err == nil {
				t.Fatalf("the schema accepts %q in place of %q", tc.new, tc.old)
			}
			if !strings.Contains(err.Error(), tc.wantInErr) {
				t.Errorf("the error does not name %q:\n%v", tc.wantInErr, err)
			}
		})
	}
	// A partition's size is part of the format: a file that gives one is
	// valid for both.
	sized := bytes.Replace(quickstart, []byte("mode: isolate "), []byte("size: 2\n      mode: isolate "), 1)
	if _, err := Decode("quickstart.yaml", sized); err != nil {
		t.Fatal(err)
	}
	if err := experiment.Validate(yamlInstance(t, sized)); err != nil {
		t.Errorf("the schema rejects a partition's size: %v", err)
	}
	rate := []byte("apiVersion: chaosctl/v1\nkind: Experiment\nmetadata: {name: x}\nworkload: {rate: 1, duration: 2s}\nfaults: [{name: b, at: 0s, bandwidth: {nodes: [n1], rate: 64KiB}}]\n")
	if err := experiment.Validate(yamlInstance(t, rate)); err == nil {
		t.Error("the schema accepts a byte rate without /s")
	}
}

// The unit patterns accept what the unit parsers accept, on samples of
// both sides.
func TestSchemaUnitPatterns(t *testing.T) {
	cases := []struct {
		pattern string
		parse   func(string) error
		good    []string
		bad     []string
	}{
		{durationPattern, func(s string) error { _, err := ParseDuration(s); return err },
			[]string{"0", "250ms", "2s", "1m30s", "-2s", "1.5h", ".5s", "3µs", "10ns"}, []string{"2", "2 s", "s", "1x", "", "1s2"}},
		{percentPattern, func(s string) error { _, err := ParsePercent(s); return err },
			[]string{"99.5%", "0.995", "1%", "100 %", "1e-3"}, []string{"%", "ninety", "1%%", ""}},
		{sizePattern, func(s string) error { _, err := ParseByteSize(s); return err },
			[]string{"32", "512B", "64KiB", "1MB", "1 GiB"}, []string{"64Kb", "1TB", "KiB", ""}},
		{ratePattern, func(s string) error { _, err := ParseByteRate(s); return err },
			[]string{"512B/s", "64KiB/s", "1MB/s", "1.5 kB/s"}, []string{"64KiB", "64/s", "64Ki/s", ""}},
		{boundPattern, func(s string) error { _, err := ParseThreshold(s); return err },
			[]string{"1%", "0.01", "150ms", "200", "-1"}, []string{"fast", "1%s", ""}},
	}
	for _, tc := range cases {
		re := compileRE(t, tc.pattern)
		for _, s := range tc.good {
			if tc.parse(s) != nil {
				t.Errorf("%q: the parser refuses a sample the test calls good", s)
			}
			if !re.MatchString(s) {
				t.Errorf("pattern %s refuses %q, which the parser accepts", tc.pattern, s)
			}
		}
		for _, s := range tc.bad {
			if tc.parse(s) == nil {
				t.Errorf("%q: the parser accepts a sample the test calls bad", s)
			}
			if re.MatchString(s) {
				t.Errorf("pattern %s accepts %q, which the parser refuses", tc.pattern, s)
			}
		}
	}
}

// The schema is deterministic and describes every field.
func TestSchemaIsStableAndDescribed(t *testing.T) {
	a, err := ExperimentSchema()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ExperimentSchema()
	if !bytes.Equal(a, b) {
		t.Fatal("two schemas differ")
	}
	var walk func(path string, s map[string]any)
	walk = func(path string, s map[string]any) {
		props, _ := s["properties"].(map[string]any)
		for name, v := range props {
			p := joinPath(path, name)
			ps := v.(map[string]any)
			if d, _ := ps["description"].(string); d == "" {
				t.Errorf("%s has no description", p)
			}
			walk(p, ps)
			if items, ok := ps["items"].(map[string]any); ok {
				walk(p+"[]", items)
			}
			for _, alt := range asList(ps["anyOf"]) {
				walk(p, alt.(map[string]any))
			}
		}
	}
	var root map[string]any
	if err := json.Unmarshal(a, &root); err != nil {
		t.Fatal(err)
	}
	if root["$schema"] != JSONSchemaDraft {
		t.Errorf("$schema is %v", root["$schema"])
	}
	walk("", root)
}

func compileRE(t *testing.T, pattern string) *regexp.Regexp {
	t.Helper()
	re, err := regexp.Compile(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return re
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
