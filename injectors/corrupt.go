package injectors

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/chaosctl/chaosctl/targets"
)

// ErrRatioUnsupported is wrapped when a member's control endpoint does not
// accept a corrupt ratio (older members take only a count).
var ErrRatioUnsupported = errors.New("the member's corrupt control takes no ratio")

// Corrupt flips bits in stored values on the target demo store nodes through
// their control endpoint (POST /control/v1/corrupt). It has nothing to
// revert: the system under test is expected to detect and repair the damage.
// For the same reason, when one of several targets fails, the values already
// damaged on the targets before it stay damaged.
//
// Each target damages Count values, or when Count is 0 the share Ratio of its
// stored values. Each target's seed is Seed mixed with its name, so the
// replicas of one key do not all lose the same values.
type Corrupt struct{}

// Kind implements Injector.
func (Corrupt) Kind() string { return KindCorrupt }

// Capabilities implements CapableInjector.
func (Corrupt) Capabilities() Capabilities { return Capabilities{StoreNodes: true, Instant: true} }

// Inject implements Injector.
func (Corrupt) Inject(ctx context.Context, t targets.Target, f Fault) (Revert, error) {
	if err := check(f, KindCorrupt); err != nil {
		return nil, err
	}
	if f.Count < 0 || (f.Count == 0 && (f.Ratio <= 0 || f.Ratio > 1)) {
		return nil, fmt.Errorf("corrupt %s: give a count above 0 or a ratio in (0, 1]; have count %d, ratio %g", f.Name, f.Count, f.Ratio)
	}
	apply := func(ctx context.Context, t targets.Target, id string) error {
		body := map[string]any{"seed": TargetSeed(f.Seed, id)}
		if f.Count > 0 {
			body["count"] = f.Count
		} else {
			body["ratio"] = f.Ratio
		}
		var answer struct {
			Keys []string `json:"keys"`
		}
		err := t.Control(ctx, id, "corrupt", body, &answer)
		if err != nil && f.Count == 0 && strings.Contains(err.Error(), "status 400") {
			return fmt.Errorf("ratio %g: %w (%w)", f.Ratio, ErrRatioUnsupported, err)
		}
		return err
	}
	if _, err := onEachMember(ctx, t, f, KindCorrupt, "", apply, nil); err != nil {
		return nil, err
	}
	return noRevert, nil
}

// TargetSeed is the seed a corrupt fault with seed passes to member id.
func TargetSeed(seed int64, id string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return seed ^ int64(h.Sum64())
}
