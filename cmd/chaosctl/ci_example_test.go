package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The CI example must stay runnable: every experiment it names exists and
// validates, it writes JUnit, uploads the output folder, and publishes the
// JUnit even when the suite fails.
func TestGitHubActionsExampleNamesValidExperiments(t *testing.T) {
	b, err := os.ReadFile("../../examples/ci/github-actions.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Name string            `yaml:"name"`
				Uses string            `yaml:"uses"`
				Run  string            `yaml:"run"`
				If   string            `yaml:"if"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatalf("the workflow is not YAML: %v", err)
	}
	var files []string
	junit, upload, publish := false, false, false
	for _, job := range wf.Jobs {
		for _, s := range job.Steps {
			if strings.Contains(s.Run, "chaosctl run") {
				for _, f := range strings.Fields(s.Run) {
					if strings.HasPrefix(f, "examples/") && strings.HasSuffix(f, ".yaml") {
						files = append(files, filepath.Join("../..", f))
					}
				}
				junit = junit || strings.Contains(s.Run, "--junit")
			}
			upload = upload || (strings.HasPrefix(s.Uses, "actions/upload-artifact") && s.If == "always()")
			publish = publish || (strings.Contains(s.Uses, "junit") && s.If == "always()")
		}
	}
	if len(files) < 3 || !junit || !upload || !publish {
		t.Fatalf("files %v, junit %v, upload %v, publish %v", files, junit, upload, publish)
	}
	out, stderr, code := run(t, append([]string{"validate"}, files...)...)
	if code != 0 {
		t.Fatalf("the workflow's experiments do not validate (exit %d):\n%s\n%s", code, out, stderr)
	}
}
