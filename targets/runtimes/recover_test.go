package runtimes_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/docker/dockertest"
	"github.com/chaosctl/chaosctl/targets/runtimes"
)

// A container that stopped before chaosctl's fault began is its owner's
// business: recover leaves it stopped (and one that is gone, gone).
func TestContainersStartOnlyWhatStoppedSinceTheFault(t *testing.T) {
	cli := dockertest.Engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// An empty image: its container is created, never started.
	var empty bytes.Buffer
	if err := tar.NewWriter(&empty).Close(); err != nil {
		t.Fatal(err)
	}
	ref := fmt.Sprintf("chaosctl-runtimes-test-empty:%d", time.Now().UnixNano())
	rc, err := cli.ImageImport(ctx, image.ImportSource{Source: &empty, SourceName: "-"}, ref, image.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	t.Cleanup(func() { _, _ = cli.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true}) })
	c, err := cli.ContainerCreate(ctx, &container.Config{Image: ref, Cmd: []string{"/nothing"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true}) })

	cs := &runtimes.Containers{}
	defer cs.Close()
	box := targets.ContainerRef{ID: c.ID, Host: cli.DaemonHost()}
	did, err := cs.RecoverContainer(ctx, box, injectors.ContainerUndo{Unpause: true, StoppedSince: time.Now()})
	if err != nil || !strings.HasPrefix(did, "left stopped") {
		t.Fatalf("a container stopped before the fault: %q, %v", did, err)
	}
	if insp, err := cli.ContainerInspect(ctx, c.ID); err != nil || insp.State.Running {
		t.Fatalf("the container was started (%v)", err)
	}
	box.ID = strings.Repeat("0", 64)
	if did, err := cs.RecoverContainer(ctx, box, injectors.ContainerUndo{Unpause: true}); err != nil || did != "already gone" {
		t.Fatalf("a container that is gone: %q, %v", did, err)
	}
}
