package experiments

import (
	"strings"
	"testing"

	"github.com/chaosctl/chaosctl/internal/testkit"
)

// The file format is importable without linking the runtimes: a program
// that only validates experiment files (an editor plugin, a CI linter) must
// not pull in the Docker SDK or client-go.
func TestFormatLinksNoRuntime(t *testing.T) {
	for _, dep := range testkit.Deps(t) {
		for _, banned := range []string{"github.com/docker/docker", "k8s.io/client-go", "github.com/chaosctl/chaosctl/targets/docker", "github.com/chaosctl/chaosctl/targets/kubernetes", "github.com/chaosctl/chaosctl/experiments/runner"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("package experiments links %s", dep)
			}
		}
	}
}
