package targets

import (
	"strings"
	"testing"

	"github.com/chaosctl/chaosctl/internal/testkit"
)

// The interface package imports no runtime: runtimes import it, and a
// cycle or a sideways dependency would follow the other way.
func TestTargetsImportsNoRuntime(t *testing.T) {
	for _, dep := range testkit.Deps(t) {
		switch strings.TrimPrefix(dep, "github.com/chaosctl/chaosctl/") {
		case "targets", "targets/faultplane":
		default:
			if strings.HasPrefix(dep, "github.com/chaosctl/chaosctl/") {
				t.Errorf("package targets depends on %s", dep)
			}
		}
	}
}
