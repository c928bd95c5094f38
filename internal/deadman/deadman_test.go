package deadman_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/chaosctl/chaosctl/internal/deadman"
	"github.com/chaosctl/chaosctl/internal/httpcall"
	"github.com/chaosctl/chaosctl/internal/testkit"
)

func quiet() *logrus.Entry {
	log := logrus.New()
	log.SetOutput(io.Discard)
	return logrus.NewEntry(log)
}

// holder serves a lease behind token and counts its reverts.
func holder(t *testing.T, token string) (*deadman.Lease, *atomic.Int32, string) {
	t.Helper()
	var reverts atomic.Int32
	l := deadman.NewLease(func() { reverts.Add(1) }, quiet())
	t.Cleanup(l.Close)
	mux := http.NewServeMux()
	mux.Handle(deadman.Path, l.Handler())
	srv := httptest.NewServer(httpcall.RequireToken(token, nil, mux))
	t.Cleanup(srv.Close)
	return l, &reverts, srv.URL
}

func TestKeptLeaseHoldsAndAnAbandonedOneReverts(t *testing.T) {
	const ttl = 600 * time.Millisecond
	l, reverts, url := holder(t, "tok")
	if l.Held() {
		t.Fatal("a lease is held before its first renewal")
	}
	k, err := deadman.Keep(context.Background(), url, "tok", ttl, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if !l.Held() {
		t.Fatal("Keep returned before the lease was held")
	}
	start := time.Now()
	testkit.Eventually(t, 10*time.Second, "three TTLs pass", func() bool { return time.Since(start) > 3*ttl })
	if n := reverts.Load(); n != 0 || !l.Held() {
		t.Fatalf("a renewed lease: %d reverts, held %v", n, l.Held())
	}
	k.Abandon()
	testkit.Eventually(t, ttl+2*time.Second, "the abandoned lease lapses and reverts", func() bool { return reverts.Load() == 1 })
	if l.Held() || l.Expiries() != 1 {
		t.Fatalf("after expiry: held %v, expiries %d", l.Held(), l.Expiries())
	}
	k.Stop() // idempotent after Abandon
}

func TestStoppedKeeperReleasesTheLease(t *testing.T) {
	l, reverts, url := holder(t, "tok")
	k, err := deadman.Keep(context.Background(), url, "tok", 200*time.Millisecond, quiet())
	if err != nil {
		t.Fatal(err)
	}
	k.Stop()
	if l.Held() {
		t.Fatal("the lease is held after Stop")
	}
	start := time.Now()
	testkit.Eventually(t, 10*time.Second, "three TTLs pass", func() bool { return time.Since(start) > 600*time.Millisecond })
	if n := reverts.Load(); n != 0 {
		t.Fatalf("a released lease reverted %d times", n)
	}
}

func TestKeepFailsWithoutTheTokenOrWithABadTTL(t *testing.T) {
	_, _, url := holder(t, "tok")
	if _, err := deadman.Keep(context.Background(), url, "wrong", time.Second, quiet()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Keep with a wrong token: %v", err)
	}
	for _, ttl := range []time.Duration{0, deadman.MinTTL - 1, deadman.MaxTTL + 1} {
		if _, err := deadman.Keep(context.Background(), url, "tok", ttl, quiet()); err == nil {
			t.Fatalf("Keep with ttl %s: no error", ttl)
		}
	}
	for _, body := range []string{`{"ttl":"1ms"}`, `{"ttl":"forever"}`, `nope`} {
		req, _ := http.NewRequest(http.MethodPost, url+deadman.Path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("renewal %s: status %d, want 400", body, resp.StatusCode)
		}
	}
}

// KeepEach renews every holder it is given at each renewal (a member's
// supervisor whose pod comes and goes), one that does not answer included
// again later, and releases them all on Stop.
func TestKeepEachRenewsEveryHolderOfTheMoment(t *testing.T) {
	const ttl = 1500 * time.Millisecond
	a, ra, urlA := holder(t, "tok")
	b, rb, urlB := holder(t, "tok")
	var withB atomic.Bool
	bases := func() []string {
		if withB.Load() {
			return []string{urlA, urlB, "http://127.0.0.1:1"} // the last: a pod being replaced
		}
		return []string{urlA}
	}
	k, err := deadman.KeepEach(context.Background(), bases, "tok", ttl, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if !a.Held() || b.Held() {
		t.Fatalf("after the first renewal: a held %v, b held %v", a.Held(), b.Held())
	}
	withB.Store(true)
	testkit.Eventually(t, 5*time.Second, "b is renewed once it appears", b.Held)
	start := time.Now()
	testkit.Eventually(t, 10*time.Second, "two TTLs pass", func() bool { return time.Since(start) > 2*ttl })
	if ra.Load() != 0 || rb.Load() != 0 {
		t.Fatalf("renewed leases lapsed: %d, %d", ra.Load(), rb.Load())
	}
	k.Stop()
	if a.Held() || b.Held() {
		t.Fatal("Stop left a lease held")
	}
}

// A keeper that renews too late (a lease lapsed meanwhile) says so: the
// holder reverted every fault, and the run must know.
func TestKeeperReportsALapsedLease(t *testing.T) {
	l, reverts, url := holder(t, "tok")
	log, hook := logtest.NewNullLogger()
	k, err := deadman.Keep(context.Background(), url, "tok", 600*time.Millisecond, logrus.NewEntry(log))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Stop()
	l.Renew(time.Millisecond) // as if the last renewal had come too late
	testkit.Eventually(t, 5*time.Second, "the lease lapses", func() bool { return reverts.Load() == 1 })
	testkit.Eventually(t, 5*time.Second, "the keeper reports the lapse", func() bool {
		for _, e := range hook.AllEntries() {
			if e.Level == logrus.ErrorLevel && strings.Contains(e.Message, "lapsed") {
				return true
			}
		}
		return false
	})
	if !l.Held() {
		t.Fatal("the keeper did not take the lease again")
	}
}
