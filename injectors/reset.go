package injectors

import (
	"context"
	"fmt"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/chaosctl/chaosctl/targets"
)

// MaxResetTimeout bounds a reset's timeout. Toxiproxy's reset_peer sleeps
// the timeout without heeding an interrupt, so removing the toxic (the
// revert) waits for every connection it holds; the toxiproxy client gives up
// on a call after 30s, and the revert must finish well within that.
const MaxResetTimeout = 10 * time.Second

// Reset resets the connections of the selected links: a toxiproxy
// `reset_peer` toxic on both streams. A connection's first data in either
// direction is dropped, and the connection is reset (TCP RST) ResetTimeout
// later: at once by default, so no data passes either way.
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
	timeout := f.ResetTimeout.Round(time.Millisecond)
	if timeout < 0 || timeout > MaxResetTimeout {
		return nil, fmt.Errorf("reset %s: timeout %s: must be between 0 and %s", f.Name, f.ResetTimeout, MaxResetTimeout)
	}
	return injectToxic(ctx, t, f, KindReset, toxic{
		typ:     "reset_peer",
		streams: bothStreams,
		attrs:   toxiclient.Attributes{"timeout": timeout.Milliseconds()},
	})
}
