package clusterctl

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/chaosctl/chaosctl/internal/httpcall"
)

// Client calls a running cluster's control API.
type Client struct {
	st   State
	http *http.Client
}

// NewClient returns a client of the cluster st describes.
func NewClient(st State) *Client {
	// Crash and restart wait for members to be ready again.
	return &Client{st: st, http: &http.Client{Timeout: faultOpTimeout + 10*time.Second}}
}

// Apply applies the fault req and returns it as applied.
func (c *Client) Apply(ctx context.Context, req Request) (FaultView, error) {
	var v FaultView
	return v, c.call(ctx, http.MethodPost, "/v1/faults", req, &v)
}

// Renew renews the lease of the held fault name (Request.Lease) and
// returns it as renewed. A fault that is no longer live, or whose lease
// lapsed, is an *InputError.
func (c *Client) Renew(ctx context.Context, name string) (FaultView, error) {
	var v FaultView
	return v, c.call(ctx, http.MethodPost, "/v1/faults/"+url.PathEscape(name)+"/lease", nil, &v)
}

// Heal reverts the live fault name.
func (c *Client) Heal(ctx context.Context, name string) (FaultsView, error) {
	var out FaultsView
	return out, c.call(ctx, http.MethodDelete, "/v1/faults/"+url.PathEscape(name), nil, &out)
}

// HealAll reverts every live fault.
func (c *Client) HealAll(ctx context.Context) (FaultsView, error) {
	var out FaultsView
	return out, c.call(ctx, http.MethodDelete, "/v1/faults", nil, &out)
}

// Faults lists the live faults and the recently ended ones.
func (c *Client) Faults(ctx context.Context) (FaultsView, error) {
	var out FaultsView
	return out, c.call(ctx, http.MethodGet, "/v1/faults", nil, &out)
}

// Status returns the members and the faults.
func (c *Client) Status(ctx context.Context) (StatusView, error) {
	var sv StatusView
	return sv, c.call(ctx, http.MethodGet, "/v1/status", nil, &sv)
}

// call sends body (when not nil) as JSON and decodes the answer into out.
// A refused or wrong input (400, 404, 409) is an *InputError; an
// unreachable cluster or a failure in it is another error.
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	req, err := httpcall.NewRequest(ctx, method, "http://"+c.st.Control+path, c.st.Token, body)
	if err != nil {
		return fmt.Errorf("control API of cluster %s: %w", c.st.Name, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the control API of cluster %s at %s (is `chaosctl cluster up` still running? %s): %w",
			c.st.Name, c.st.Control, noClusterHint, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("control API of cluster %s: read the answer: %w", c.st.Name, err)
	}
	if resp.StatusCode >= 300 {
		var eb errorBody
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &eb) == nil && eb.Error != "" {
			msg = eb.Error
		}
		err := fmt.Errorf("cluster %s: %s", c.st.Name, msg)
		switch resp.StatusCode {
		case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict:
			return inputError(err)
		default:
			return fmt.Errorf("%w (status %d)", err, resp.StatusCode)
		}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("control API of cluster %s: decode the answer: %w", c.st.Name, err)
	}
	return nil
}
