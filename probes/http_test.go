package probes_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/probes"
)

func TestCheckHTTP(t *testing.T) {
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("fine")) })
	mux.HandleFunc("/created", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	// /hang answers only when the client gives up or the test ends.
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	dead := "http://" + freeAddr(t) + "/"

	tests := []struct {
		name       string
		url        string
		wantStatus int
		maxLatency time.Duration
		ok         bool
		status     int
		reason     string
	}{
		{name: "status and latency hold", url: srv.URL + "/ok", wantStatus: 200, maxLatency: 2 * time.Second, ok: true, status: 200, reason: "status 200 in"},
		{name: "any 2xx when no status is asked", url: srv.URL + "/created", ok: true, status: 204},
		{name: "status mismatch", url: srv.URL + "/broken", wantStatus: 200, maxLatency: 2 * time.Second, status: 500, reason: "status 500, want 200"},
		{name: "5xx is not a 2xx", url: srv.URL + "/broken", status: 500, reason: "want 2xx"},
		{name: "unknown path", url: srv.URL + "/nope", wantStatus: 200, status: 404, reason: "status 404"},
		{name: "too slow", url: srv.URL + "/hang", wantStatus: 200, maxLatency: 100 * time.Millisecond, reason: "no complete answer within maxLatency 100ms"},
		{name: "connection refused", url: dead, wantStatus: 200, maxLatency: 2 * time.Second, reason: "connection refused"},
		{name: "bad URL", url: "http://[::1", wantStatus: 200, reason: "bad probe URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := probes.CheckHTTP(context.Background(), tt.url, tt.wantStatus, tt.maxLatency)
			if got.OK != tt.ok || got.Status != tt.status || !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("CheckHTTP = %+v; want ok %v status %d reason containing %q", got, tt.ok, tt.status, tt.reason)
			}
			if tt.maxLatency > 0 && got.Latency > tt.maxLatency+time.Second {
				t.Errorf("latency %s: the probe waited far beyond maxLatency %s", got.Latency, tt.maxLatency)
			}
			if tt.ok && (got.Latency <= 0 || got.Latency > tt.maxLatency && tt.maxLatency > 0) {
				t.Errorf("latency %s of a passing probe not in (0, %s]", got.Latency, tt.maxLatency)
			}
		})
	}
}

func TestCheckHTTPStopsWithContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	got := probes.CheckHTTP(ctx, srv.URL, 200, 0)
	if got.OK || !strings.Contains(got.Reason, "probe interrupted") {
		t.Errorf("CheckHTTP = %+v; want a failed probe that says it was interrupted", got)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("CheckHTTP returned %s after its context ended", waited)
	}
}
