package workload

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestGeneratorDrawsCRDTOperations(t *testing.T) {
	base := Config{Rate: 10, Duration: 1, Keys: 5, ReadRatio: 0.3}
	kinds := map[string]map[OpKind]int{}
	for _, kind := range []string{KindCounter, KindSet} {
		cfg := base
		cfg.Kind = kind
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		g := NewOpGenerator(cfg, rand.New(rand.NewPCG(1, 2)))
		kinds[kind] = map[OpKind]int{}
		negative := 0
		for range 2000 {
			op := g.Next()
			kinds[kind][op.Kind]++
			if op.CRDT != kind {
				t.Fatalf("%s: op %+v has CRDT %q", kind, op, op.CRDT)
			}
			switch op.Kind {
			case OpIncr:
				if op.Delta == 0 || op.Delta < -5 || op.Delta > 5 {
					t.Fatalf("delta %d out of ±1..5", op.Delta)
				}
				if op.Delta < 0 {
					negative++
				}
			case OpAdd, OpRemove:
				if !strings.HasPrefix(op.Element, "e") || len(op.Element) != 2 {
					t.Fatalf("element %q, want e0..e7", op.Element)
				}
			}
		}
		if kind == KindCounter && (negative < 300 || negative > 500) {
			t.Errorf("%d decrements of ~1400 updates, want about a quarter", negative)
		}
	}
	if c := kinds[KindCounter]; c[OpGet] == 0 || c[OpIncr] == 0 || c[OpPut]+c[OpAdd]+c[OpRemove] != 0 {
		t.Errorf("counter kinds %v, want gets and incrs only", c)
	}
	if s := kinds[KindSet]; s[OpGet] == 0 || s[OpAdd] <= s[OpRemove] || s[OpRemove] == 0 || s[OpPut]+s[OpIncr] != 0 {
		t.Errorf("set kinds %v, want gets, adds and fewer removes", s)
	}

	// A key-value workload's sequence is what it was: no extra draw.
	kv := base
	if err := kv.Validate(); err != nil {
		t.Fatal(err)
	}
	g1, g2 := NewOpGenerator(kv, rand.New(rand.NewPCG(3, 4))), NewOpGenerator(kv, rand.New(rand.NewPCG(3, 4)))
	g2.kind = ""
	for range 100 {
		if a, b := g1.Next(), g2.Next(); a.Kind != b.Kind || a.Key != b.Key || a.CRDT != "" || a.Delta != 0 || a.Element != "" {
			t.Fatalf("kv sequence changed: %+v vs %+v", a, b)
		}
	}

	bad := base
	bad.Kind = "map"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "kv, counter, lww-counter, set or scan") {
		t.Errorf("kind map: %v, want the allowed kinds", err)
	}
	bad = base
	bad.Kind, bad.DeleteRatio = KindSet, 0.1
	if err := bad.Validate(); err == nil {
		t.Error("a CRDT workload with deletes must be refused")
	}
}

func TestKVDriverSendsCRDTOperations(t *testing.T) {
	var mu sync.Mutex
	var got []string
	status := http.StatusNoContent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+string(b))
		code := status
		mu.Unlock()
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, `{"type":"counter","value":7}`)
			return
		}
		w.WriteHeader(code)
	}))
	defer srv.Close()
	d, err := NewKVDriver([]string{srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if res := d.Do(ctx, Op{Kind: OpIncr, CRDT: KindCounter, Key: "k1", Delta: -3}); res.Outcome != OutcomeOK {
		t.Fatalf("incr: %+v", res)
	}
	if res := d.Do(ctx, Op{Kind: OpAdd, CRDT: KindSet, Key: "k2", Element: `e"1`}); res.Outcome != OutcomeOK {
		t.Fatalf("add: %+v", res)
	}
	if res := d.Do(ctx, Op{Kind: OpGet, CRDT: KindCounter, Key: "k1"}); res.Outcome != OutcomeOK || string(res.Value) != `{"type":"counter","value":7}` {
		t.Fatalf("get: %+v", res)
	}
	for code, want := range map[int]Outcome{http.StatusInternalServerError: OutcomeUnknown, http.StatusServiceUnavailable: OutcomeFail, http.StatusBadRequest: OutcomeFail} {
		mu.Lock()
		status = code
		mu.Unlock()
		if res := d.Do(ctx, Op{Kind: OpRemove, CRDT: KindSet, Key: "k2", Element: "e1"}); res.Outcome != want {
			t.Errorf("remove answered %d: %s, want %s", code, res.Outcome, want)
		}
	}
	want := []string{
		`POST /crdt/counter/k1 {"delta":-3}`,
		`POST /crdt/set/k2 {"add":"e\"1"}`,
		`GET /crdt/counter/k1 `,
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("request %d: %q, want %q", i, got[i], w)
		}
	}
}

func TestHistoryKeepsCRDTFields(t *testing.T) {
	op, err := parseHistoryLine([]byte(`{"id":1,"client":0,"op":"incr","key":"k1","value":null,"expect":null,"invoke":5,"complete":9,"outcome":"ok","crdt":"counter","delta":-2}`))
	if err != nil || op.Op != OpIncr || op.CRDT != "counter" || op.Delta == nil || *op.Delta != -2 {
		t.Fatalf("incr line: %+v, %v", op, err)
	}
	op, err = parseHistoryLine([]byte(`{"id":2,"client":0,"op":"remove","key":"k1","invoke":5,"outcome":"unknown","crdt":"set","element":"e3"}`))
	if err != nil || op.Op != OpRemove || op.Element == nil || *op.Element != "e3" {
		t.Fatalf("remove line: %+v, %v", op, err)
	}
	if _, err := parseHistoryLine([]byte(`{"id":3,"client":0,"op":"incr","key":"k1","invoke":5,"outcome":"unknown"}`)); err == nil {
		t.Fatal("an incr without a delta must be refused")
	}
	enc := newHistoryEncoder()
	d := int64(4)
	r := recordOf(&HistoryOp{ID: 4, Op: OpIncr, Key: "k", Outcome: OutcomeOK, CRDT: "counter", Delta: &d})
	line, err := enc.line(&r)
	if err != nil || !strings.Contains(string(line), `"crdt":"counter","delta":4`) {
		t.Fatalf("encoded %s, %v", line, err)
	}
	r = recordOf(&HistoryOp{ID: 5, Op: OpPut, Key: "k", Outcome: OutcomeOK})
	line, _ = enc.line(&r)
	if strings.Contains(string(line), "crdt") || strings.Contains(string(line), "delta") {
		t.Fatalf("a key-value line carries CRDT fields: %s", line)
	}
}
