package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestJUnitGolden(t *testing.T) {
	fail, pass := loadFixture(t, fixtureFail).Result, loadFixture(t, fixturePass).Result
	tests := []struct {
		golden  string
		results []*Result
	}{
		{"junit-fail.xml", []*Result{fail}},
		{"junit-pass.xml", []*Result{pass}},
		{"junit-two-runs.xml", []*Result{fail, pass}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteJUnit(&buf, tt.results...); err != nil {
				t.Fatal(err)
			}
			if err := validateJUnitShape(buf.Bytes()); err != nil {
				t.Fatalf("junit.xml does not have the junit.xsd shape: %v\n%s", err, buf.Bytes())
			}
			checkGolden(t, tt.golden, buf.Bytes())
		})
	}
}

// readJUnit parses junit.xml back into the writer's own types. That sees
// what a JUnit reader sees only because validateJUnitShape has first held
// the document to junit.xsd's element and attribute names: a misnamed tag
// fails there, not here.
func readJUnit(t *testing.T, doc []byte) junitSuites {
	t.Helper()
	if err := validateJUnitShape(doc); err != nil {
		t.Fatalf("junit.xml does not have the junit.xsd shape: %v\n%s", err, doc)
	}
	var suites junitSuites
	if err := xml.Unmarshal(doc, &suites); err != nil {
		t.Fatalf("parse junit.xml back: %v\n%q", err, doc)
	}
	return suites
}

func TestJUnitCounts(t *testing.T) {
	fail, pass := loadFixture(t, fixtureFail).Result, loadFixture(t, fixturePass).Result
	stopped := *pass
	stopped.Verdict, stopped.Reason = Fail, "stop condition: availability burn rate 20.0 over 5s exceeds 14.4"
	stopped.StopCondition = &StopCondition{Reason: "availability burn rate 20.0 over 5s exceeds 14.4", At: pass.Started.Add(9 * time.Second), SLO: "availability", Burn: 20}
	broken := *pass
	broken.Faults = append([]FaultResult(nil), pass.Faults...)
	broken.Faults[1].Error = "kill n2: no such process"
	broken.Interrupted, broken.Errors = true, []string{"interrupted; every fault was reverted"}
	noData := &Result{Experiment: "empty", Header: Header{Verdict: Inconclusive, Reason: "nothing to judge", Started: pass.Started, Ended: pass.Started},
		SLOs: []SLOResult{{Name: "availability", SLI: "availability", Objective: 0.99, Verdict: Inconclusive, Reason: "no events"}}}

	tests := []struct {
		name                             string
		result                           *Result
		tests, failures, errors, skipped int
		wantCases                        []string
		failureContains                  []string
	}{
		{"fail fixture", fail, 9, 3, 0, 2,
			[]string{"SLO availability", "SLO fast-reads", "probe low-errors (before)", "probe low-errors (after)", "probe fast (before)", "probe fast (after)", "probe fast (during)", "check linearizable", "check no-lost-writes"},
			[]string{"220 bad of 4000", "550.0% consumed", "burn rate (whole run) 5.50", "error_ratio = 2%", "bound <= 1%", "2 anomalies in 4400 operations"}},
		{"pass fixture", pass, 8, 0, 0, 0, nil, nil},
		{"stop condition", &stopped, 9, 1, 0, 0, []string{"stop condition"}, []string{"stop condition: availability burn rate 20.0"}},
		{"fault error and interrupted", &broken, 10, 0, 2, 0, []string{"fault kill-n2", "run"}, nil},
		{"no events", noData, 1, 0, 0, 1, []string{"SLO availability"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteJUnit(&buf, tt.result); err != nil {
				t.Fatal(err)
			}
			doc := readJUnit(t, buf.Bytes())
			if len(doc.Suites) != 1 {
				t.Fatalf("suites = %d, want 1", len(doc.Suites))
			}
			s := doc.Suites[0]
			if s.Tests != tt.tests || s.Failures != tt.failures || s.Errors != tt.errors || s.Skipped != tt.skipped {
				t.Errorf("suite counts tests/failures/errors/skipped = %d/%d/%d/%d, want %d/%d/%d/%d",
					s.Tests, s.Failures, s.Errors, s.Skipped, tt.tests, tt.failures, tt.errors, tt.skipped)
			}
			if doc.Tests != s.Tests || doc.Failures != s.Failures || doc.Errors != s.Errors {
				t.Errorf("testsuites totals %d/%d/%d differ from the suite's", doc.Tests, doc.Failures, doc.Errors)
			}
			var nf, ne, ns int
			var names []string
			var failures strings.Builder
			for _, c := range s.Cases {
				names = append(names, c.Name)
				if c.Classname != tt.result.Experiment {
					t.Errorf("case %s classname = %q, want %q", c.Name, c.Classname, tt.result.Experiment)
				}
				if c.Failure != nil {
					nf++
					if c.Failure.Message == "" || c.Failure.Type == "" {
						t.Errorf("case %s: failure without message or type", c.Name)
					}
					failures.WriteString(c.Failure.Message + "\n" + c.Failure.Body + "\n")
				}
				if c.Error != nil {
					ne++
				}
				if c.Skipped != nil {
					ns++
					if !strings.HasPrefix(c.Skipped.Message, "inconclusive") {
						t.Errorf("case %s: skipped message %q does not say inconclusive", c.Name, c.Skipped.Message)
					}
				}
			}
			if len(s.Cases) != s.Tests || nf != s.Failures || ne != s.Errors || ns != s.Skipped {
				t.Errorf("counted cases %d, failures %d, errors %d, skipped %d; attributes say %d/%d/%d/%d",
					len(s.Cases), nf, ne, ns, s.Tests, s.Failures, s.Errors, s.Skipped)
			}
			for _, want := range tt.wantCases {
				if !slices.Contains(names, want) {
					t.Errorf("no test case %q in %v", want, names)
				}
			}
			for _, want := range tt.failureContains {
				if !strings.Contains(failures.String(), want) {
					t.Errorf("failures do not carry %q:\n%s", want, failures.String())
				}
			}
			props := map[string]string{}
			for _, p := range s.Properties {
				props[p.Name] = p.Value
			}
			if props["seed"] != strconv.FormatInt(tt.result.Seed, 10) {
				t.Errorf("seed property = %q, want %d", props["seed"], tt.result.Seed)
			}
			if tt.result.ChaosctlVersion != "" && props["chaosctlVersion"] != tt.result.ChaosctlVersion {
				t.Errorf("chaosctlVersion property = %q", props["chaosctlVersion"])
			}
			// One clock: t = 0 at the end of warmup, and every fault at it
			// with its UTC time.
			if ms := tt.result.MeasuredStart; ms != nil {
				if props["measuredStart"] != timeText(*ms) {
					t.Errorf("measuredStart property = %q, want %s", props["measuredStart"], timeText(*ms))
				}
				for _, f := range tt.result.Faults {
					applied := fmt.Sprintf("t = %s s (%s)", tSecs(*f.AppliedT), timeText(*f.Applied))
					reverted := fmt.Sprintf("t = %s s (%s)", tSecs(*f.RevertedT), timeText(*f.Reverted))
					if props["fault."+f.Name+".applied"] != applied || props["fault."+f.Name+".reverted"] != reverted {
						t.Errorf("fault %s properties = %q, %q; want %q, %q", f.Name, props["fault."+f.Name+".applied"], props["fault."+f.Name+".reverted"], applied, reverted)
					}
				}
			}
		})
	}
}

func TestJUnitSeveralRunsInOneFile(t *testing.T) {
	fail, pass := loadFixture(t, fixtureFail).Result, loadFixture(t, fixturePass).Result
	second := *pass
	second.Experiment = "quickstart-again"
	path := filepath.Join(t.TempDir(), "combined.xml")
	if err := WriteJUnitFile(path, fail, &second); err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := readJUnit(t, written)
	if len(doc.Suites) != 2 || doc.Suites[0].Name != "quickstart" || doc.Suites[1].Name != "quickstart-again" {
		t.Fatalf("suites %+v, want quickstart and quickstart-again", doc.Suites)
	}
	if doc.Tests != 9+8 || doc.Failures != 3 {
		t.Errorf("totals tests %d failures %d, want 17 and 3", doc.Tests, doc.Failures)
	}
	for _, c := range doc.Suites[1].Cases {
		if c.Classname != "quickstart-again" {
			t.Errorf("case %s of the second run has classname %q", c.Name, c.Classname)
		}
	}
}

func TestJUnitControlCharacters(t *testing.T) {
	r := &Result{Experiment: "x", Header: Header{Verdict: Fail, Started: time.Unix(1700000000, 0)}, Checks: []CheckResult{{Name: "linearizable", Verdict: Fail, Detail: "bad \x00\x07 bytes ]]> here", Listed: []string{"key \x1b[31mk1"}}}}
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, r); err != nil {
		t.Fatal(err)
	}
	doc := readJUnit(t, buf.Bytes())
	if body := doc.Suites[0].Cases[0].Failure.Body; !strings.Contains(body, "]]> here") {
		t.Errorf("failure body lost the text around ]]>: %q", body)
	}
}

// validateJUnitShape checks a document against the common junit.xsd (the
// Jenkins xunit plugin's junit-10.xsd, which GitLab and GitHub reporters
// also accept): which elements may nest where, which attributes are allowed
// and required, and the time pattern. It also asserts the attributes this
// package promises (skipped, time, timestamp on suites; classname and time on
// cases; message and type on failures).
func validateJUnitShape(doc []byte) error {
	type rule struct {
		children          []string
		allowed, required []string
		text              bool
	}
	problem := []string{"type", "message"}
	rules := map[string]rule{
		"testsuites": {children: []string{"testsuite"}, allowed: []string{"name", "time", "tests", "failures", "errors"}},
		"testsuite": {children: []string{"testsuite", "properties", "testcase", "system-out", "system-err"},
			allowed:  []string{"name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp", "hostname", "id", "package", "file", "log", "url"},
			required: []string{"name", "tests", "failures", "errors", "skipped", "time", "timestamp"}},
		"properties": {children: []string{"property"}},
		"property":   {allowed: []string{"name", "value"}, required: []string{"name", "value"}},
		"testcase": {children: []string{"skipped", "error", "failure", "system-out", "system-err"},
			allowed: []string{"name", "time", "classname", "group"}, required: []string{"name", "classname", "time"}},
		"failure":    {allowed: problem, required: problem, text: true},
		"error":      {allowed: problem, required: []string{"message"}, text: true},
		"skipped":    {allowed: problem, required: []string{"message"}, text: true},
		"system-out": {text: true},
		"system-err": {text: true},
	}
	timePattern := regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	timestampPattern := regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$`)
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var stack []string
	root := true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("not well-formed: %w", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			name := tok.Name.Local
			r, known := rules[name]
			if !known {
				return fmt.Errorf("unknown element <%s>", name)
			}
			if root {
				if name != "testsuites" {
					return fmt.Errorf("root is <%s>, want <testsuites>", name)
				}
				root = false
			} else if parent := stack[len(stack)-1]; !slices.Contains(rules[parent].children, name) {
				return fmt.Errorf("<%s> may not appear in <%s>", name, parent)
			}
			have := map[string]string{}
			for _, a := range tok.Attr {
				if !slices.Contains(r.allowed, a.Name.Local) {
					return fmt.Errorf("<%s> has attribute %q, which junit.xsd does not allow", name, a.Name.Local)
				}
				have[a.Name.Local] = a.Value
			}
			for _, req := range r.required {
				if _, ok := have[req]; !ok {
					return fmt.Errorf("<%s name=%q> lacks the %q attribute", name, have["name"], req)
				}
			}
			if v, ok := have["time"]; ok && !timePattern.MatchString(v) {
				return fmt.Errorf("<%s> time %q does not match the schema's pattern", name, v)
			}
			if v, ok := have["timestamp"]; ok && !timestampPattern.MatchString(v) {
				return fmt.Errorf("<%s> timestamp %q is not an ISO 8601 date-time", name, v)
			}
			for _, n := range []string{"tests", "failures", "errors", "skipped"} {
				if v, ok := have[n]; ok {
					if _, err := strconv.Atoi(v); err != nil {
						return fmt.Errorf("<%s> %s %q is not a count", name, n, v)
					}
				}
			}
			stack = append(stack, name)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 && !rules[stack[len(stack)-1]].text && strings.TrimSpace(string(tok)) != "" {
				return fmt.Errorf("<%s> holds text %q", stack[len(stack)-1], tok)
			}
		}
	}
	return nil
}
