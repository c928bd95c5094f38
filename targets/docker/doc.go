// Package docker is the docker runtime. It connects to the Docker engine
// (DOCKER_HOST or the default socket) with clear errors; builds the
// FROM-scratch image every container of a run uses — the static chaosctl
// binary and nothing else, built through the Docker API, so no base image is
// ever pulled (tagged with the chaosctl version, or dev-<hash> for development
// builds, and reused when present); runs the demo cluster as containers on a
// bridge network of the run's own behind a fault-plane container (Demo, a
// targets.Target and targets.Isolator); and finds and removes what a run
// left, by its io.chaosctl.run label and nothing else (Leftovers, RemoveRun).
//
//	d, err := docker.StartDemo(ctx, spec, docker.DemoOptions{RuntimeOptions: democluster.RuntimeOptions{Run: "r1", Log: log}})
//	defer d.Close(ctx)
//	err = d.Pause(ctx, "n2")    // docker pause
//	err = d.Isolate(ctx, "n3")  // docker network disconnect
package docker
