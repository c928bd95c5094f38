package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// A request held up on the way arrives with the budget its caller has left,
// not a fresh one: the absolute deadline wins over the relative timeout.
func TestIncomingContextKeepsTheCallersDeadline(t *testing.T) {
	caller, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	out := httptest.NewRequest(http.MethodGet, "/kv/k", nil)
	SetOutgoing(caller, out, "rid")
	dl, _ := caller.Deadline()
	if got := out.Header.Get(HeaderDeadline); got != strconv.FormatInt(dl.UnixNano(), 10) {
		t.Fatalf("%s = %q, want the caller's deadline %d", HeaderDeadline, got, dl.UnixNano())
	}

	// The same headers, as if they had spent 600ms in transit: the relative
	// header still says ~1s, the absolute one says ~400ms are left.
	delayed := httptest.NewRequest(http.MethodGet, "/kv/k", nil)
	delayed.Header.Set(HeaderTimeout, time.Second.String())
	delayed.Header.Set(HeaderDeadline, strconv.FormatInt(time.Now().Add(400*time.Millisecond).UnixNano(), 10))
	ctx, cancel2, expired := IncomingContext(delayed, 5*time.Second)
	defer cancel2()
	if expired {
		t.Fatal("a request with budget left was reported expired")
	}
	got, ok := ctx.Deadline()
	if !ok || time.Until(got) > 400*time.Millisecond {
		t.Fatalf("deadline %v from now, want at most 400ms (the caller's)", time.Until(got))
	}
}

func TestIncomingContextExpiredOnArrival(t *testing.T) {
	cases := map[string]func(h http.Header){
		"absolute deadline passed": func(h http.Header) {
			h.Set(HeaderTimeout, "1s")
			h.Set(HeaderDeadline, strconv.FormatInt(time.Now().Add(-time.Millisecond).UnixNano(), 10))
		},
		"relative budget spent": func(h http.Header) { h.Set(HeaderTimeout, "0s") },
		"negative budget":       func(h http.Header) { h.Set(HeaderTimeout, "-5ms") },
	}
	for name, set := range cases {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPut, "/kv/k", nil)
			set(r.Header)
			_, cancel, expired := IncomingContext(r, time.Second)
			defer cancel()
			if !expired {
				t.Fatal("want expired")
			}
		})
	}
}

// A far-future absolute deadline (another clock, a forged header) cannot
// lengthen the budget beyond the relative one or the member's own default.
func TestIncomingContextBoundsTheBudget(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/kv/k", nil)
	r.Header.Set(HeaderTimeout, "200ms")
	r.Header.Set(HeaderDeadline, strconv.FormatInt(time.Now().Add(time.Hour).UnixNano(), 10))
	ctx, cancel, expired := IncomingContext(r, time.Second)
	defer cancel()
	dl, ok := ctx.Deadline()
	if expired || !ok || time.Until(dl) > 200*time.Millisecond {
		t.Fatalf("deadline %v from now (expired %v), want at most 200ms", time.Until(dl), expired)
	}

	none := httptest.NewRequest(http.MethodGet, "/kv/k", nil)
	ctx2, cancel2, _ := IncomingContext(none, 0)
	defer cancel2()
	if _, ok := ctx2.Deadline(); ok {
		t.Fatal("no header and no default must leave the context without deadline")
	}
	junk := httptest.NewRequest(http.MethodGet, "/kv/k", nil)
	junk.Header.Set(HeaderDeadline, "soon")
	ctx3, cancel3, expired3 := IncomingContext(junk, time.Second)
	defer cancel3()
	if dl, ok := ctx3.Deadline(); expired3 || !ok || time.Until(dl) > time.Second {
		t.Fatalf("an unparsable deadline must fall back to the default: %v %v", dl, expired3)
	}
}
