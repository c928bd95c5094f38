package injectors

import (
	"context"

	"github.com/chaosctl/chaosctl/targets"
)

// Pause freezes the target members (SIGSTOP, cgroup freezer): they keep
// their connections but answer nothing. The revert thaws them.
type Pause struct{ memberVerifier }

// Kind implements Injector.
func (Pause) Kind() string { return KindPause }

// Capabilities implements CapableInjector.
func (Pause) Capabilities() Capabilities { return Capabilities{MemberState: true} }

// Inject implements Injector.
func (Pause) Inject(ctx context.Context, t targets.Target, f Fault) (Revert, error) {
	if err := check(f, KindPause); err != nil {
		return nil, err
	}
	return onEachMember(ctx, t, f, KindPause, "resume", pause, resume)
}
