package main

import (
	"os"
	"os/exec"
	"testing"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/chaosctl/chaosctl/experiments/report"
)

// needPython skips (fails where CHAOSCTL_REQUIRE_INTEGRATION=1) without
// python3, whose http.server plays the user's service.
func needPython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		if os.Getenv("CHAOSCTL_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("CHAOSCTL_REQUIRE_INTEGRATION=1 but python3 is missing: %v", err)
		}
		t.Skipf("python3 is missing: %v", err)
	}
}

func TestExternalHTTPExamplePasses(t *testing.T) {
	needPython(t)
	res, stdout, stderr, code := runExperiment(t, "../../examples/external-http.yaml")
	if code != 0 || res == nil || res.Verdict != report.Pass || res.Runtime != "external" {
		t.Fatalf("exit %d, result %+v\n%s\n%s", code, res, stdout, tail(stderr, 20))
	}
	if res.Workload.Requests == 0 || res.Workload.LatencyP99 < 0.3 {
		t.Fatalf("workload %+v: want requests and the 300ms proxy latency in the p99", res.Workload)
	}
}

func TestExternalOutageFailsTheAvailabilitySLOPerRequestClass(t *testing.T) {
	needPython(t)
	res, stdout, stderr, code := runExperiment(t, "testdata/external-outage.yaml")
	if code != 1 || res == nil || res.Verdict != report.Fail {
		t.Fatalf("exit %d, result %+v\n%s\n%s", code, res, stdout, tail(stderr, 20))
	}
	if len(res.SLOs) != 2 {
		t.Fatalf("SLOs %+v", res.SLOs)
	}
	for _, s := range res.SLOs {
		if s.Verdict != report.Fail || s.Bad == 0 || s.Total == 0 {
			t.Errorf("SLO %s: %+v, want a failed budget with bad events", s.Name, s)
		}
	}
	// Weights 3:1 split the requests.
	if h, m := res.SLOs[0].Total, res.SLOs[1].Total; h < 2*m {
		t.Errorf("home %d vs missing %d requests, want about 3:1", h, m)
	}
}

// needRedis skips (fails where CHAOSCTL_REQUIRE_INTEGRATION=1) without
// Debian's redis-server.
func needRedis(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CHAOSCTL_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("CHAOSCTL_REQUIRE_INTEGRATION=1 but redis-server is missing (apt-get install redis-server): %v", err)
		}
		t.Skipf("redis-server is missing (apt-get install redis-server): %v", err)
	}
}

// A real Redis behind a proxy: latency and a 2 s partition of its clients,
// judged by SLOs and both consistency checks.
func TestRedisExamplePasses(t *testing.T) {
	needRedis(t)
	res, stdout, stderr, code := runExperiment(t, "../../examples/external-redis.yaml")
	if code != 0 || res == nil || res.Verdict != report.Pass {
		t.Fatalf("exit %d, result %+v\n%s\n%s", code, res, stdout, tail(stderr, 20))
	}
	if res.Workload.Errors < 100 {
		t.Errorf("%d errors; the 2 s partition at 100 requests/s should cost about 200", res.Workload.Errors)
	}
	for _, c := range res.Checks {
		if c.Verdict != report.Pass || c.Operations == 0 {
			t.Errorf("check %s: %+v", c.Name, c)
		}
	}
}

// Redis without persistence promises no durability across a crash, and the
// checker must show what it lost.
func TestRedisCrashWithoutPersistenceShowsLostWrites(t *testing.T) {
	needRedis(t)
	res, stdout, stderr, code := runExperiment(t, "testdata/redis-crash.yaml")
	if code != 1 || res == nil || res.Verdict != report.Fail || len(res.Checks) != 1 {
		t.Fatalf("exit %d, result %+v\n%s\n%s", code, res, stdout, tail(stderr, 20))
	}
	if c := res.Checks[0]; c.Name != "no-lost-writes" || c.Anomalies == 0 {
		t.Fatalf("check %+v: want lost writes", c)
	}
}

// An existing toxiproxy server of the user's (toxiproxy's own, without a
// token; `chaosctl proxy` requires the run's token): the
// run's proxies are created there and deleted at the end; a proxy that is
// not the run's survives.
func TestExternalTargetUsesAnExistingToxiproxyServer(t *testing.T) {
	needPython(t)
	client := toxiclient.NewClient("http://" + userToxiproxy(t, "127.0.0.1:18474"))
	if _, err := client.CreateProxy("someone-else", "127.0.0.1:0", "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	res, stdout, stderr, code := runExperiment(t, "testdata/external-toxiproxy.yaml")
	if code != 0 || res == nil || res.Verdict != report.Pass || res.Workload.LatencyP99 < 0.1 {
		t.Fatalf("exit %d, result %+v\n%s\n%s", code, res, stdout, tail(stderr, 20))
	}
	proxies, err := client.Proxies()
	if err != nil {
		t.Fatal(err)
	}
	if len(proxies) != 1 || proxies["someone-else"] == nil {
		t.Fatalf("proxies left on the server: %v; want only someone-else's", proxies)
	}
}
