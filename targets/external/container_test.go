package external_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/go-connections/nat"

	"github.com/chaosctl/chaosctl/targets/docker"
	"github.com/chaosctl/chaosctl/targets/docker/dockertest"
	"github.com/chaosctl/chaosctl/targets/external"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
)

// A user's container, found by label: pause, kill and start act on it
// through the Docker API, and Close leaves it to its owner.
func TestContainerMemberFoundByLabelTakesMembershipFaults(t *testing.T) {
	cli := dockertest.Engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// A binary (and image tag) of this package's own: it removes the image
	// at the end, while targets/docker may be using its own.
	bin := dockertest.BuildChaosctlVersion(t, t.TempDir(), "0", "external-test-dirty")
	ref, built, err := docker.EnsureImage(ctx, cli, bin, "")
	if err != nil {
		t.Fatal(err)
	}
	if built {
		t.Cleanup(func() { _, _ = cli.ImageRemove(context.Background(), ref, image.RemoveOptions{PruneChildren: true}) })
	}
	// The "user's service": chaosctl's toxiproxy API in a container, on a
	// fixed loopback port so a restart keeps it.
	port := freeAddr(t)
	_, p, _ := net.SplitHostPort(port)
	run := fmt.Sprintf("ext-test-%d", time.Now().UnixNano())
	label := "io.chaosctl.test=" + run
	c, err := cli.ContainerCreate(ctx,
		&container.Config{Image: ref, Cmd: []string{"proxy", "--listen", "0.0.0.0:8474"},
			Labels:       map[string]string{"io.chaosctl.test": run, docker.LabelRun: run, docker.LabelMember: "svc"},
			ExposedPorts: nat.PortSet{"8474/tcp": {}}},
		&container.HostConfig{PortBindings: nat.PortMap{"8474/tcp": {{HostIP: "127.0.0.1", HostPort: p}}}},
		nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = docker.RemoveRun(context.Background(), cli, run) })
	if err := cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	url := "http://" + port + "/version"
	tg, err := external.Start(ctx, external.Spec{
		Members: []external.MemberSpec{{Name: "svc", ContainerLabel: label, ReadyHTTP: url}},
	}, external.Options{Run: run, Log: processtest.Log(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close(context.Background())
	hc := &http.Client{Timeout: 300 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	check := func() error {
		resp, err := hc.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	if err := tg.Pause(ctx, "svc"); err != nil {
		t.Fatal(err)
	}
	var ne net.Error
	if err := check(); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("a paused container answered: %v", err)
	}
	if err := tg.Resume(ctx, "svc"); err != nil {
		t.Fatal(err)
	}
	if err := check(); err != nil {
		t.Fatalf("after unpause: %v", err)
	}
	if err := tg.Kill(ctx, "svc"); err != nil {
		t.Fatal(err)
	}
	if insp, err := cli.ContainerInspect(ctx, c.ID); err != nil || insp.State.Running {
		t.Fatalf("after kill: running=%v err=%v", insp.State != nil && insp.State.Running, err)
	}
	if err := tg.Start(ctx, "svc"); err != nil {
		t.Fatal(err)
	}
	if err := check(); err != nil {
		t.Fatalf("after start: %v", err)
	}
	if err := tg.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The container is the user's: Close leaves it running.
	if insp, err := cli.ContainerInspect(ctx, c.ID); err != nil || !insp.State.Running {
		t.Fatalf("Close touched the user's container: %v", err)
	}
}
