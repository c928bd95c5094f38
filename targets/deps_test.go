package targets

import (
	"strings"
	"testing"

	"github.com/chaosctl/chaosctl/internal/testkit"
)

// The interface package imports no runtime: runtimes import it, and a
// cycle or a sideways dependency would follow the other way. The fault
// plane (with its HTTP toxic) and the project's internal helpers (tokens, leases, crash
// handling) are not runtimes.
func TestTargetsImportsNoRuntime(t *testing.T) {
	for _, dep := range testkit.Deps(t) {
		rel := strings.TrimPrefix(dep, "github.com/chaosctl/chaosctl/")
		switch {
		case rel == "targets", rel == "targets/faultplane", strings.HasPrefix(rel, "targets/faultplane/"), strings.HasPrefix(rel, "internal/"):
		default:
			if strings.HasPrefix(dep, "github.com/chaosctl/chaosctl/") {
				t.Errorf("package targets depends on %s", dep)
			}
		}
	}
}
