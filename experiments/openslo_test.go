package experiments

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// withSLOs is an experiment whose slos section is given.
func withSLOs(slos string) string {
	return `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: osl}
workload: {rate: 10, duration: 90s}
slos:
` + slos
}

// writeFiles writes name → content into a new folder and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Export then import gives the same SLOs: ratio SLOs on good and on bad
// events, a threshold SLO, with and without a server of their own.
func TestOpenSLORoundTrip(t *testing.T) {
	src := withSLOs(`  - {name: ok-ratio, sli: ratio, objective: 99.5%, good: 'sum(increase(x{code!~"5.."}[$__range]))', total: 'sum(increase(x[$__range]))', url: "http://127.0.0.1:9090"}
  - {name: bad-ratio, sli: ratio, objective: 0.97, bad: 'sum(increase(x{code=~"5.."}[30s]))', total: 'sum(increase(x[30s]))'}
  - {name: p99, sli: threshold, objective: 90%, query: 'histogram_quantile(0.99, sum by (le) (rate(h_bucket[5s])))', compare: lte, value: 0.25}
  - {name: up, sli: threshold, objective: 99.9%, query: 'up', compare: gte, value: 1}
  - {name: avail, sli: availability, objective: 99%}
`)
	orig, err := Decode("orig.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	out, skipped, err := ExportOpenSLO(orig)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(skipped, []string{"avail"}) {
		t.Errorf("skipped %v, want the availability SLO", skipped)
	}
	for _, want := range []string{"apiVersion: openslo/v1", "kind: SLO", "budgetingMethod: Occurrences", "ratioMetric:", "thresholdMetric:", "type: Prometheus", "op: lte", OpenSLOURLAnnotation + ": http://127.0.0.1:9090", "duration: 2m"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the export lacks %q:\n%s", want, out)
		}
	}
	dir := writeFiles(t, map[string]string{"slos/exported.yaml": string(out), "exp.yaml": withSLOs("  - openslo: slos/exported.yaml\n")})
	back, err := Load(filepath.Join(dir, "exp.yaml"))
	if err != nil {
		t.Fatalf("import the export:\n%v\n%s", err, out)
	}
	want := orig.SLOs[:4]
	if !reflect.DeepEqual(back.SLOs, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back.SLOs, want)
	}
}

// The example's OpenSLO file imports as a bad/total ratio on counters and a
// threshold, beside the file's own availability SLO.
func TestOpenSLOExample(t *testing.T) {
	e, err := Load(filepath.Join("..", "examples", "openslo", "checkout.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.SLOs) != 3 {
		t.Fatalf("SLOs %+v, want availability, gateway-success, gateway-fast", e.SLOs)
	}
	success, fast := e.SLOs[1], e.SLOs[2]
	if success.Name != "gateway-success" || success.SLI != SLIRatio || success.Objective != 0.99 || success.Good != "" ||
		success.Bad != `sum(increase((chaosdemo_requests_total{chaosctl_member="g1", code=~"5..|429"})[$__range:]))` {
		t.Errorf("gateway-success: %+v", success)
	}
	if fast.Name != "gateway-fast" || fast.SLI != SLIThreshold || fast.Compare != OpLTE || fast.Value == nil || *fast.Value != 0.25 || fast.Objective != 0.9 {
		t.Errorf("gateway-fast: %+v", fast)
	}
	q, bad, total := fast.PrometheusQueries(30*time.Second + time.Millisecond)
	if bad || !strings.HasSuffix(q, ") <= bool 0.25)[31s:1s]))") || !strings.HasPrefix(total, "sum(count_over_time((histogram_quantile(") {
		t.Errorf("threshold queries: %s / %s", q, total)
	}
	q, bad, _ = success.PrometheusQueries(30 * time.Second)
	if !bad || !strings.Contains(q, "[30s:]") {
		t.Errorf("ratio queries: %s (bad %v)", q, bad)
	}
}

const osloHead = "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: s}\nspec:\n"

const osloRatioSpec = `  indicator:
    spec:
      ratioMetric:
        good: {metricSource: {type: Prometheus, spec: {query: g}}}
        total: {metricSource: {type: Prometheus, spec: {query: t}}}
`

// Problems in an OpenSLO file name it, with the line and column of the
// offending value, and say what is allowed.
func TestOpenSLOProblems(t *testing.T) {
	cases := []struct {
		name  string
		oslo  string // slos.yaml
		slos  string // the experiment's slos entries; default: one openslo entry
		want  string // FILE:LINE:COL: and a part of the message
		wants string
	}{
		{name: "timeslices", oslo: osloHead + osloRatioSpec + "  budgetingMethod: Timeslices\n  objectives: [{target: 0.9}]\n",
			want: "slos.yaml:10:20:", wants: "allowed: budgetingMethod: Occurrences"},
		{name: "datadog", oslo: osloHead + "  indicator:\n    spec:\n      thresholdMetric: {metricSource: {type: Datadog, spec: {query: q}}}\n  objectives: [{op: lt, value: 1, target: 0.9}]\n",
			want: "slos.yaml:7:46:", wants: `"Datadog" is not read; allowed: Prometheus`},
		{name: "misspelt", oslo: osloHead + osloRatioSpec + "  objectivs: [{target: 0.9}]\n",
			want: "slos.yaml:10:3:", wants: `did you mean "objectives"`},
		{name: "target out of range", oslo: osloHead + osloRatioSpec + "  objectives: [{target: 1.5}]\n",
			want: "slos.yaml:10:25:", wants: "1.5 is a fraction (150%)"},
		{name: "bad op", oslo: osloHead + "  indicator:\n    spec:\n      thresholdMetric: {metricSource: {type: Prometheus, spec: {query: q}}}\n  objectives: [{op: le, value: 1, target: 0.9}]\n",
			want: "slos.yaml:8:21:", wants: "allowed: lt, lte, gt, gte"},
		{name: "op on a ratio", oslo: osloHead + osloRatioSpec + "  objectives: [{op: lt, target: 0.9}]\n",
			want: "slos.yaml:10:17:", wants: "applies to a thresholdMetric"},
		{name: "indicatorRef", oslo: osloHead + "  indicatorRef: my-sli\n  objectives: [{target: 0.9}]\n",
			want: "slos.yaml:5:3:", wants: "write the SLI inline"},
		{name: "v1alpha", oslo: "apiVersion: openslo/v1alpha\nkind: SLO\n",
			want: "slos.yaml:1:13:", wants: "allowed: openslo/v1"},
		{name: "no SLO", oslo: "apiVersion: openslo/v1\nkind: Service\nmetadata: {name: x}\nspec: {}\n",
			want: "exp.yaml:6:14:", wants: "holds no SLO"},
		{name: "duplicate name", oslo: osloHead + osloRatioSpec + "  objectives: [{target: 0.9}]\n", slos: "  - {name: s, sli: availability, objective: 99%}\n  - openslo: slos.yaml\n",
			want: "slos.yaml:3:18:", wants: `SLO name "s" is already used by slos[0].name`},
		{name: "another field", oslo: osloHead + osloRatioSpec + "  objectives: [{target: 0.9}]\n", slos: "  - {openslo: slos.yaml, objective: 99%}\n",
			want: "exp.yaml:6:26:", wants: "give no other field beside it"},
		{name: "missing file", slos: "  - openslo: nope.yaml\n",
			want: "exp.yaml:6:14:", wants: "cannot read the OpenSLO file"},
		{name: "outside", slos: "  - openslo: ../elsewhere.yaml\n",
			want: "exp.yaml:6:14:", wants: "outside the experiment's folder"},
		{name: "yaml", oslo: "apiVersion: openslo/v1\nkind: [\n",
			want: "slos.yaml:", wants: "invalid YAML"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			slos := tc.slos
			if slos == "" {
				slos = "  - openslo: slos.yaml\n"
			}
			files := map[string]string{"exp.yaml": withSLOs(slos)}
			if tc.oslo != "" {
				files["slos.yaml"] = tc.oslo
			}
			dir := writeFiles(t, files)
			_, err := Load(filepath.Join(dir, "exp.yaml"))
			if err == nil {
				t.Fatal("no problem")
			}
			msg := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
			found := false
			for _, line := range strings.Split(msg, "\n") {
				if strings.HasPrefix(line, tc.want) && strings.Contains(line, tc.wants) {
					found = true
				}
			}
			if strings.Contains(msg, "nothing to judge") {
				t.Errorf("a failed import also says nothing to judge:\n%s", msg)
			}
			if !found {
				t.Errorf("want a line starting %q containing %q; got:\n%s", tc.want, tc.wants, msg)
			}
		})
	}
}

// The fields of ratio and threshold SLOs are checked like any other.
func TestThresholdAndBadRatioValidation(t *testing.T) {
	cases := map[string]string{
		"  - {name: a, sli: ratio, objective: 99%, good: g, bad: b, total: t}\n":                          "good and bad are exclusive",
		"  - {name: a, sli: threshold, objective: 99%, query: q, value: 1}\n":                             "missing required field compare",
		"  - {name: a, sli: threshold, objective: 99%, query: q, compare: le, value: 1}\n":                "allowed: lt, lte, gt, gte",
		"  - {name: a, sli: threshold, objective: 99%, query: q, compare: lt, value: 1, good: g}\n":       "applies to ratio SLOs",
		"  - {name: a, sli: availability, objective: 99%, compare: lt}\n":                                 "applies to threshold SLOs",
		"  - {name: a, sli: threshold, objective: 99%, query: q, compare: lt, value: 1, judge: faults}\n": "faults is not allowed for threshold SLOs",
	}
	for slos, want := range cases {
		_, err := Decode("x.yaml", []byte(withSLOs(slos)))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want %q", strings.TrimSpace(slos), err, want)
		}
	}
}
