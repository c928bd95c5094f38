package injectors

import (
	"context"

	"github.com/chaosctl/chaosctl/targets"
)

// Crash kills the target members at once (SIGKILL, container kill); the
// revert starts them again, keeping their data, and waits until they are
// ready.
type Crash struct{ memberVerifier }

// Kind implements Injector.
func (Crash) Kind() string { return KindCrash }

// Capabilities implements CapableInjector.
func (Crash) Capabilities() Capabilities { return Capabilities{MemberState: true} }

// Inject implements Injector.
func (Crash) Inject(ctx context.Context, t targets.Target, f Fault) (Revert, error) {
	if err := check(f, KindCrash); err != nil {
		return nil, err
	}
	return onEachMember(ctx, t, f, KindCrash, "start", kill, start)
}
