package clusterctl

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
)

func pauseReq(name, ttl string, targets ...string) Request {
	return Request{Fault: injectors.Fault{Kind: injectors.KindPause, Name: name, Targets: targets}, TTL: ttl}
}

func names(vs []FaultView) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Name)
	}
	return out
}

func statusOf(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.status
	}
	return 0
}

func TestManagerNamesFaultsAndRefusesALiveName(t *testing.T) {
	m, target, _, _ := newTestManager(t)
	ctx := context.Background()
	for range 2 {
		if _, err := m.Apply(ctx, pauseReq("", "", "n1")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Apply(ctx, pauseReq("nap", "", "n2")); err != nil {
		t.Fatal(err)
	}
	if got := names(m.List().Faults); !slices.Equal(got, []string{"pause-1", "pause-2", "nap"}) {
		t.Fatalf("live faults %v, want [pause-1 pause-2 nap]", got)
	}
	_, err := m.Apply(ctx, pauseReq("nap", "", "n3"))
	if statusOf(err) != http.StatusConflict || !strings.Contains(err.Error(), "a fault named nap is live: heal it first (chaosctl heal nap)") {
		t.Fatalf("second nap: %v (status %d), want 409", err, statusOf(err))
	}
	_, err = m.Apply(ctx, pauseReq("", "", "n9"))
	if statusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), `"n9": no such member`) {
		t.Fatalf("unknown member: %v (status %d), want 400", err, statusOf(err))
	}
	if got := target.Calls(); !slices.Equal(got, []string{"pause n1", "pause n1", "pause n2"}) {
		t.Fatalf("target calls %v", got)
	}
}

func TestManagerRevertsAFaultAtItsExpiry(t *testing.T) {
	m, target, clock, ledger := newTestManager(t)
	v, err := m.Apply(context.Background(), pauseReq("nap", "10s", "n1"))
	if err != nil {
		t.Fatal(err)
	}
	if v.TTL != "10s" || v.Remaining != "10s" || v.RemainingSeconds != 10 || !v.Expires.Equal(v.Applied.Add(10*time.Second)) {
		t.Fatalf("applied view %+v", v)
	}
	clock.Advance(9*time.Second + 500*time.Millisecond)
	if got := m.List().Faults; len(got) != 1 || got[0].Remaining != "500ms" {
		t.Fatalf("half a second before expiry: %+v", got)
	}
	if slices.Contains(target.Calls(), "resume n1") {
		t.Fatal("resumed before the TTL")
	}
	clock.Advance(500 * time.Millisecond)
	fl := m.List()
	if len(fl.Faults) != 0 || len(fl.Ended) != 1 || fl.Ended[0].EndReason != EndExpired || fl.Ended[0].Name != "nap" {
		t.Fatalf("after expiry: %+v", fl)
	}
	if got := target.Calls(); !slices.Equal(got, []string{"pause n1", "resume n1"}) {
		t.Fatalf("target calls %v", got)
	}
	assertLedgerReverted(t, ledger, "nap")
}

func assertLedgerReverted(t *testing.T, ledger *injectors.Ledger, name string) {
	t.Helper()
	recs, _, err := injectors.ReadLedger(ledger.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(recs, func(r injectors.Record) bool { return r.Type == injectors.RecordFaultReverted && r.FaultName == name }) {
		t.Fatalf("the ledger has no reverted record of %s", name)
	}
}

func TestManagerRetriesAFailedRevertAtExpiry(t *testing.T) {
	m, target, clock, _ := newTestManager(t)
	target.failResumes(1)
	if _, err := m.Apply(context.Background(), pauseReq("nap", "1s", "n1")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	fl := m.List()
	if len(fl.Faults) != 1 || !strings.Contains(fl.Faults[0].Error, errResumeFailed.Error()) {
		t.Fatalf("after a failed revert the fault must stay live with the error: %+v", fl)
	}
	if clock.pending() != 1 {
		t.Fatalf("%d timers pending, want the retry", clock.pending())
	}
	clock.Advance(expireRetryBackoff)
	fl = m.List()
	if len(fl.Faults) != 0 || len(fl.Ended) != 1 || fl.Ended[0].EndReason != EndExpired || fl.Ended[0].Error != "" {
		t.Fatalf("after the retry: %+v", fl)
	}
}

func TestManagerHeal(t *testing.T) {
	m, target, clock, _ := newTestManager(t)
	ctx := context.Background()
	_, err := m.Heal(ctx, "nope")
	if statusOf(err) != http.StatusNotFound || !strings.Contains(err.Error(), `no live fault of that name: "nope" (there are no live faults)`) {
		t.Fatalf("heal nope: %v (status %d)", err, statusOf(err))
	}
	for _, n := range []string{"a", "b", "c"} {
		if _, err := m.Apply(ctx, pauseReq(n, "1m", "n1")); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(15 * time.Second)
	v, err := m.Heal(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if v.EndReason != EndHealed || v.Remaining != "45s" {
		t.Fatalf("healed view %+v, want healed 45s before expiry", v)
	}
	_, err = m.Heal(ctx, "b")
	if statusOf(err) != http.StatusNotFound || !strings.Contains(err.Error(), "(live faults: a, c)") {
		t.Fatalf("heal b twice: %v", err)
	}
	// A failed heal leaves the fault live and its expiry armed.
	target.failResumes(1)
	if _, err := m.Heal(ctx, "c"); err == nil || !strings.Contains(err.Error(), "the fault may remain applied") {
		t.Fatalf("failed heal: %v", err)
	}
	if got := names(m.List().Faults); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("live after a failed heal: %v", got)
	}
	vs, err := m.HealAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(vs); !slices.Equal(got, []string{"c", "a"}) {
		t.Fatalf("heal all reverted %v, want newest first [c a]", got)
	}
	clock.Advance(time.Hour) // no timer of a healed fault fires
	fl := m.List()
	if len(fl.Faults) != 0 || slices.ContainsFunc(fl.Ended, func(v FaultView) bool { return v.EndReason != EndHealed }) {
		t.Fatalf("after heal all: %+v", fl)
	}
}

func TestManagerCorruptIsDoneAtOnce(t *testing.T) {
	m, target, _, _ := newTestManager(t)
	v, err := m.Apply(context.Background(), Request{Fault: injectors.Fault{Kind: "corrupt", Targets: []string{"n1"}, Count: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "corrupt-1" || v.EndReason != EndDone {
		t.Fatalf("corrupt view %+v, want done", v)
	}
	if fl := m.List(); len(fl.Faults) != 0 || len(fl.Ended) != 1 {
		t.Fatalf("corrupt left live: %+v", fl)
	}
	if got := target.Calls(); !slices.Equal(got, []string{"corrupt n1"}) {
		t.Fatalf("target calls %v", got)
	}
}

func TestManagerShutdownRevertsEverythingAndRefusesMore(t *testing.T) {
	m, target, clock, _ := newTestManager(t)
	ctx := context.Background()
	for _, id := range []string{"n1", "n2"} {
		if _, err := m.Apply(ctx, pauseReq("", "1m", id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	fl := m.List()
	if len(fl.Faults) != 0 || len(fl.Ended) != 2 || fl.Ended[0].EndReason != EndShutdown {
		t.Fatalf("after shutdown: %+v", fl)
	}
	if got := target.Calls(); !slices.Equal(got, []string{"pause n1", "pause n2", "resume n2", "resume n1"}) {
		t.Fatalf("target calls %v, want reverts newest first", got)
	}
	_, err := m.Apply(ctx, pauseReq("", "", "n3"))
	if statusOf(err) != http.StatusServiceUnavailable {
		t.Fatalf("apply after shutdown: %v, want 503", err)
	}
	clock.Advance(time.Hour)
	if n := len(target.Calls()); n != 4 {
		t.Fatalf("a timer acted after shutdown: %v", target.Calls())
	}
}

func TestManagerEndedFaultsAreBounded(t *testing.T) {
	m, _, _, _ := newTestManager(t)
	ctx := context.Background()
	for range endedFaultsKept + 5 {
		v, err := m.Apply(ctx, pauseReq("", "", "n1"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Heal(ctx, v.Name); err != nil {
			t.Fatal(err)
		}
	}
	ended := m.List().Ended
	if len(ended) != endedFaultsKept || ended[0].Name != "pause-6" {
		t.Fatalf("%d ended faults, first %s; want the last %d", len(ended), ended[0].Name, endedFaultsKept)
	}
}

func heldReq(name, ttl, lease string, targets ...string) Request {
	r := pauseReq(name, ttl, targets...)
	r.Lease = lease
	return r
}

// A held fault that is not renewed reverts when its lease lapses, long
// before its TTL, and ends as lapsed.
func TestManagerHeldFaultLapsesWithoutRenewal(t *testing.T) {
	m, target, clock, ledger := newTestManager(t)
	v, err := m.Apply(context.Background(), heldReq("held", "1m", "2s", "n1"))
	if err != nil {
		t.Fatal(err)
	}
	if v.Lease != "2s" || v.LeaseRemaining != "2s" || !v.LeaseExpires.Equal(v.Applied.Add(2*time.Second)) || !v.Expires.Equal(v.Applied.Add(time.Minute)) {
		t.Fatalf("applied view %+v", v)
	}
	clock.Advance(1500 * time.Millisecond)
	if got := m.List().Faults; len(got) != 1 || got[0].LeaseRemaining != "500ms" || got[0].Remaining != "59s" {
		t.Fatalf("1.5s in: %+v", got)
	}
	clock.Advance(500 * time.Millisecond)
	fl := m.List()
	if len(fl.Faults) != 0 || len(fl.Ended) != 1 || fl.Ended[0].EndReason != EndLapsed || fl.Ended[0].Name != "held" {
		t.Fatalf("after the lease: %+v", fl)
	}
	if got := target.Calls(); !slices.Equal(got, []string{"pause n1", "resume n1"}) {
		t.Fatalf("target calls %v", got)
	}
	assertLedgerReverted(t, ledger, "held")
	_, err = m.Renew("held")
	if statusOf(err) != http.StatusNotFound || !errors.Is(err, errNoFault) {
		t.Fatalf("renewing a lapsed fault: %v (status %d), want 404", err, statusOf(err))
	}
}

// Each renewal holds the fault for another lease from then on, up to its
// TTL, where it expires as any fault does.
func TestManagerRenewalExtendsTheLeaseUpToTheTTL(t *testing.T) {
	m, target, clock, _ := newTestManager(t)
	if _, err := m.Apply(context.Background(), heldReq("held", "10s", "2s", "n1")); err != nil {
		t.Fatal(err)
	}
	for i := range 6 { // renewed every 1.5s: 9s in, the lease would end at 11s
		clock.Advance(1500 * time.Millisecond)
		v, err := m.Renew("held")
		if err != nil {
			t.Fatalf("renewal %d: %v", i+1, err)
		}
		if v.LeaseRemaining != "2s" {
			t.Fatalf("renewal %d: lease remaining %s, want 2s", i+1, v.LeaseRemaining)
		}
	}
	if got := target.Calls(); !slices.Equal(got, []string{"pause n1"}) {
		t.Fatalf("a renewed fault was reverted: %v", got)
	}
	if clock.pending() != 1 {
		t.Fatalf("%d timers pending, want one: a renewal replaces the timer", clock.pending())
	}
	clock.Advance(999 * time.Millisecond)
	if len(m.List().Faults) != 1 {
		t.Fatal("reverted before its TTL")
	}
	clock.Advance(time.Millisecond) // the TTL, 1s before the lease would end
	fl := m.List()
	if len(fl.Faults) != 0 || len(fl.Ended) != 1 || fl.Ended[0].EndReason != EndExpired {
		t.Fatalf("at the TTL: %+v", fl)
	}
}

// A renewal that comes after the lease ended, before its timer ran, does
// not revive the fault; a timer that fired as a renewal came does not
// revert it.
func TestManagerRenewalRacesTheLease(t *testing.T) {
	m, target, clock, _ := newTestManager(t)
	if _, err := m.Apply(context.Background(), heldReq("held", "1m", "2s", "n1")); err != nil {
		t.Fatal(err)
	}
	// The first timer fires as if it had waited for the lock while a
	// renewal moved the deadline on.
	stale := func() { m.expire("held") }
	clock.Advance(time.Second)
	if _, err := m.Renew("held"); err != nil {
		t.Fatal(err)
	}
	stale()
	if got := target.Calls(); !slices.Equal(got, []string{"pause n1"}) {
		t.Fatalf("a stale timer reverted a renewed fault: %v", got)
	}
	// Now 1s in, the lease ends at 3s. A renewal at exactly 3s is too late.
	m.mu.Lock()
	m.live["held"].stopTimer() // the timer has not run yet
	m.mu.Unlock()
	clock.Advance(2 * time.Second)
	if _, err := m.Renew("held"); statusOf(err) != http.StatusNotFound {
		t.Fatalf("a renewal at the lease's end: %v, want 404", err)
	}
	stale() // its timer runs now
	if fl := m.List(); len(fl.Faults) != 0 || fl.Ended[0].EndReason != EndLapsed {
		t.Fatalf("after the late renewal: %+v", fl)
	}
}

// Heal ends a held fault at once; its lease's timer then does nothing.
// A fault injected without a lease cannot be renewed.
func TestManagerHealEndsAHeldFault(t *testing.T) {
	m, target, clock, _ := newTestManager(t)
	ctx := context.Background()
	if _, err := m.Apply(ctx, heldReq("held", "1m", "2s", "n1")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(ctx, pauseReq("plain", "1m", "n2")); err != nil {
		t.Fatal(err)
	}
	_, err := m.Renew("plain")
	if statusOf(err) != http.StatusConflict || !strings.Contains(err.Error(), "fault plain is not held") {
		t.Fatalf("renewing a fault without a lease: %v (status %d), want 409", err, statusOf(err))
	}
	clock.Advance(time.Second)
	v, err := m.Heal(ctx, "held")
	if err != nil || v.EndReason != EndHealed {
		t.Fatalf("heal: %+v %v", v, err)
	}
	if _, err := m.Renew("held"); statusOf(err) != http.StatusNotFound {
		t.Fatalf("renewing a healed fault: %v, want 404", err)
	}
	clock.Advance(5 * time.Second)
	if got := target.Calls(); !slices.Equal(got, []string{"pause n1", "pause n2", "resume n1"}) {
		t.Fatalf("target calls %v: the healed fault's lease acted, or the plain fault ended", got)
	}
	if fl := m.List(); !slices.Equal(names(fl.Faults), []string{"plain"}) || len(fl.Ended) != 1 {
		t.Fatalf("after heal: %+v", fl)
	}
}
