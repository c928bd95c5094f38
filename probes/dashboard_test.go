package probes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/probes"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
	"github.com/chaosctl/chaosctl/targets/processdemo"
)

// dashboardFile is the Grafana dashboard of the demo cluster.
var dashboardFile = filepath.Join("..", "examples", "grafana", "demo-cluster.json")

// dashboardVars are the values the test gives the dashboard's variables:
// what Grafana sends for "All" (each variable's allValue) and a rate
// interval of four scrape intervals.
var dashboardVars = map[string]string{
	"job": ".+", "member": ".+", "instance": ".+",
	"__rate_interval": "5s", "__interval": "1s", "__range": "60s",
}

// eventOnly are the metrics of counter and gauge vectors whose series
// exist only once the event they count happened (a labelled series is
// exported from its first observation). The test's cluster runs with the
// cache on and sees one store node killed and restarted, so most series
// appear; these need a fault or a setting the test does not give (hedging,
// write-behind, a quorum lost, a corrupt fault, a bad token, ...). Their
// queries must still parse and run.
var eventOnly = map[string]string{
	"chaosdemo_deadline_dropped_total":             "only when a request's deadline passed before it was worked on",
	"chaosdemo_bulkhead_rejected_total":            "only when a peer's bulkhead is full",
	"chaosdemo_body_refused_total":                 "only for a slow, large or over-budget body",
	"chaosdemo_unauthorized_total":                 "only for a wrong token",
	"chaosdemo_breaker_trips_held_total":           "only when breaker.maxOpen is used up",
	"chaosdemo_breaker_failures_spared_total":      "only when a peer blames its replicas",
	"chaosdemo_breaker_failures_stalled_total":     "only when the gateway itself stalls",
	"chaosdemo_hedged_reads_total":                 "hedging is off by default",
	"chaosdemo_writebehind_flushes_total":          "only with cache.writeMode: behind",
	"chaosdemo_quorum_failures_total":              "only when a quorum is lost",
	"chaosdemo_gateway_writes_indeterminate_total": "only for a write whose attempt timed out",
	"chaosdemo_corruptions_total":                  "only with a corrupt fault",
	"chaosdemo_hints_total":                        "only when a home replica is unreachable during a write",
	"chaosdemo_replica_suspected":                  "only once a replica call failed",
	"chaosdemo_retries_total":                      "only once an attempt failed",
}

// dashboardQuery is one PromQL expression of the dashboard.
type dashboardQuery struct {
	where string // panel title and refId, or the variable
	expr  string // variables substituted
}

// dashboardQueries reads every PromQL expression of the dashboard: each
// panel target's expr (rows' panels included) and each query variable's
// label_values(SELECTOR, LABEL), which the test asks as count by (LABEL)
// (SELECTOR).
func dashboardQueries(t *testing.T) (panels, variables []dashboardQuery) {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	}
	type panel struct {
		Title   string   `json:"title"`
		Type    string   `json:"type"`
		Targets []target `json:"targets"`
		Panels  []panel  `json:"panels"`
	}
	var dash struct {
		UID        string  `json:"uid"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if dash.UID == "" {
		t.Errorf("%s: no uid", dashboardFile)
	}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				panels = append(panels, dashboardQuery{where: fmt.Sprintf("panel %q %s", p.Title, tg.RefID), expr: substitute(t, tg.Expr)})
			}
		}
	}
	walk(dash.Panels)
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(string)
		if m, ok := v.Query.(map[string]any); ok {
			q, _ = m["query"].(string)
		}
		m := labelValues.FindStringSubmatch(q)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(SELECTOR, LABEL)", v.Name, q)
			continue
		}
		variables = append(variables, dashboardQuery{where: "variable " + v.Name, expr: substitute(t, fmt.Sprintf("count by (%s) (%s)", m[2], m[1]))})
	}
	return panels, variables
}

// substitute replaces the dashboard's variables ($name and ${name}); a
// variable the test does not know fails it.
func substitute(t *testing.T, expr string) string {
	t.Helper()
	re := regexp.MustCompile(`\$\{?([a-zA-Z_][a-zA-Z0-9_]*)\}?`)
	return re.ReplaceAllStringFunc(expr, func(m string) string {
		name := re.FindStringSubmatch(m)[1]
		v, ok := dashboardVars[name]
		if !ok {
			t.Errorf("expression %q uses variable $%s, which the test does not substitute", expr, name)
		}
		return v
	})
}

// rangeQuery asks Prometheus what Grafana asks for a time series panel: a
// range query over the last minute with a 2 s step. It returns the number
// of series, or the error Prometheus gave (a parse error included).
func rangeQuery(ctx context.Context, base, expr string) (int, error) {
	end := time.Now()
	q := url.Values{"query": {expr}, "start": {strconv.FormatInt(end.Add(-time.Minute).Unix(), 10)},
		"end": {strconv.FormatInt(end.Unix(), 10)}, "step": {"2"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/query_range", strings.NewReader(q.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return 0, err
	}
	var out struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Warnings  []string
		Data      struct {
			ResultType string            `json:"resultType"`
			Result     []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return 0, fmt.Errorf("status %d: %v: %.200s", resp.StatusCode, err, body)
	}
	if out.Status != "success" {
		return 0, fmt.Errorf("%s: %s", out.ErrorType, out.Error)
	}
	if out.Data.ResultType != "matrix" {
		return 0, fmt.Errorf("result type %s, want matrix", out.Data.ResultType)
	}
	return len(out.Data.Result), nil
}

// TestGrafanaDashboardQueries runs every PromQL expression of
// examples/grafana/demo-cluster.json against a real Prometheus server
// scraping a real demo cluster (cache on) under load, with one store node
// killed and restarted meanwhile: each must parse and run, and each but
// those on event-only series must return data.
func TestGrafanaDashboardQueries(t *testing.T) {
	panels, variables := dashboardQueries(t)
	if len(panels) < 40 || len(variables) != 3 {
		t.Fatalf("the dashboard has %d panel queries and %d query variables; want at least 40 and 3 (job, member, instance)", len(panels), len(variables))
	}
	spec := demo.ClusterSpec{Nodes: 3, Gateways: 1, Cache: demo.CacheSpec{Policy: "lru"}}
	d := processtest.StartDemo(t, spec, processdemo.Options{Run: "dashboard", LogLevel: "warn"})
	var addrs []string
	for _, m := range d.Members() {
		addrs = append(addrs, m.Addr)
	}
	base := startPrometheus(t, addrs)
	driveTraffic(t, d.ClientAddrs(), 100)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	query := func(q string) float64 {
		v, err := probes.Query(ctx, base, q, time.Time{})
		if err != nil {
			return -1
		}
		return v
	}
	// Load first, then a fault: the gateway's breaker for n1 opens while n1
	// is down, and n1 catches up from its peers once it is back.
	testkit.Eventually(t, 60*time.Second, "Prometheus sees the gateway's requests", func() bool {
		return query(`sum(rate(chaosdemo_requests_total{member="g1"}[5s]))`) > 10
	})
	if err := d.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 60*time.Second, "a breaker of the gateway opens while n1 is down", func() bool {
		return query(`max(max_over_time(chaosdemo_breaker_state[1m]))`) == 2
	})
	if err := d.Start(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 60*time.Second, "n1 catches up after its restart", func() bool {
		return query(`sum(chaosdemo_resyncs_total)`) >= 1
	})

	required := func(q dashboardQuery) bool {
		for metric := range eventOnly {
			if strings.Contains(q.expr, metric) {
				return false
			}
		}
		return true
	}
	var empty []string
	deadline := time.Now().Add(60 * time.Second)
	for {
		empty = empty[:0]
		for _, q := range append(append([]dashboardQuery(nil), variables...), panels...) {
			n, err := rangeQuery(ctx, base, q.expr)
			if err != nil {
				t.Fatalf("%s: %s: %v", q.where, q.expr, err)
			}
			if n == 0 && required(q) {
				empty = append(empty, q.where+": "+q.expr)
			}
		}
		if len(empty) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second) // polling a condition with a deadline
	}
	sort.Strings(empty)
	if len(empty) > 0 {
		t.Errorf("%d of %d queries returned no data after load and a crash:\n%s", len(empty), len(panels)+len(variables), strings.Join(empty, "\n"))
	}
	optional := 0
	for _, q := range panels {
		if !required(q) {
			optional++
		}
	}
	t.Logf("%d panel queries and %d variable queries ran; %d must have had data, %d on event-only series may be empty",
		len(panels), len(variables), len(panels)-optional, optional)
}
