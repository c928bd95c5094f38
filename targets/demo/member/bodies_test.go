package member

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/internal/demotest"
	"github.com/chaosctl/chaosctl/targets/demo/metrics"
)

func TestBodiesAreReadFirstAndBounded(t *testing.T) {
	m := metrics.New("n1")
	b := newBodies(time.Second, 64, m)
	var got string
	h := b.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got = string(body)
		if free := b.budget.free; free != 64-int64(len(body)) {
			t.Errorf("budget free while the request is served = %d, want %d", free, 64-len(body))
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	serve := func(r *http.Request) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	if w := serve(httptest.NewRequest(http.MethodPut, api.KVPrefix+"k", strings.NewReader("value"))); w.Code != http.StatusNoContent || got != "value" {
		t.Fatalf("PUT of 5 bytes = %d, handler read %q; want 204 and the body", w.Code, got)
	}
	if b.budget.free != 64 {
		t.Fatalf("budget free after the request = %d, want all 64 back", b.budget.free)
	}
	// More than the budget of bodies being received: 503, nothing reaches
	// the handler.
	got = ""
	if w := serve(httptest.NewRequest(http.MethodPut, api.KVPrefix+"k", strings.NewReader(strings.Repeat("x", 65)))); w.Code != http.StatusServiceUnavailable || got != "" {
		t.Fatalf("PUT of 65 bytes with a 64-byte budget = %d (handler saw %q), want 503", w.Code, got)
	}
	// A declared length above the largest body: 413 without reading it.
	r := httptest.NewRequest(http.MethodPut, api.KVPrefix+"k", strings.NewReader("x"))
	r.ContentLength = maxBody + 1
	if w := serve(r); w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("PUT declaring %d bytes = %d, want 413", r.ContentLength, w.Code)
	}
	// Chunked (no length) and over the limit: 413 once it is.
	big := newBodies(time.Second, 4*maxBody, m).wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("an oversized chunked body reached the handler")
	}))
	r = httptest.NewRequest(http.MethodPut, api.KVPrefix+"k", strings.NewReader(strings.Repeat("x", maxBody+10)))
	r.ContentLength = -1
	w := httptest.NewRecorder()
	big.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked PUT of more than %d bytes = %d, want 413", maxBody, w.Code)
	}
	for reason, want := range map[string]float64{"budget": 1, "too_large": 2, "timeout": 0} {
		if v := demotest.Value(t, m.BodyRefused.WithLabelValues(reason)); v != want {
			t.Errorf("chaosdemo_body_refused_total{reason=%s} = %v, want %v", reason, v, want)
		}
	}
}
