package supervisor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
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
	req, err := http.NewRequestWithContext(ctx, method, "http://"+c.Addr+path, nil)
	if err != nil {
		return Status{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := hc.Do(req)
	if err != nil {
		return Status{}, fmt.Errorf("supervisor %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return Status{}, fmt.Errorf("supervisor %s %s: status %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(msg))
	}
	var st Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return Status{}, fmt.Errorf("supervisor %s %s: decode: %w", method, path, err)
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
