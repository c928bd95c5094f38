package injectors

import (
	"context"
	"fmt"
	"slices"

	"github.com/chaosctl/chaosctl/targets"
)

// onEachMember applies apply to every target of f in order and returns the
// revert running undo on each; when one target fails, the ones already
// applied are undone before the error returns.
func onEachMember(ctx context.Context, t targets.Target, f Fault, kind, undoWhat string,
	apply, undoFn func(ctx context.Context, t targets.Target, id string) error) (Revert, error) {
	if len(f.Targets) == 0 {
		return nil, fmt.Errorf("%s %s: no target member", kind, f.Name)
	}
	u := &undo{}
	var seen []string
	for _, id := range f.Targets {
		if slices.Contains(seen, id) {
			continue
		}
		seen = append(seen, id)
		if err := ctx.Err(); err != nil {
			return nil, u.abort(ctx, fmt.Errorf("%s %s: %s: %w", kind, f.Name, id, err))
		}
		if err := apply(ctx, t, id); err != nil {
			return nil, u.abort(ctx, fmt.Errorf("%s %s: %s: %w", kind, f.Name, id, err))
		}
		if undoFn != nil {
			u.push(undoWhat+" "+id, func(ctx context.Context) error { return undoFn(ctx, t, id) })
		}
	}
	return u.run, nil
}

func kill(ctx context.Context, t targets.Target, id string) error   { return t.Kill(ctx, id) }
func start(ctx context.Context, t targets.Target, id string) error  { return t.Start(ctx, id) }
func stop(ctx context.Context, t targets.Target, id string) error   { return t.Stop(ctx, id) }
func pause(ctx context.Context, t targets.Target, id string) error  { return t.Pause(ctx, id) }
func resume(ctx context.Context, t targets.Target, id string) error { return t.Resume(ctx, id) }

func isolate(ctx context.Context, t targets.Target, id string) error {
	return t.(targets.Isolator).Isolate(ctx, id)
}

func rejoin(ctx context.Context, t targets.Target, id string) error {
	return t.(targets.Isolator).Rejoin(ctx, id)
}
