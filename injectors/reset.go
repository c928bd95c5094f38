package injectors

import (
	"context"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/chaosctl/chaosctl/targets"
)

// Reset resets the connections of the selected links: a toxiproxy
// `reset_peer` toxic (timeout 0) on both streams, so a connection is reset
// (TCP RST) as soon as data flows on it in either direction.
type Reset struct{ linkVerifier }

// Kind implements Injector.
func (Reset) Kind() string { return KindReset }

// Capabilities implements CapableInjector.
func (Reset) Capabilities() Capabilities { return Capabilities{Links: true} }

// Inject implements Injector.
func (Reset) Inject(ctx context.Context, t targets.Target, f Fault) (Revert, error) {
	if err := check(f, KindReset); err != nil {
		return nil, err
	}
	return injectToxic(ctx, t, f, KindReset, toxic{
		typ:     "reset_peer",
		streams: bothStreams,
		attrs:   toxiclient.Attributes{"timeout": 0},
	})
}
