// Package docker is the start of the docker runtime: it connects to the
// Docker engine (DOCKER_HOST or the default socket) with clear errors, and
// builds the FROM-scratch image every container of a run uses — the static
// chaosctl binary and nothing else, built through the Docker API, so no base
// image is ever pulled. The image is tagged with the chaosctl version and
// reused when present.
//
//	cli, err := docker.Connect(ctx)
//	ref, built, err := docker.EnsureImage(ctx, cli, "/path/to/static/chaosctl", "v1.2.3")
package docker
