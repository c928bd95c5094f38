package docker

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/chaosctl/chaosctl/internal/atomicfile"
)

// Image naming and labels.
const (
	ImageRepo   = "chaosctl"
	LabelRun    = "io.chaosctl.run"
	LabelMember = "io.chaosctl.member"
	// LabelImage marks images chaosctl built.
	LabelImage = "io.chaosctl.image"
)

// ErrNoEngine wraps failures to reach the Docker engine.
var ErrNoEngine = errors.New("no Docker engine reachable")

// Connect returns a client of the engine named by DOCKER_HOST (or the default
// socket) after a ping, with an error that says which engine and why.
func Connect(ctx context.Context) (*client.Client, error) {
	return connect(ctx, client.FromEnv, client.WithAPIVersionNegotiation())
}

// ConnectHost is Connect to the engine at host (a client's DaemonHost, such
// as unix:///var/run/docker.sock), with the TLS settings of the environment.
func ConnectHost(ctx context.Context, host string) (*client.Client, error) {
	return connect(ctx, client.FromEnv, client.WithHost(host), client.WithAPIVersionNegotiation())
}

func connect(ctx context.Context, opts ...client.Opt) (*client.Client, error) {
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w: %w", ErrNoEngine, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(pctx); err != nil {
		host := cli.DaemonHost()
		if os.Getenv("DOCKER_HOST") == "" {
			host += " (DOCKER_HOST is not set)"
		}
		why := err.Error()
		if strings.Contains(why, "permission denied") {
			why = "permission denied on the socket: add your user to the docker group or run as root"
		}
		_ = cli.Close()
		return nil, fmt.Errorf("%w at %s: %s", ErrNoEngine, host, why)
	}
	return cli, nil
}

// ImageRef is the image of a chaosctl version.
func ImageRef(version string) string {
	tag := strings.NewReplacer("+", "-", "/", "-").Replace(version)
	if tag == "" {
		tag = "dev"
	}
	return ImageRepo + ":" + tag
}

// IsDevVersion says whether version names a development build.
func IsDevVersion(version string) bool {
	return version == "" || version == "dev" || strings.HasSuffix(version, "-dirty")
}

// ImageRefFor is the image of binary at version: ImageRef(version), with the
// binary's hash appended for a development build.
func ImageRefFor(binary, version string) (string, error) {
	if !IsDevVersion(version) {
		return ImageRef(version), nil
	}
	f, err := os.Open(binary)
	if err != nil {
		return "", fmt.Errorf("image binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("image binary %s: %w", binary, err)
	}
	if version == "" {
		version = "dev"
	}
	return ImageRef(version + "-" + hex.EncodeToString(h.Sum(nil))[:12]), nil
}

// CheckStatic fails unless binary is a statically linked ELF executable
// (CGO_ENABLED=0): a FROM-scratch image has no libc to load.
func CheckStatic(binary string) error {
	f, err := elf.Open(binary)
	if err != nil {
		return fmt.Errorf("image binary %s: %w", binary, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("image binary %s is dynamically linked; build it with CGO_ENABLED=0 (make build)", binary)
		}
	}
	return nil
}

// EnsureImage returns the image of version, building it from binary when the
// engine does not have it yet. built says whether it was built now. A
// development build (version "", "dev" or ending in "-dirty") is tagged with
// the version and the first 12 hex digits of the binary's SHA-256
// (chaosctl:dev-0123456789ab), so a rebuilt binary gets a new image and an
// unchanged one reuses its image.
func EnsureImage(ctx context.Context, cli *client.Client, binary, version string) (ref string, built bool, err error) {
	ref, err = ImageRefFor(binary, version)
	if err != nil {
		return "", false, err
	}
	if _, err := cli.ImageInspect(ctx, ref); err == nil {
		return ref, false, nil
	}
	if err := BuildImage(ctx, cli, binary, ref); err != nil {
		return ref, false, err
	}
	return ref, true, nil
}

// dockerfile is the whole image: the binary on nothing.
const dockerfile = `FROM scratch
COPY chaosctl /chaosctl
ENTRYPOINT ["/chaosctl"]
`

// BuildImage builds ref FROM scratch with binary as /chaosctl through the
// Docker API (no Dockerfile on disk, nothing pulled).
func BuildImage(ctx context.Context, cli *client.Client, binary, ref string) error {
	if err := CheckStatic(binary); err != nil {
		return err
	}
	bin, err := os.ReadFile(binary)
	if err != nil {
		return fmt.Errorf("read image binary: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte(dockerfile)}, {"chaosctl", 0o755, bin}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	resp, err := cli.ImageBuild(ctx, &buf, build.ImageBuildOptions{
		Tags:        []string{ref},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
		PullParent:  false,
		Labels:      map[string]string{LabelImage: ref},
	})
	if err != nil {
		return fmt.Errorf("build image %s: %w", ref, err)
	}
	defer resp.Body.Close()
	// The build streams JSON messages; an error arrives as one of them.
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if json.Unmarshal(sc.Bytes(), &msg) == nil && msg.Error != "" {
			return fmt.Errorf("build image %s: %s", ref, msg.Error)
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("build image %s: %w", ref, err)
	}
	if _, err := cli.ImageInspect(ctx, ref); err != nil {
		return fmt.Errorf("build image %s: not present after the build: %w", ref, err)
	}
	return nil
}

// PruneImages removes the images chaosctl built (labelled io.chaosctl.image)
// whose tag starts with prefix ("" or ImageRepo+":" for all), other than
// keep, skipping those a container still uses, and returns the references it
// removed. Images without the label are never touched.
func PruneImages(ctx context.Context, cli *client.Client, keep, prefix string) ([]string, error) {
	imgs, err := cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelImage))})
	if err != nil {
		return nil, fmt.Errorf("list chaosctl images: %w", err)
	}
	inUse := map[string]bool{}
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs {
		inUse[c.ImageID] = true
	}
	var removed []string
	var errs []error
	for _, img := range imgs {
		if _, ok := img.Labels[LabelImage]; !ok || inUse[img.ID] || slices.Contains(img.RepoTags, keep) {
			continue
		}
		if prefix != "" && !slices.ContainsFunc(img.RepoTags, func(tag string) bool { return strings.HasPrefix(tag, prefix) }) {
			continue
		}
		name := img.ID
		if len(img.RepoTags) > 0 {
			name = img.RepoTags[0]
		}
		if _, err := cli.ImageRemove(ctx, img.ID, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !client.IsErrNotFound(err) {
			errs = append(errs, fmt.Errorf("remove image %s: %w", name, err))
			continue
		}
		removed = append(removed, name)
	}
	return removed, errors.Join(errs...)
}

// ExportImage writes image ref as a `docker save` archive to w, for engines
// and clusters without a registry (`docker load`, `ctr images import`, `kind
// load image-archive`).
func ExportImage(ctx context.Context, cli *client.Client, ref string, w io.Writer) error {
	rc, err := cli.ImageSave(ctx, []string{ref})
	if err != nil {
		return fmt.Errorf("export image %s: %w", ref, err)
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("export image %s: %w", ref, err)
	}
	return nil
}

// ExportImageToFile writes image ref as ExportImage does to the file path
// (mode 0644), through a temporary file renamed into place (atomicfile):
// path is either the whole archive or left as it was.
func ExportImageToFile(ctx context.Context, cli *client.Client, ref, path string) error {
	return atomicfile.WriteWith(path, 0o644, func(w io.Writer) error {
		return ExportImage(ctx, cli, ref, w)
	})
}
