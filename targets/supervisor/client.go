package supervisor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/chaosctl/chaosctl/internal/httpcall"
)

// Client calls a supervisor's control API.
type Client struct {
	Addr  string // host:port
	Token string
	HTTP  *http.Client // nil: a client with a 30 s timeout
}

func (c *Client) do(ctx context.Context, method, path string) (Status, error) {
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	what := fmt.Sprintf("supervisor %s %s", method, path)
	resp, err := httpcall.Send(ctx, hc, method, "http://"+c.Addr+path, c.Token, nil, what)
	if err != nil {
		return Status{}, err
	}
	defer resp.Body.Close()
	var st Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return Status{}, fmt.Errorf("%s: decode: %w", what, err)
	}
	return st, nil
}

// Kill SIGKILLs the member and returns once it is reaped.
func (c *Client) Kill(ctx context.Context) (Status, error) {
	return c.do(ctx, http.MethodPost, "/v1/kill")
}

// Stop sends SIGTERM, then SIGKILL after grace.
func (c *Client) Stop(ctx context.Context, grace time.Duration) (Status, error) {
	return c.do(ctx, http.MethodPost, "/v1/stop?grace="+grace.String())
}

// Start starts the member unless it runs.
func (c *Client) Start(ctx context.Context) (Status, error) {
	return c.do(ctx, http.MethodPost, "/v1/start")
}

// Pause SIGSTOPs the member and returns once it is stopped.
func (c *Client) Pause(ctx context.Context) (Status, error) {
	return c.do(ctx, http.MethodPost, "/v1/pause")
}

// Resume SIGCONTs the member.
func (c *Client) Resume(ctx context.Context) (Status, error) {
	return c.do(ctx, http.MethodPost, "/v1/resume")
}

// Status reads the member's state.
func (c *Client) Status(ctx context.Context) (Status, error) {
	return c.do(ctx, http.MethodGet, "/v1/status")
}
