package injectors

import (
	"context"

	"github.com/chaosctl/chaosctl/targets"
)

// Restart stops the target members gracefully; the revert starts them again
// and waits until they are ready. The fault's duration is the downtime.
type Restart struct{ memberVerifier }

// Kind implements Injector.
func (Restart) Kind() string { return KindRestart }

// Capabilities implements CapableInjector.
func (Restart) Capabilities() Capabilities { return Capabilities{MemberState: true} }

// Inject implements Injector.
func (Restart) Inject(ctx context.Context, t targets.Target, f Fault) (Revert, error) {
	if err := check(f, KindRestart); err != nil {
		return nil, err
	}
	return onEachMember(ctx, t, f, KindRestart, "start", stop, start)
}
