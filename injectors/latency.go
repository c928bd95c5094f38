package injectors

import (
	"context"
	"fmt"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/chaosctl/chaosctl/targets"
)

// MinDelay is the shortest latency toxiproxy can add (it counts whole
// milliseconds); the jitter may not exceed the delay.
const MinDelay = time.Millisecond

// Latency delays the answers on the selected links: a toxiproxy `latency`
// toxic on each link's downstream stream, so every request-response exchange
// through the link takes Delay ± Jitter longer (connections already open
// included).
type Latency struct{ linkVerifier }

// Kind implements Injector.
func (Latency) Kind() string { return KindLatency }

// Capabilities implements CapableInjector.
func (Latency) Capabilities() Capabilities { return Capabilities{Links: true} }

// Inject implements Injector.
func (Latency) Inject(ctx context.Context, t targets.Target, f Fault) (Revert, error) {
	if err := check(f, KindLatency); err != nil {
		return nil, err
	}
	delay, jitter := f.Delay.Round(time.Millisecond), f.Jitter.Round(time.Millisecond)
	if delay < MinDelay {
		return nil, fmt.Errorf("latency %s: delay %s: must be at least %s (toxiproxy counts whole milliseconds)", f.Name, f.Delay, MinDelay)
	}
	if jitter < 0 || jitter > delay {
		return nil, fmt.Errorf("latency %s: jitter %s: must be between 0 and the delay %s", f.Name, f.Jitter, f.Delay)
	}
	return injectToxic(ctx, t, f, KindLatency, toxic{
		typ:     "latency",
		streams: []string{streamDown},
		attrs:   toxiclient.Attributes{"latency": delay.Milliseconds(), "jitter": jitter.Milliseconds()},
	})
}
