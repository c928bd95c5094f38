package workload

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// Two request classes against a real server: stats are kept per class, the
// weights split the rate, and a class answered with the wrong status is bad.
func TestHTTPDriverKeepsStatsPerClass(t *testing.T) {
	var posts, bodies atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusOK)
		case "/create":
			posts.Add(1)
			if b, _ := io.ReadAll(r.Body); string(b) == `{"x":1}` && r.Header.Get("Content-Type") == "application/json" {
				bodies.Add(1)
			}
			w.WriteHeader(http.StatusCreated)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	classes := []HTTPClass{
		{Name: "home", URL: srv.URL + "/ok", Expect: 200},
		{Name: "create", Method: http.MethodPost, URL: srv.URL + "/create", Body: `{"x":1}`, Headers: map[string]string{"Content-Type": "application/json"}, Expect: 201},
		{Name: "broken", URL: srv.URL + "/broken"},
	}
	d, err := NewHTTPDriver(classes, NewHTTPClient(64))
	if err != nil {
		t.Fatal(err)
	}
	// The test is about per-class bookkeeping, not speed: a timeout far above
	// any scheduling delay keeps a busy machine from turning good answers into
	// timeouts.
	cfg := Config{Rate: 400, Duration: time.Second, Timeout: 20 * time.Second, ReadRatio: 1,
		Classes: []Class{{"home", 2}, {"create", 1}, {"broken", 1}}}
	sum, err := runWorkload(t, cfg, d, 1)
	if err != nil {
		t.Fatal(err)
	}
	c := sum.Measured.Classes
	if len(c) != 3 {
		t.Fatalf("classes: %v", c)
	}
	total := sum.Measured.All.Total
	if total != 400 || c["home"].Total+c["create"].Total+c["broken"].Total != total {
		t.Fatalf("totals: all %d, home %d create %d broken %d", total, c["home"].Total, c["create"].Total, c["broken"].Total)
	}
	// Weights 2:1:1 of 400, within sampling noise of a seeded draw.
	if h := c["home"].Total; h < 160 || h > 240 {
		t.Errorf("home got %d of 400, want about 200", h)
	}
	if c["home"].Bad() != 0 || c["create"].Bad() != 0 {
		t.Errorf("good classes have bad events: home %d (%+v) create %d (%+v)", c["home"].Bad(), c["home"].Errors, c["create"].Bad(), c["create"].Errors)
	}
	if b := c["broken"]; b.Bad() != b.Total || b.Errors.Total() == 0 {
		t.Errorf("broken: %d bad of %d", b.Bad(), b.Total)
	}
	if posts.Load() != c["create"].Total || bodies.Load() != posts.Load() {
		t.Errorf("server saw %d posts (%d with the body), the workload sent %d", posts.Load(), bodies.Load(), c["create"].Total)
	}
	// The same seed draws the same classes.
	again, err := runWorkload(t, cfg, d, 1)
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range again.Measured.Classes {
		if st.Total != c[name].Total {
			t.Errorf("class %s: %d then %d with the same seed", name, c[name].Total, st.Total)
		}
	}
}

func TestNewHTTPDriverRejectsBadClasses(t *testing.T) {
	for _, cs := range [][]HTTPClass{nil, {{Name: "", URL: "http://x/"}}, {{Name: "a", URL: "ftp://x/"}}, {{Name: "a", URL: "http://x/"}, {Name: "a", URL: "http://y/"}}} {
		if _, err := NewHTTPDriver(cs, http.DefaultClient); err == nil {
			t.Errorf("%v accepted", cs)
		}
	}
}
