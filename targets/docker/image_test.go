package docker_test

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/chaosctl/chaosctl/targets/docker"
	"github.com/chaosctl/chaosctl/targets/docker/dockertest"
)

// engine connects to the Docker engine or skips (fails where
// CHAOSCTL_REQUIRE_INTEGRATION=1).
func engine(t *testing.T) *client.Client { return dockertest.Engine(t) }

// staticBinary builds chaosctl with CGO_ENABLED=cgo.
func staticBinary(t *testing.T, cgo string) string {
	return dockertest.BuildChaosctl(t, t.TempDir(), cgo)
}

func TestImageIsBuiltFromScratchAndRunsChaosctl(t *testing.T) {
	cli := engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := staticBinary(t, "0")
	version := fmt.Sprintf("test-%d", time.Now().UnixNano())
	ref, built, err := docker.EnsureImage(ctx, cli, bin, version)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = cli.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	if !built {
		t.Fatalf("image %s reported as reused on first build", ref)
	}
	insp, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if insp.Config == nil || insp.Config.Labels[docker.LabelImage] != ref || len(insp.RootFS.Layers) != 1 {
		t.Fatalf("image %s: labels %v, %d layers; want the chaosctl label and one layer (FROM scratch)", ref, insp.Config.Labels, len(insp.RootFS.Layers))
	}
	// A second call reuses it.
	if _, built, err := docker.EnsureImage(ctx, cli, bin, version); err != nil || built {
		t.Fatalf("second EnsureImage: built=%v err=%v, want reuse", built, err)
	}

	// The image runs the binary: `chaosctl version` in a labelled container.
	c, err := cli.ContainerCreate(ctx, &container.Config{Image: ref, Cmd: []string{"version"},
		Labels: map[string]string{docker.LabelRun: "image-test"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
	})
	if err := cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	waitC, errC := cli.ContainerWait(ctx, c.ID, container.WaitConditionNotRunning)
	select {
	case w := <-waitC:
		if w.StatusCode != 0 {
			t.Fatalf("chaosctl version exited %d in the container", w.StatusCode)
		}
	case err := <-errC:
		t.Fatal(err)
	}
	logs, err := cli.ContainerLogs(ctx, c.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	var out, errb bytes.Buffer
	_, _ = stdcopy.StdCopy(&out, &errb, logs)
	if !bytes.HasPrefix(out.Bytes(), []byte("chaosctl ")) {
		t.Fatalf("container printed %q / %q, want the chaosctl version", out.String(), errb.String())
	}
}

// CheckStatic agrees with the ELF program headers: a binary with an
// interpreter (dynamically linked) is refused, the CGO_ENABLED=0 one is not.
func TestCheckStaticFollowsTheELFInterpreter(t *testing.T) {
	for _, cgo := range []string{"0", "1"} {
		bin := staticBinary(t, cgo)
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		dynamic := false
		for _, p := range f.Progs {
			dynamic = dynamic || p.Type == elf.PT_INTERP
		}
		f.Close()
		if cgo == "0" && dynamic {
			t.Fatal("CGO_ENABLED=0 produced a dynamically linked binary")
		}
		if err := docker.CheckStatic(bin); (err != nil) != dynamic {
			t.Errorf("CGO_ENABLED=%s: dynamic=%v but CheckStatic = %v", cgo, dynamic, err)
		}
	}
}

func TestPruneImagesRemovesOnlyUnusedChaosctlImages(t *testing.T) {
	cli := engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := sharedBinary(t)
	stamp := fmt.Sprintf("prunetest-%d", time.Now().UnixNano())
	var refs []string
	for _, v := range []string{"old", "used", "current"} {
		ref := docker.ImageRef(stamp + "-" + v)
		if err := docker.BuildImage(ctx, cli, bin, ref); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	t.Cleanup(func() {
		for _, r := range refs {
			_, _ = cli.ImageRemove(context.Background(), r, image.RemoveOptions{Force: true, PruneChildren: true})
		}
	})
	// Each tag is its own image (the label names the tag). "used" has a
	// container, "current" is kept: only "old" goes.
	c, err := cli.ContainerCreate(ctx, &container.Config{Image: refs[1], Cmd: []string{"version"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true}) })
	prefix := docker.ImageRepo + ":" + stamp
	removed, err := docker.PruneImages(ctx, cli, refs[2], prefix)
	if err != nil || len(removed) != 1 || removed[0] != refs[0] {
		t.Fatalf("removed %v, %v; want only %s", removed, err, refs[0])
	}
	if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	removed, err = docker.PruneImages(ctx, cli, refs[2], prefix)
	if err != nil || len(removed) != 1 || removed[0] != refs[1] {
		t.Fatalf("removed %v, %v; want only %s once its container is gone", removed, err, refs[1])
	}
	if _, err := cli.ImageInspect(ctx, refs[2]); err != nil {
		t.Fatalf("the kept image is gone: %v", err)
	}
	if removed, err = docker.PruneImages(ctx, cli, "", prefix); err != nil || len(removed) != 1 {
		t.Fatalf("removed %v, %v; want the last one", removed, err)
	}
	for _, r := range refs {
		if _, err := cli.ImageInspect(ctx, r); err == nil {
			t.Errorf("%s still there", r)
		}
	}
}
