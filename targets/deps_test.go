package targets

import (
	"os/exec"
	"strings"
	"testing"
)

// The interface package imports no runtime: runtimes import it, and a
// cycle or a sideways dependency would follow the other way.
func TestTargetsImportsNoRuntime(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if !strings.HasPrefix(dep, "github.com/chaosctl/chaosctl/") {
			continue
		}
		switch strings.TrimPrefix(dep, "github.com/chaosctl/chaosctl/") {
		case "targets", "targets/faultplane":
		default:
			t.Errorf("package targets depends on %s", dep)
		}
	}
}
