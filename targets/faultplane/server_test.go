package faultplane_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/internal/deadman"
	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// forge sends a request without the token (or with a wrong one) to the
// plane's API and returns the status.
var forge = testkit.HTTPStatus

// tokenRefusals checks that requests without the run's token are refused
// with 401 and change nothing, and that the plane's own client works.
func tokenRefusals(t *testing.T, plane *faultplane.Plane, link faultplane.Link) {
	t.Helper()
	name := faultplane.ProxyName(run, link)
	toxic := `{"name":"evil","type":"latency","stream":"downstream","attributes":{"latency":5000}}`
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + plane.Token() + "x", "Basic Y2hhb3NjdGw6d3Jvbmc="} {
		for _, r := range []struct{ method, path, body string }{
			{http.MethodPost, "/proxies/" + name + "/toxics", toxic},
			{http.MethodPost, "/proxies", `{"name":"evil","listen":"127.0.0.1:0","upstream":"127.0.0.1:1"}`},
			{http.MethodPost, "/reset", ""},
			{http.MethodGet, "/proxies", ""},
			{http.MethodGet, "/proxies/" + name, ""},
			{http.MethodDelete, "/proxies/" + name, ""},
			{http.MethodPost, deadman.Path, `{"ttl":"1s"}`},
		} {
			if code := forge(t, r.method, plane.URL()+r.path, auth, r.body); code != http.StatusUnauthorized {
				t.Errorf("%s %s with Authorization %q: status %d, want 401", r.method, r.path, auth, code)
			}
		}
	}
	// Only the version answers without the token (readiness probes).
	if code := forge(t, http.MethodGet, plane.URL()+"/version", "", ""); code != http.StatusOK {
		t.Errorf("GET /version without the token: %d, want 200", code)
	}
	all, err := plane.Client().Proxies()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := all[name]; !ok {
		t.Fatalf("a forged DELETE removed %s", name)
	}
	for n, px := range all {
		if n == "evil" || len(px.ActiveToxics) != 0 {
			t.Fatalf("after forged requests: proxies %v, %s has toxics %v; want no new proxy, no toxic", keys(all), n, px.ActiveToxics)
		}
	}
}

func keys(m map[string]*toxiclient.Proxy) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The embedded plane's API requires its token: a forged request is 401 and
// adds nothing, however it is dressed.
func TestEmbeddedPlaneRequiresTheToken(t *testing.T) {
	plane := startPlane(t)
	if plane.Token() == "" {
		t.Fatal("an embedded plane has no token")
	}
	link := faultplane.Link{From: "n1", To: "n2"}
	if _, err := plane.AddProxy(link, "127.0.0.1:0", startGreeter(t, "n2")); err != nil {
		t.Fatal(err)
	}
	tokenRefusals(t, plane, link)
	// The counter of refusals is behind the token too.
	resp, err := http.Get(plane.URL() + faultplane.MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET %s without the token: %d", faultplane.MetricsPath, resp.StatusCode)
	}
	if n, err := strconv.Atoi(metric(t, plane.URL(), plane.Token(), "chaosctl_plane_refused_requests_total")); err != nil || n < 28 {
		t.Fatalf("refused requests counted %v, want at least 28", n)
	}
}

// metric reads one of the plane's own counters.
func metric(t *testing.T, url, token, name string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+faultplane.MetricsPath, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return v
		}
	}
	t.Fatalf("no %s in\n%s", name, b)
	return ""
}

// served starts chaosctl's served plane (what `chaosctl proxy` runs) on a
// loopback port and returns its URL.
func served(t *testing.T, token string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- faultplane.Serve(ctx, ln, token, quiet()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return "http://" + ln.Addr().String()
}

func quiet() *logrus.Entry {
	log := logrus.New()
	log.SetOutput(io.Discard)
	return logrus.NewEntry(log)
}

func TestServeRefusesToStartWithoutAToken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := faultplane.Serve(context.Background(), ln, "", quiet()); err == nil {
		t.Fatal("Serve without a token: no error")
	}
}

// A plane whose lease chaosctl stops renewing removes every toxic and
// enables every proxy by itself within the lease's TTL, and keeps serving.
func TestServedPlaneRevertsWhenTheLeaseLapses(t *testing.T) {
	const token, ttl = "s3cret", 600 * time.Millisecond
	url := served(t, token)
	n2 := startGreeter(t, "n2")

	// chaosctl drives the plane and keeps its lease...
	plane, err := faultplane.ConnectServed(context.Background(), run, url, faultplane.Access{Token: token, LeaseTTL: ttl}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer plane.Close()
	link, cut := faultplane.Link{From: "n1", To: "n2"}, faultplane.Link{From: "n3", To: "n2"}
	addr, err := plane.AddProxy(link, "127.0.0.1:0", n2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plane.AddProxy(cut, "127.0.0.1:0", n2); err != nil {
		t.Fatal(err)
	}
	tokenRefusals(t, plane, link) // a served plane refuses forged requests too
	if _, err := plane.Proxy(link).AddToxic("slow", "latency", "downstream", 1, toxiclient.Attributes{"latency": 2000}); err != nil {
		t.Fatal(err)
	}
	if err := plane.Disable(cut, "partition"); err != nil {
		t.Fatal(err)
	}
	// ...for several TTLs: the faults stay while it renews.
	start := time.Now()
	testkit.Eventually(t, 10*time.Second, "three TTLs pass", func() bool { return time.Since(start) > 3*ttl })
	if n := toxics(t, plane, link); n != 1 {
		t.Fatalf("the lease is renewed, yet the link has %d toxics", n)
	}

	// chaosctl dies: a second client takes over nothing, the lease lapses.
	faultplane.StopRenewingForTest(plane)
	lapsed := time.Now()
	testkit.Eventually(t, ttl+2*time.Second, "the toxic is removed after the lease lapses", func() bool { return toxics(t, plane, link) == 0 })
	testkit.Eventually(t, 2*time.Second, "the cut link is enabled again", func() bool {
		px, err := plane.Client().Proxy(faultplane.ProxyName(run, cut))
		return err == nil && px.Enabled
	})
	t.Logf("reverted %s after the last renewal could have been", time.Since(lapsed))
	greet(t, addr, "n2")
	if _, err := plane.Client().Version(); err != nil {
		t.Fatalf("the plane stopped serving after the lease lapsed: %v", err)
	}
}

func toxics(t *testing.T, plane *faultplane.Plane, l faultplane.Link) int {
	t.Helper()
	px, err := plane.Client().Proxy(faultplane.ProxyName(run, l))
	if err != nil {
		t.Fatal(err)
	}
	return len(px.ActiveToxics)
}

// greet checks that addr answers with name's greeting quickly.
func greet(t *testing.T, addr, name string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	b := make([]byte, len(name)+1)
	if _, err := io.ReadFull(c, b); err != nil || !bytes.Equal(b, []byte(name+"\n")) {
		t.Fatalf("through %s: %q, %v; want %q fast", addr, b, err, name)
	}
}

// A plane closed cleanly releases its lease: nothing is reverted later.
func TestCleanCloseReleasesTheLease(t *testing.T) {
	const token, ttl = "s3cret", 600 * time.Millisecond
	url := served(t, token)
	plane, err := faultplane.ConnectServed(context.Background(), run, url, faultplane.Access{Token: token, LeaseTTL: ttl}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if err := plane.Close(); err != nil {
		t.Fatal(err)
	}
	if got := expiries(t, url, token); got != "0" {
		t.Fatalf("lease expiries right after a clean close: %s", got)
	}
	start := time.Now()
	testkit.Eventually(t, 10*time.Second, "two TTLs pass", func() bool { return time.Since(start) > 2*ttl })
	if got := expiries(t, url, token); got != "0" {
		t.Fatalf("a released lease expired %s times", got)
	}
}

func expiries(t *testing.T, url, token string) string {
	t.Helper()
	return metric(t, url, token, "chaosctl_plane_lease_expiries_total")
}

// RevertRun ends the faults of one run's proxies on any toxiproxy (what
// `chaosctl halt` does to a run whose chaosctl is wedged) and leaves other
// runs' proxies alone.
func TestRevertRunEndsOneRunsFaults(t *testing.T) {
	plane := startPlane(t)
	n2 := startGreeter(t, "n2")
	slow, cut := faultplane.Link{From: "n1", To: "n2"}, faultplane.Link{From: "n3", To: "n2"}
	for _, l := range []faultplane.Link{slow, cut} {
		if _, err := plane.AddProxy(l, "127.0.0.1:0", n2); err != nil {
			t.Fatal(err)
		}
	}
	other, err := plane.Client().CreateProxy(faultplane.NamePrefix+"other-n1-n2", "127.0.0.1:0", n2)
	if err != nil {
		t.Fatal(err)
	}
	for _, px := range []*toxiclient.Proxy{plane.Proxy(slow), other} {
		if _, err := px.AddToxic("slow", "latency", "downstream", 1, toxiclient.Attributes{"latency": 2000}); err != nil {
			t.Fatal(err)
		}
	}
	if err := plane.Disable(cut, "partition"); err != nil {
		t.Fatal(err)
	}
	toxics, enabled, err := faultplane.RevertRun(faultplane.NewClient(plane.URL(), plane.Token()), run)
	if err != nil || toxics != 1 || enabled != 1 {
		t.Fatalf("RevertRun: %d toxics, %d enabled, %v; want 1, 1", toxics, enabled, err)
	}
	greet(t, plane.Addr(slow), "n2")
	greet(t, plane.Addr(cut), "n2")
	if px, err := plane.Client().Proxy(other.Name); err != nil || len(px.ActiveToxics) != 1 {
		t.Fatalf("another run's proxy: %+v, %v; want its toxic kept", px, err)
	}
	if _, _, err := faultplane.RevertRun(faultplane.NewClient(plane.URL(), "wrong"), run); err == nil {
		t.Fatal("RevertRun with a wrong token: no error")
	}
}
