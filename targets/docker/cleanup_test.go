package docker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"

	"github.com/chaosctl/chaosctl/targets/docker"
)

func TestRemoveRunTouchesOnlyItsLabelledObjects(t *testing.T) {
	cli := engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ref, _, err := docker.EnsureImage(ctx, cli, staticBinary(t, "0"), fmt.Sprintf("test-%d", time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = cli.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	run := fmt.Sprintf("cleanup-test-%d", time.Now().UnixNano())
	labels := map[string]string{docker.LabelRun: run, docker.LabelMember: "n1"}
	net, err := cli.NetworkCreate(ctx, "chaosctl-"+run, network.CreateOptions{Driver: "bridge", Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	mine, err := cli.ContainerCreate(ctx, &container.Config{Image: ref, Cmd: []string{"version"}, Labels: labels}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	// Someone else's container: no chaosctl label. It must survive.
	theirs, err := cli.ContainerCreate(ctx, &container.Config{Image: ref, Cmd: []string{"version"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cli.ContainerRemove(context.Background(), theirs.ID, container.RemoveOptions{Force: true})
		_ = cli.ContainerRemove(context.Background(), mine.ID, container.RemoveOptions{Force: true})
		_ = cli.NetworkRemove(context.Background(), net.ID)
	})

	left, err := docker.Leftovers(ctx, cli)
	if err != nil {
		t.Fatal(err)
	}
	if len(left[run]) != 2 {
		t.Fatalf("leftovers of %s: %v, want its container and network", run, left[run])
	}
	removed, err := docker.RemoveRun(ctx, cli, run)
	if err != nil || len(removed) != 2 {
		t.Fatalf("RemoveRun: %v, %v", removed, err)
	}
	if _, err := cli.ContainerInspect(ctx, mine.ID); err == nil {
		t.Fatal("the run's container is still there")
	}
	if _, err := cli.NetworkInspect(ctx, net.ID, network.InspectOptions{}); err == nil {
		t.Fatal("the run's network is still there")
	}
	if _, err := cli.ContainerInspect(ctx, theirs.ID); err != nil {
		t.Fatalf("an unlabelled container was touched: %v", err)
	}
	// Idempotent.
	if removed, err := docker.RemoveRun(ctx, cli, run); err != nil || len(removed) != 0 {
		t.Fatalf("second RemoveRun: %v, %v", removed, err)
	}
}
