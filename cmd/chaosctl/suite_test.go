package main

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chaosctl/chaosctl/experiments/report"
)

// A CI suite: several files in one run, one combined JUnit file, and the
// exit code of the worst verdict.
func TestMultiFileRunExitsWithTheWorstVerdictAndOneJUnitFile(t *testing.T) {
	out, junit := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "junit.xml")
	stdout, stderr, code := run(t, "run", "testdata/calm.yaml", "testdata/no-majority.yaml",
		"--out", out, "--junit", junit, "--state-dir", filepath.Join(t.TempDir(), "state"))
	if code != 1 {
		t.Fatalf("exit %d, want 1 (one pass, one fail)\n%s\n%s", code, stdout, tail(stderr, 20))
	}
	verdicts := map[string]string{}
	for _, name := range []string{"calm", "no-majority"} {
		res, err := report.ReadJSON(filepath.Join(out, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		verdicts[name] = res.Verdict
		noMembersLeft(t, filepath.Join(out, name))
	}
	if verdicts["calm"] != report.Pass || verdicts["no-majority"] != report.Fail {
		t.Fatalf("verdicts %v", verdicts)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Failures int    `xml:"failures,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("junit: %v\n%s", err, b)
	}
	if len(doc.Suites) != 2 {
		t.Fatalf("junit has %d suites, want 2:\n%s", len(doc.Suites), b)
	}
	failed := 0
	for _, s := range doc.Suites {
		failed += s.Failures
	}
	if failed == 0 || !strings.Contains(string(b), "no-majority") || !strings.Contains(string(b), "calm") {
		t.Fatalf("junit does not show the failure of no-majority:\n%s", b)
	}
}
