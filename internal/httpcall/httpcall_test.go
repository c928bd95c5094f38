package httpcall_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/chaosctl/chaosctl/internal/httpcall"
)

// TestSendAndStatus checks the request Send makes (token, JSON body and its
// type) and the errors it returns; Status only reports the code.
func TestSendAndStatus(t *testing.T) {
	type seen struct{ auth, ctype, body string }
	requests := make(chan seen, 4)
	var code atomic.Int32
	code.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		requests <- seen{r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)}
		w.WriteHeader(int(code.Load()))
		_, _ = io.WriteString(w, " answer\n")
	}))
	defer srv.Close()
	ctx := context.Background()

	resp, err := httpcall.Send(ctx, srv.Client(), http.MethodPost, srv.URL, "tok", map[string]int{"n": 7}, "call")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := <-requests, (seen{"Bearer tok", "application/json", `{"n":7}`}); got != want {
		t.Fatalf("request %+v, want %+v", got, want)
	}

	code.Store(http.StatusForbidden)
	if _, err := httpcall.Send(ctx, srv.Client(), http.MethodGet, srv.URL, "tok", nil, "call"); err == nil || err.Error() != "call: status 403: answer" {
		t.Fatalf("err = %v", err)
	}
	if got := <-requests; got.ctype != "" || got.body != "" {
		t.Fatalf("request without a body %+v", got)
	}
	if c, err := httpcall.Status(ctx, srv.Client(), srv.URL); err != nil || c != http.StatusForbidden {
		t.Fatalf("Status = %d, %v", c, err)
	}
}
