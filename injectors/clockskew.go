package injectors

import (
	"context"
	"fmt"
	"time"

	"github.com/chaosctl/chaosctl/targets"
)

// ClockSkew shifts the target demo store nodes' clocks by Offset through
// their control endpoint (POST /control/v1/clock-skew); the revert sets the
// offset back to 0.
type ClockSkew struct{}

// Kind implements Injector.
func (ClockSkew) Kind() string { return KindClockSkew }

// Capabilities implements CapableInjector.
func (ClockSkew) Capabilities() Capabilities { return Capabilities{StoreNodes: true} }

// Inject implements Injector.
func (ClockSkew) Inject(ctx context.Context, t targets.Target, f Fault) (Revert, error) {
	if err := check(f, KindClockSkew); err != nil {
		return nil, err
	}
	if f.Offset == 0 {
		return nil, fmt.Errorf("clockSkew %s: offset 0 skews nothing", f.Name)
	}
	set := func(d time.Duration) func(ctx context.Context, t targets.Target, id string) error {
		return func(ctx context.Context, t targets.Target, id string) error {
			return t.Control(ctx, id, "clock-skew", map[string]string{"offset": d.String()}, nil)
		}
	}
	return onEachMember(ctx, t, f, KindClockSkew, "reset the clock of", set(f.Offset), set(0))
}
