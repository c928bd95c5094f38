package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// annotateExperiment has two faults on the demo cluster: a latency on n1's
// links and a pause of n2.
const annotateExperiment = `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: annotated}
seed: 5
target:
  demo: {nodes: 3, gateways: 1}
workload: {rate: 40, warmup: 1s, duration: 6s, timeout: 1s}
faults:
  - {name: slow-n1, at: 1s, duration: 2s, latency: {nodes: [n1], delay: 5ms}}
  - {name: freeze-n2, at: 3500ms, duration: 1s, pause: {nodes: [n2]}}
slos:
  - {name: availability, sli: availability, objective: 50%}
receipts: off
`

// TestRunAnnotatesFaultWindows runs a real experiment with --annotate
// pointing at a local server that records what it is sent: one POST
// /api/annotations per fault, with the bearer token of the environment, the
// fields time, timeEnd, tags and text, and the times of the journal's apply
// and revert in milliseconds. The server refuses the second annotation: the
// run logs a warning and its verdict and exit code do not change.
func TestRunAnnotatesFaultWindows(t *testing.T) {
	type request struct {
		method, path, auth, contentType string
		body                            map[string]json.RawMessage
	}
	var (
		mu       sync.Mutex
		requests []request
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := request{method: r.Method, path: r.URL.Path, auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type")}
		if err := json.Unmarshal(b, &req.body); err != nil {
			t.Errorf("annotation body %q: %v", b, err)
		}
		mu.Lock()
		requests = append(requests, req)
		n := len(requests)
		mu.Unlock()
		if n == 2 {
			http.Error(w, `{"message":"annotations are read-only here"}`, http.StatusForbidden)
			return
		}
		_, _ = io.WriteString(w, `{"message":"Annotation added","id":1}`)
	}))
	defer srv.Close()

	dir := t.TempDir()
	file := filepath.Join(dir, "annotated.yaml")
	if err := os.WriteFile(file, []byte(annotateExperiment), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	stdout, stderr, code := runEnv(t, []string{"CHAOSCTL_ANNOTATE_TOKEN=s3cret-token"}, "run", file, "--out", out,
		"--state-dir", filepath.Join(dir, "state"), "--annotate", srv.URL)
	// The verdict is not what this test is about: any verdict will do, but
	// not a run that could not run.
	if code != 0 && code != 1 && code != 4 {
		t.Fatalf("exit %d:\n%s\n%s", code, stdout, tail(stderr, 20))
	}

	// The journal's instants of each fault's apply and revert, and the run id.
	applied, reverted := map[string]time.Time{}, map[string]time.Time{}
	var runID string
	jf, err := os.Open(filepath.Join(out, "journal.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer jf.Close()
	sc := bufio.NewScanner(jf)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev struct {
			Time time.Time      `json:"time"`
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		name, _ := ev.Data["fault"].(string)
		switch ev.Type {
		case "run-start":
			runID, _ = ev.Data["run"].(string)
		case "fault-applied":
			applied[name] = ev.Time
		case "fault-reverted":
			if _, ok := reverted[name]; !ok {
				reverted[name] = ev.Time
			}
		}
	}
	if len(applied) != 2 || len(reverted) != 2 || runID == "" {
		t.Fatalf("journal: applied %v reverted %v run %q; want both faults applied and reverted", applied, reverted, runID)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(requests) != 2 {
		t.Fatalf("%d annotation requests, want 2 (one per fault): %+v", len(requests), requests)
	}
	want := map[string]struct {
		kind, target string
	}{"slow-n1": {"latency", "n1"}, "freeze-n2": {"pause", "n2"}}
	for i, r := range requests {
		if r.method != http.MethodPost || r.path != "/api/annotations" || r.auth != "Bearer s3cret-token" || r.contentType != "application/json" {
			t.Errorf("request %d: %s %s Authorization %q Content-Type %q; want POST /api/annotations, Bearer s3cret-token, application/json", i, r.method, r.path, r.auth, r.contentType)
		}
		var keys []string
		for k := range r.body {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"tags", "text", "time", "timeEnd"}) {
			t.Errorf("request %d has fields %v; want tags, text, time, timeEnd", i, keys)
		}
		var a struct {
			Time, TimeEnd int64
			Tags          []string
			Text          string
		}
		b, _ := json.Marshal(r.body)
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatal(err)
		}
		var fault string
		for _, tag := range a.Tags {
			if f, ok := strings.CutPrefix(tag, "fault:"); ok {
				fault = f
			}
		}
		w, ok := want[fault]
		if !ok {
			t.Errorf("request %d: tags %v name no fault of the run", i, a.Tags)
			continue
		}
		for _, tag := range []string{"chaosctl", "kind:" + w.kind, "target:" + w.target, "run:" + runID, "experiment:annotated"} {
			if !slices.Contains(a.Tags, tag) {
				t.Errorf("%s: tags %v lack %s", fault, a.Tags, tag)
			}
		}
		if a.Time != applied[fault].UnixMilli() || a.TimeEnd != reverted[fault].UnixMilli() {
			t.Errorf("%s: time %d timeEnd %d; the journal says applied %d reverted %d (ms)", fault, a.Time, a.TimeEnd, applied[fault].UnixMilli(), reverted[fault].UnixMilli())
		}
		if !strings.Contains(a.Text, fault) || !strings.Contains(a.Text, w.kind) || !strings.Contains(a.Text, runID) {
			t.Errorf("%s: text %q names not the fault, its kind and the run", fault, a.Text)
		}
	}
	if !strings.Contains(stderr, "annotations not posted") || !strings.Contains(stderr, "403") {
		t.Errorf("the refused annotation is not warned about:\n%s", tail(stderr, 20))
	}
	if strings.Contains(stdout+stderr, "s3cret-token") {
		t.Error("the token shows in the output")
	}
}

// TestAnnotateBadURLIsAUsageError: a URL that is not http(s) with a host
// is refused before anything starts (exit 2).
func TestAnnotateBadURLIsAUsageError(t *testing.T) {
	for _, u := range []string{"grafana:3000", "ftp://grafana", "http://user:pw@grafana:3000"} {
		_, stderr, code := run(t, "run", "testdata/short-pause.yaml", "--annotate", u, "--out", filepath.Join(t.TempDir(), "out"))
		if code != 2 || !strings.Contains(stderr, "--annotate") {
			t.Errorf("--annotate %s: exit %d, want 2 naming --annotate:\n%s", u, code, stderr)
		}
		if strings.Contains(stderr, "pw@") {
			t.Errorf("--annotate %s: the credentials show: %s", u, stderr)
		}
	}
}
