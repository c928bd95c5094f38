package httpcall_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chaosctl/chaosctl/internal/httpcall"
)

func TestRequireToken(t *testing.T) {
	refused := 0
	h := httpcall.RequireToken("tok", func() { refused++ }, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	for _, c := range []struct {
		set  func(*http.Request)
		want int
	}{
		{func(*http.Request) {}, 401},
		{func(r *http.Request) { r.Header.Set("Authorization", "Bearer tok") }, 200},
		{func(r *http.Request) { r.Header.Set("Authorization", "Bearer tok2") }, 401},
		{func(r *http.Request) { r.Header.Set("Authorization", "tok") }, 401},
		{func(r *http.Request) { r.SetBasicAuth("chaosctl", "tok") }, 200},
		{func(r *http.Request) { r.SetBasicAuth("tok", "") }, 401},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		c.set(r)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("Authorization %q: %d, want %d", r.Header.Get("Authorization"), w.Code, c.want)
		}
	}
	if refused != 4 {
		t.Fatalf("refused counted %d, want 4", refused)
	}
	// An empty token admits nobody.
	w := httptest.NewRecorder()
	httpcall.RequireToken("", nil, http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != 401 {
		t.Fatalf("empty token: %d", w.Code)
	}
}
