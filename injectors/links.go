package injectors

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// Toxiproxy streams: upstream carries what the caller sends, downstream what
// it receives.
const (
	streamUp   = "upstream"
	streamDown = "downstream"
)

var bothStreams = []string{streamUp, streamDown}

// ToxicName is the name of the toxic a fault adds on one stream of a link's
// proxy. It carries the fault's name, so a revert removes exactly its own
// toxics and two faults on one link do not collide.
func ToxicName(fault, stream string) string {
	return faultplane.NamePrefix + fault + "-" + stream
}

// resolveLinks returns the plane and the links f acts on: f.Links, or every
// link of the plane from or to one of f.Targets. Every link must have a proxy.
func resolveLinks(t targets.Target, f Fault, kind string) (*faultplane.Plane, []faultplane.Link, error) {
	plane := t.Plane()
	if plane == nil {
		return nil, nil, fmt.Errorf("%s %s: the %s target has no fault plane: %w", kind, f.Name, t.Runtime(), targets.ErrUnsupported)
	}
	var links []faultplane.Link
	if len(f.Links) > 0 {
		for _, l := range f.Links {
			if !slices.Contains(links, l) {
				links = append(links, l)
			}
		}
	} else {
		for _, l := range plane.Links() {
			if slices.Contains(f.Targets, l.From) || slices.Contains(f.Targets, l.To) {
				links = append(links, l)
			}
		}
	}
	if len(links) == 0 {
		return nil, nil, fmt.Errorf("%s %s: no link to act on (links %v, targets %v)", kind, f.Name, f.Links, f.Targets)
	}
	for _, l := range links {
		if plane.Proxy(l) == nil {
			return nil, nil, fmt.Errorf("%s %s: the fault plane has no proxy for link %s", kind, f.Name, l)
		}
	}
	return plane, links, nil
}

// toxic is what a link fault adds on each selected link.
type toxic struct {
	typ     string // toxiproxy toxic type
	streams []string
	attrs   toxiclient.Attributes
}

// injectToxic adds tx on every stream of every link of f; on failure it
// removes the toxics it added.
func injectToxic(ctx context.Context, t targets.Target, f Fault, kind string, tx toxic) (Revert, error) {
	plane, links, err := resolveLinks(t, f, kind)
	if err != nil {
		return nil, err
	}
	u := &undo{}
	for _, l := range links {
		px := plane.Proxy(l)
		for _, stream := range tx.streams {
			name := ToxicName(f.Name, stream)
			if err := ctx.Err(); err != nil {
				return nil, u.abort(ctx, fmt.Errorf("%s %s: add toxic %s on %s: %w", kind, f.Name, name, l, err))
			}
			// The toxiproxy client takes no context; its own timeout bounds each call.
			if _, err := px.AddToxic(name, tx.typ, stream, 1, tx.attrs); err != nil {
				return nil, u.abort(ctx, fmt.Errorf("%s %s: add %s toxic %s on %s: %w", kind, f.Name, tx.typ, name, l, err))
			}
			u.push(fmt.Sprintf("remove toxic %s from %s", name, l), func(context.Context) error {
				return removeToxic(px, name)
			})
		}
	}
	return u.run, nil
}

// removeToxic removes a toxic; one that is already gone (or whose proxy is)
// counts as removed.
func removeToxic(px *toxiclient.Proxy, name string) error {
	if err := px.RemoveToxic(name); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

func isNotFound(err error) bool {
	var apiErr *toxiclient.ApiError
	return errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound
}
