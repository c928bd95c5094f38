package docker

import (
	"context"
	"fmt"

	"github.com/docker/docker/client"

	"github.com/chaosctl/chaosctl/targets"
)

// ContainerStatus is container id's state as the engine reports it (docker
// inspect), for the receipts of membership faults.
func ContainerStatus(ctx context.Context, cli *client.Client, id string) (targets.MemberStatus, error) {
	insp, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		return targets.MemberStatus{}, fmt.Errorf("inspect container %s: %w", id, err)
	}
	st := targets.MemberStatus{Detail: "docker inspect: no state"}
	if s := insp.State; s != nil {
		st.Running, st.Paused, st.PID = s.Running, s.Paused, s.Pid
		st.Detail = "docker inspect: " + s.Status
	}
	return st, nil
}
