package docker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

// Leftovers lists, by run id, the containers, networks and volumes labelled
// io.chaosctl.run that exist on the engine. Nothing unlabelled is listed.
func Leftovers(ctx context.Context, cli *client.Client) (map[string][]string, error) {
	f := filters.NewArgs(filters.Arg("label", LabelRun))
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	out := map[string][]string{}
	for _, c := range cs {
		name := c.ID[:12]
		if len(c.Names) > 0 {
			name = c.Names[0]
		}
		out[c.Labels[LabelRun]] = append(out[c.Labels[LabelRun]], "container "+name)
	}
	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range ns {
		out[n.Labels[LabelRun]] = append(out[n.Labels[LabelRun]], "network "+n.Name)
	}
	vs, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	for _, v := range vs.Volumes {
		out[v.Labels[LabelRun]] = append(out[v.Labels[LabelRun]], "volume "+v.Name)
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out, nil
}

// RemoveRun removes every container (running, paused or stopped, with its
// anonymous volumes), then every network and every volume labelled
// io.chaosctl.run=run, and returns
// what it removed. Only labelled objects are touched. It is idempotent.
func RemoveRun(ctx context.Context, cli *client.Client, run string) ([]string, error) {
	if run == "" {
		return nil, errors.New("remove run: empty run id")
	}
	f := filters.NewArgs(filters.Arg("label", LabelRun+"="+run))
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers of run %s: %w", run, err)
	}
	var removed []string
	var errs []error
	for _, c := range cs {
		if c.Labels[LabelRun] != run {
			continue // belt and braces: the filter already says so
		}
		if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !client.IsErrNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.ID[:12], err))
			continue
		}
		name := c.ID[:12]
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		removed = append(removed, "container "+name)
	}
	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		return removed, errors.Join(append(errs, fmt.Errorf("list networks of run %s: %w", run, err))...)
	}
	for _, n := range ns {
		if n.Labels[LabelRun] != run {
			continue
		}
		if err := cli.NetworkRemove(ctx, n.ID); err != nil && !client.IsErrNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
			continue
		}
		removed = append(removed, "network "+n.Name)
	}
	vs, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		return removed, errors.Join(append(errs, fmt.Errorf("list volumes of run %s: %w", run, err))...)
	}
	for _, v := range vs.Volumes {
		if v.Labels[LabelRun] != run {
			continue
		}
		if err := cli.VolumeRemove(ctx, v.Name, true); err != nil && !client.IsErrNotFound(err) {
			errs = append(errs, fmt.Errorf("remove volume %s: %w", v.Name, err))
			continue
		}
		removed = append(removed, "volume "+v.Name)
	}
	return removed, errors.Join(errs...)
}
