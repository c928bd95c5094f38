package httpcall_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chaosctl/chaosctl/internal/httpcall"
)

func TestSendAndStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		var in map[string]int
		if r.Body != nil {
			_ = json.NewDecoder(r.Body).Decode(&in)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"type": r.Header.Get("Content-Type"), "n": in["n"]})
	}))
	defer srv.Close()
	ctx := context.Background()
	resp, err := httpcall.Send(ctx, srv.Client(), http.MethodPost, srv.URL, "tok", map[string]int{"n": 7}, "call")
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Type string `json:"type"`
		N    int    `json:"n"`
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if err != nil || out.Type != "application/json" || out.N != 7 {
		t.Fatalf("answer %+v, %v", out, err)
	}
	if _, err := httpcall.Send(ctx, srv.Client(), http.MethodGet, srv.URL, "wrong", nil, "call"); err == nil || err.Error() != "call: status 401: bad token" {
		t.Fatalf("err = %v", err)
	}
	if code, err := httpcall.Status(ctx, srv.Client(), srv.URL); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("Status = %d, %v", code, err)
	}
}
