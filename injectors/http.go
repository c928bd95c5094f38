package injectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/chaosctl/chaosctl/internal/httpcall"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/faultplane/httptoxic"
)

// KindHTTP answers, delays or drops matching HTTP requests on links.
const KindHTTP = "http"

// HTTP actions (HTTPFault.Action).
const (
	HTTPAbort = httptoxic.ActionAbort
	HTTPDelay = httptoxic.ActionDelay
	HTTPDrop  = httptoxic.ActionDrop
)

// HTTPFault is what an http fault matches and does.
type HTTPFault struct {
	Method     string            `json:"method,omitempty"`
	PathPrefix string            `json:"pathPrefix,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	// Action is HTTPAbort (answer Status without reaching the upstream),
	// HTTPDelay (hold the request Latency) or HTTPDrop (close the
	// connection after the response's head).
	Action  string        `json:"action"`
	Status  int           `json:"status,omitempty"`
	Latency time.Duration `json:"latency,omitempty"`
	// Percent (0 < Percent ≤ 1) of the matching requests of each link are
	// acted on, drawn with the fault's Seed, or the first FirstN of them.
	Percent float64 `json:"percent,omitempty"`
	FirstN  int64   `json:"firstN,omitempty"`
}

// HTTP acts on HTTP/1.1 requests through the selected links: a pair of
// chaosctl's HTTP toxics (package httptoxic) on each link's proxy, the
// request half on the upstream stream and the response half on the
// downstream one. Only chaosctl's own fault planes have the toxic type; a
// user's toxiproxy server refuses it.
type HTTP struct {
	mu    sync.Mutex
	final map[string]map[faultplane.Link]httptoxic.Counts // counts read at each revert, by fault
}

// Kind implements Injector.
func (*HTTP) Kind() string { return KindHTTP }

// Capabilities implements CapableInjector.
func (*HTTP) Capabilities() Capabilities { return Capabilities{Links: true} }

// Inject implements Injector.
func (h *HTTP) Inject(ctx context.Context, t targets.Target, f Fault) (Revert, error) {
	if err := check(f, KindHTTP); err != nil {
		return nil, err
	}
	if f.HTTP == nil {
		return nil, fmt.Errorf("http %s: no http rule", f.Name)
	}
	rule := httpRule(f)
	rule.Role, rule.Pair = httptoxic.RoleRequest, "x"
	if err := rule.Validate(); err != nil {
		return nil, fmt.Errorf("http %s: %w", f.Name, err)
	}
	plane, links, err := resolveLinks(t, f, KindHTTP)
	if err != nil {
		return nil, err
	}
	nonce := httpcall.NewToken()[:12]
	u := &undo{}
	for _, l := range links {
		px := plane.Proxy(l)
		rule.Pair = fmt.Sprintf("%s %s→%s %s", f.Name, l.From, l.To, nonce)
		// The request half first: the response half, once added, pairs
		// the two halves of each new connection.
		for _, half := range []struct{ stream, role string }{{streamUp, httptoxic.RoleRequest}, {streamDown, httptoxic.RoleResponse}} {
			name := ToxicName(f.Name, half.stream)
			if err := ctx.Err(); err != nil {
				return nil, u.abort(ctx, fmt.Errorf("http %s: add toxic %s on %s: %w", f.Name, name, l, err))
			}
			rule.Role = half.role
			attrs, err := toAttributes(rule)
			if err != nil {
				return nil, u.abort(ctx, fmt.Errorf("http %s: %w", f.Name, err))
			}
			if _, err := px.AddToxic(name, httptoxic.Type, half.stream, 1, attrs); err != nil {
				if isBadRequest(err) {
					err = fmt.Errorf("%w (the HTTP toxic exists only in chaosctl's own fault plane, not in a user's toxiproxy server)", err)
				}
				return nil, u.abort(ctx, fmt.Errorf("http %s: add toxic %s on %s: %w", f.Name, name, l, err))
			}
			if half.role == httptoxic.RoleRequest {
				u.push(fmt.Sprintf("remove toxic %s from %s", name, l), func(context.Context) error {
					h.keepCounts(f.Name, l, px)
					return removeToxic(px, name)
				})
			} else {
				u.push(fmt.Sprintf("remove toxic %s from %s", name, l), func(context.Context) error {
					return removeToxic(px, name)
				})
			}
		}
	}
	return u.run, nil
}

func httpRule(f Fault) httptoxic.Rule {
	hf := f.HTTP
	return httptoxic.Rule{
		Fault: f.Name, Method: hf.Method, PathPrefix: hf.PathPrefix, Headers: hf.Headers,
		Action: hf.Action, Status: hf.Status, Latency: hf.Latency.Round(time.Millisecond).Milliseconds(),
		Percent: hf.Percent, FirstN: hf.FirstN, Seed: f.Seed,
	}
}

func toAttributes(r httptoxic.Rule) (toxiclient.Attributes, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	var a toxiclient.Attributes
	return a, json.Unmarshal(b, &a)
}

func isBadRequest(err error) bool {
	var apiErr *toxiclient.ApiError
	return errors.As(err, &apiErr) && apiErr.Status == 400
}

// httpCounts reads the counts of fault's request toxic on px.
func httpCounts(px *toxiclient.Proxy, fault string) (httptoxic.Counts, bool, error) {
	toxics, err := px.Toxics()
	if err != nil {
		return httptoxic.Counts{}, false, err
	}
	for _, tx := range toxics {
		if tx.Name != ToxicName(fault, streamUp) || tx.Type != httptoxic.Type {
			continue
		}
		b, err := json.Marshal(tx.Attributes)
		if err != nil {
			return httptoxic.Counts{}, true, err
		}
		var c httptoxic.Counts
		return c, true, json.Unmarshal(b, &c)
	}
	return httptoxic.Counts{}, false, nil
}

// keepCounts records the counts of a fault's toxic on l just before the
// revert removes it, for the revert's receipt.
func (h *HTTP) keepCounts(fault string, l faultplane.Link, px *toxiclient.Proxy) {
	c, ok, err := httpCounts(px, fault)
	if err != nil || !ok {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.final == nil {
		h.final = map[string]map[faultplane.Link]httptoxic.Counts{}
	}
	if h.final[fault] == nil {
		h.final[fault] = map[faultplane.Link]httptoxic.Counts{}
	}
	h.final[fault][l] = c
}

// finalCounts returns (and forgets) the counts kept at fault's revert.
func (h *HTTP) finalCounts(fault string) map[faultplane.Link]httptoxic.Counts {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.final[fault]
	delete(h.final, fault)
	return c
}
