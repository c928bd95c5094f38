package workload

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestGeneratorDrawsScans(t *testing.T) {
	cfg := Config{Rate: 10, Duration: 1, Keys: 30, ReadRatio: 0.5, Kind: KindScan, ScanRatio: 0.25, ScanWidth: 7, ScanLimit: 5}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sorted := make([]string, cfg.Keys)
	for i := range sorted {
		sorted[i] = KeyName(i)
	}
	slices.Sort(sorted)
	g := NewOpGenerator(cfg, rand.New(rand.NewPCG(1, 2)))
	kinds := map[OpKind]int{}
	for range 4000 {
		op := g.Next()
		kinds[op.Kind]++
		if op.Kind != OpScan {
			if op.To != "" || op.Limit != 0 {
				t.Fatalf("%s with a scan's range: %+v", op.Kind, op)
			}
			continue
		}
		from := slices.Index(sorted, op.Key)
		if from < 0 || op.Limit != 5 {
			t.Fatalf("scan %+v: want a workload key and limit 5", op)
		}
		switch end := from + 7; {
		case end < len(sorted) && op.To != sorted[end]:
			t.Fatalf("scan from %s to %q, want to %s (7 keys on in key order)", op.Key, op.To, sorted[end])
		case end >= len(sorted) && op.To != "":
			t.Fatalf("scan from %s to %q, want no end (fewer than 7 keys left)", op.Key, op.To)
		}
	}
	if n := kinds[OpScan]; n < 850 || n > 1150 {
		t.Errorf("%d scans of 4000 operations, want about a quarter", n)
	}
	if kinds[OpGet] == 0 || kinds[OpPut] == 0 {
		t.Errorf("kinds %v, want gets and puts besides the scans", kinds)
	}

	// The same seed gives the same scans.
	a, b := NewOpGenerator(cfg, rand.New(rand.NewPCG(5, 6))), NewOpGenerator(cfg, rand.New(rand.NewPCG(5, 6)))
	for range 200 {
		if x, y := a.Next(), b.Next(); x.Kind != y.Kind || x.Key != y.Key || x.To != y.To {
			t.Fatalf("same seed, different operations: %+v vs %+v", x, y)
		}
	}
}

func TestScanConfigIsChecked(t *testing.T) {
	d := Config{Rate: 10, Duration: 1, Keys: 4, Kind: KindScan}
	if err := d.Validate(); err != nil || d.ScanRatio != DefaultScanRatio || d.ScanWidth != 4 || d.ScanLimit != DefaultScanLimit {
		t.Fatalf("defaults: ratio %g width %d limit %d, %v; want %g, 4 (the keys), %d", d.ScanRatio, d.ScanWidth, d.ScanLimit, err, DefaultScanRatio, DefaultScanLimit)
	}
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{Kind: KindScan, ScanRatio: 1.5}, "scanRatio"},
		{Config{Kind: KindScan, ScanWidth: 11, Keys: 10}, "scanWidth"},
		{Config{Kind: KindScan, ScanLimit: MaxScanLimit + 1}, "scanLimit"},
		{Config{Kind: KindKV, ScanLimit: 10}, "kind scan only"},
	} {
		c := tt.cfg
		c.Rate, c.Duration = 10, 1
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want an error about %s", tt.cfg, err, tt.want)
		}
	}
}

// scanServer answers the demo gateways' range query with an empty listing
// and records the queries; other requests go to a kvServer's handler.
type scanServer struct {
	*httptest.Server
	kv      *kvServer
	mu      sync.Mutex
	queries []string
}

func newScanServer(t *testing.T) *scanServer {
	s := &scanServer{kv: newKVServer(t, nil)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/kv" {
			s.kv.serve(w, r)
			return
		}
		s.mu.Lock()
		s.queries = append(s.queries, r.URL.RawQuery)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"items":[]}`))
	}))
	t.Cleanup(s.Close)
	return s
}

// A scan workload sends its scans as range queries, counts them apart (op
// scan) and leaves them out of the history, whose other lines are as ever.
func TestScanWorkloadRun(t *testing.T) {
	srv := newScanServer(t)
	var hist bytes.Buffer
	cfg := Config{Rate: 200, Duration: time.Second, ReadRatio: 0.5, Keys: 20, Kind: KindScan, ScanRatio: 0.3, ScanWidth: 3, ScanLimit: 2,
		History: &hist, Timeout: 30 * time.Second, MaxLateness: 30 * time.Second}
	sum, err := runWorkload(t, cfg, newTestDriver(t, 16, srv.URL), 1)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	scans := sum.Measured.Ops[OpScan]
	if scans == nil || scans.Total == 0 || scans.OK != scans.Total {
		t.Fatalf("scan stats %+v, want scans, all ok", scans)
	}
	srv.mu.Lock()
	queries := slices.Clone(srv.queries)
	srv.mu.Unlock()
	if int64(len(queries)) < scans.Total || !strings.Contains(queries[0], "limit=2") || !strings.Contains(queries[0], "from=k") {
		t.Fatalf("%d range queries for %d scans, first %q", len(queries), scans.Total, queries[0])
	}
	lines := bytes.Split(bytes.TrimSuffix(hist.Bytes(), []byte("\n")), []byte("\n"))
	if int64(len(lines)) != sum.Measured.All.Sent-scans.Sent {
		t.Fatalf("history has %d lines; want the %d operations that are not scans", len(lines), sum.Measured.All.Sent-scans.Sent)
	}
	for i, line := range lines {
		var h HistoryOp
		if err := json.Unmarshal(line, &h); err != nil || h.Op == OpScan {
			t.Fatalf("history line %d: %s (%v); want a single-key operation", i+1, line, err)
		}
	}
}
