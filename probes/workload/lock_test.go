package workload

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeLockService is the demo's lock API and fenced resource in one
// process: one lock, leases on the wall clock, tokens counting up.
type fakeLockService struct {
	mu       sync.Mutex
	owner    string
	token    int64
	expires  time.Time
	counter  int64
	newest   int64 // the resource's newest token
	unfenced int   // resource writes without a token
}

func (f *fakeLockService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.HasPrefix(r.URL.Path, "/kv/") {
		h := r.Header.Get("X-Fencing-Token")
		if h == "" {
			f.unfenced++
			w.WriteHeader(http.StatusNoContent)
			return
		}
		t, _ := strconv.ParseInt(h, 10, 64)
		if t < f.newest {
			http.Error(w, "stale", http.StatusConflict)
			return
		}
		f.newest = t
		w.WriteHeader(http.StatusNoContent)
		return
	}
	q := r.URL.Query()
	live := f.owner != "" && time.Now().Before(f.expires)
	switch q.Get("op") {
	case "acquire":
		if live {
			http.Error(w, "held", http.StatusConflict)
			return
		}
		lease, _ := time.ParseDuration(q.Get("lease"))
		f.counter++
		f.owner, f.token, f.expires = q.Get("owner"), f.counter, time.Now().Add(lease)
	case "release":
		if !live || f.owner != q.Get("owner") || strconv.FormatInt(f.token, 10) != q.Get("token") {
			http.Error(w, "not held", http.StatusConflict)
			return
		}
		f.owner = ""
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"token": f.token})
}

func runLocks(t *testing.T, fencing bool, seed uint64) (*LockWorkload, []HistoryOp, *fakeLockService) {
	t.Helper()
	svc := &fakeLockService{}
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	var hist bytes.Buffer
	seconds := 0
	l, err := NewLockWorkload(LockConfig{
		Bases: []string{srv.URL}, Name: "L", Resource: "res", Clients: 3,
		Lease: 60 * time.Millisecond, Hold: 5 * time.Millisecond, Fencing: fencing,
		PauseEvery: 300 * time.Millisecond, Pause: 200 * time.Millisecond,
		Duration: 1200 * time.Millisecond, Timeout: time.Second, History: &hist,
		OnSecond: func(*Second) { seconds++ },
	}, nil, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if seconds < 1 || sum.Measured.All.Total == 0 {
		t.Fatalf("%d seconds closed, %d requests measured", seconds, sum.Measured.All.Total)
	}
	var ops []HistoryOp
	if err := ReadHistory(&hist, func(h HistoryOp) error { ops = append(ops, h); return nil }); err != nil {
		t.Fatal(err)
	}
	return l, ops, svc
}

// The lock workload's clients take turns, write with their token (sent only
// with fencing), pause on the seeded schedule and write after the pause as if
// they still held the lock: with fencing the fake resource refuses those
// writes, without it it takes them. The history carries what the checker
// needs.
func TestLockWorkloadHistory(t *testing.T) {
	for _, fencing := range []bool{true, false} {
		t.Run(fmt.Sprintf("fencing=%t", fencing), func(t *testing.T) {
			l, ops, svc := runLocks(t, fencing, 7)
			if len(l.Pauses()) < 2 {
				t.Fatalf("pauses %v, want a few", l.Pauses())
			}
			var lastToken int64
			refused, writes := 0, 0
			for _, op := range ops {
				switch op.Op {
				case OpAcquire:
					if op.Outcome == OutcomeOK {
						if op.Token == nil || *op.Token <= lastToken || op.Lock != "L" || op.Lease != int64(60*time.Millisecond) {
							t.Fatalf("acquire %+v after token %d", op, lastToken)
						}
						lastToken = *op.Token
					}
				case OpPut:
					writes++
					if op.Token == nil || op.Fenced != fencing || op.Key != "res" || op.Value == nil {
						t.Fatalf("put %+v", op)
					}
					if op.Outcome == OutcomeFail {
						refused++
					}
				}
			}
			switch {
			case writes == 0:
				t.Fatal("no resource writes")
			case fencing && refused == 0:
				t.Fatal("fencing: no stale write refused; the pauses did not happen")
			case !fencing && (refused != 0 || svc.unfenced != writes):
				t.Fatalf("no fencing: %d refused, %d of %d writes unfenced at the service", refused, svc.unfenced, writes)
			}
		})
	}
}

// The pause schedule is a function of the seed.
func TestLockPauseScheduleIsSeeded(t *testing.T) {
	sched := func(seed uint64) []time.Duration {
		l, err := NewLockWorkload(LockConfig{Bases: []string{"http://127.0.0.1:1"}, Name: "L", Resource: "r", Clients: 1,
			Lease: time.Second, PauseEvery: 5 * time.Second, Pause: time.Second, Warmup: time.Second, Duration: 30 * time.Second},
			nil, rand.New(rand.NewPCG(seed, 1)))
		if err != nil {
			t.Fatal(err)
		}
		return l.Pauses()
	}
	a, b, c := sched(1), sched(1), sched(2)
	if !slices.Equal(a, b) || slices.Equal(a, c) || len(a) != 6 {
		t.Fatalf("seed 1: %v and %v; seed 2: %v", a, b, c)
	}
	for i, p := range a {
		lo := time.Second + 5*time.Second/2 + time.Duration(i)*5*time.Second
		if p < lo || p > lo+5*time.Second/2 {
			t.Fatalf("pause %d at %s, want within [%s, %s]", i, p, lo, lo+5*time.Second/2)
		}
	}
}
