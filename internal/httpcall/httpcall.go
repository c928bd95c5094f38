// Package httpcall sends chaosctl's small HTTP requests to the members it
// runs: the authorised JSON requests of control endpoints (a demo member's,
// a pod supervisor's) and the GETs of readiness checks.
package httpcall

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// NewRequest is a request of method to url, authorised by a bearer token,
// with body as JSON when it is not nil.
func NewRequest(ctx context.Context, method, url, token string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// Send sends the request NewRequest makes and returns the response when it
// is 200 OK; the caller decodes and closes its body. what names the call in
// its errors: "what: <transport error>" or "what: status N: <answer's
// start>".
func Send(ctx context.Context, hc *http.Client, method, url, token string, body any, what string) (*http.Response, error) {
	req, err := NewRequest(ctx, method, url, token, body)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("%s: status %d: %s", what, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return resp, nil
}

// Status GETs url and returns the answer's status code, its body read (up
// to 4 KiB) and closed.
func Status(ctx context.Context, hc *http.Client, url string) (int, error) {
	code, _, err := StatusBody(ctx, hc, url)
	return code, err
}

// StatusBody is Status that also returns the body's first line (at most
// 200 bytes, trimmed): what a readiness endpoint says when it refuses.
func StatusBody(ctx context.Context, hc *http.Client, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	line, _, _ := strings.Cut(string(body), "\n")
	if len(line) > 200 {
		line = line[:200]
	}
	return resp.StatusCode, strings.TrimSpace(line), nil
}
