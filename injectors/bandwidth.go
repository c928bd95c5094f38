package injectors

import (
	"context"
	"fmt"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/chaosctl/chaosctl/targets"
)

// MinBytesPerSecond is the lowest bandwidth toxiproxy can set (1 KB/s).
const MinBytesPerSecond = 1000

// Bandwidth limits each direction of the selected links to BytesPerSecond:
// a toxiproxy `bandwidth` toxic on both streams.
type Bandwidth struct{ linkVerifier }

// Kind implements Injector.
func (Bandwidth) Kind() string { return KindBandwidth }

// Capabilities implements CapableInjector.
func (Bandwidth) Capabilities() Capabilities { return Capabilities{Links: true} }

// Inject implements Injector.
func (Bandwidth) Inject(ctx context.Context, t targets.Target, f Fault) (Revert, error) {
	if err := check(f, KindBandwidth); err != nil {
		return nil, err
	}
	if f.BytesPerSecond < MinBytesPerSecond {
		return nil, fmt.Errorf("bandwidth %s: rate %d B/s: must be at least %d B/s (toxiproxy counts whole KB/s)", f.Name, f.BytesPerSecond, MinBytesPerSecond)
	}
	// Toxiproxy's rate is in KB/s of 1000 bytes (it sleeps len/rate ms per chunk).
	kbps := (f.BytesPerSecond + 500) / 1000
	return injectToxic(ctx, t, f, KindBandwidth, toxic{
		typ:     "bandwidth",
		streams: bothStreams,
		attrs:   toxiclient.Attributes{"rate": kbps},
	})
}
