package injectors

import (
	"context"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/chaosctl/chaosctl/targets"
)

// Blackhole stops the data on the selected links while connections stay
// open: a toxiproxy `timeout` toxic with timeout 0 on both streams. Data sent
// meanwhile is lost; callers time out.
type Blackhole struct{ linkVerifier }

// Kind implements Injector.
func (Blackhole) Kind() string { return KindBlackhole }

// Capabilities implements CapableInjector.
func (Blackhole) Capabilities() Capabilities { return Capabilities{Links: true} }

// Inject implements Injector.
func (Blackhole) Inject(ctx context.Context, t targets.Target, f Fault) (Revert, error) {
	if err := check(f, KindBlackhole); err != nil {
		return nil, err
	}
	return injectToxic(ctx, t, f, KindBlackhole, dropToxic)
}

// dropToxic swallows every byte on both streams and never closes the
// connection.
var dropToxic = toxic{
	typ:     "timeout",
	streams: bothStreams,
	attrs:   toxiclient.Attributes{"timeout": 0},
}
