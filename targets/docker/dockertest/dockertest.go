// Package dockertest holds what tests that need the Docker engine share:
// connecting (skipping with a message where no engine is reachable, failing
// where CHAOSCTL_REQUIRE_INTEGRATION=1) and building the static chaosctl the
// FROM-scratch image is made of.
package dockertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/docker/docker/client"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/docker"
)

// Engine connects to the Docker engine, or skips the test (fails it where
// CHAOSCTL_REQUIRE_INTEGRATION=1). The client is closed when the test ends.
func Engine(t testing.TB) *client.Client {
	t.Helper()
	cli, err := docker.Connect(context.Background())
	if err != nil {
		testkit.Integration(t, "no Docker engine: %v", err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// BuildChaosctl builds chaosctl into dir with CGO_ENABLED=cgo ("0" for the
// static binary an image needs) and returns its path.
func BuildChaosctl(t testing.TB, dir, cgo string) string {
	t.Helper()
	return BuildChaosctlVersion(t, dir, cgo, "")
}

// BuildChaosctlVersion is BuildChaosctl with main.version set (when not
// empty): a package whose tests remove their image builds a binary of its
// own this way, so the image tag (dev-<hash of the binary>) is not the one
// other packages, running at the same time, use.
func BuildChaosctlVersion(t testing.TB, dir, cgo, version string) string {
	t.Helper()
	bin := filepath.Join(dir, "chaosctl")
	args := []string{"build", "-o", bin}
	if version != "" {
		args = append(args, "-ldflags", "-X main.version="+version)
	}
	cmd := exec.Command("go", append(args, "github.com/chaosctl/chaosctl/cmd/chaosctl")...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED="+cgo)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build chaosctl: %v\n%s", err, out)
	}
	return bin
}
