package injectors_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
	"github.com/chaosctl/chaosctl/targets/processdemo"
)

// position returns the index of the first record of type typ for fault, or -1.
func position(recs []injectors.Record, typ injectors.RecordType, fault string) int {
	return slices.IndexFunc(recs, func(r injectors.Record) bool { return r.Type == typ && r.FaultName == fault })
}

func TestTrackerAppliesRevertsAndJournals(t *testing.T) {
	stateDir := t.TempDir()
	ledger, err := injectors.CreateLedger(stateDir, injectors.RunInfo{Run: "tracked", Runtime: "process", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	d := processtest.StartDemo(t, demo.ClusterSpec{Nodes: 3, Gateways: 1}, processdemo.Options{Run: "tracked", OnStarted: ledger.OnStarted})
	if err := ledger.Plane(d.Plane().URL(), true); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tr := injectors.NewTracker(injectors.DefaultRegistry(), d, ledger, processtest.Log(t))

	faults := []injectors.Fault{
		{Name: "slow", Kind: injectors.KindLatency, Links: []faultplane.Link{link("n1", "n2")}, Delay: 20 * time.Millisecond},
		{Name: "freeze", Kind: injectors.KindPause, Targets: []string{"n3"}},
		{Name: "skew", Kind: injectors.KindClockSkew, Targets: []string{"n2"}, Offset: time.Second},
		{Name: "freeze2", Kind: injectors.KindPause, Targets: []string{"n1"}},
	}
	for _, f := range faults {
		if err := tr.Apply(ctx, f); err != nil {
			t.Fatalf("apply %s: %v", f.Name, err)
		}
	}
	if got, want := tr.Active(), []string{"slow", "freeze", "skew", "freeze2"}; !slices.Equal(got, want) {
		t.Fatalf("Active() = %v, want %v", got, want)
	}
	if err := tr.Apply(ctx, faults[0]); err == nil || !strings.Contains(err.Error(), "active") {
		t.Errorf("applying an active fault's name again: error %v, want one saying it is active", err)
	}
	if err := tr.Apply(ctx, injectors.Fault{Name: "odd", Kind: "meteor"}); err == nil || !strings.Contains(err.Error(), "valid kinds") {
		t.Errorf("applying an unknown kind: error %v, want one listing the valid kinds", err)
	}
	if err := tr.Apply(ctx, injectors.Fault{Name: "bad", Kind: injectors.KindCrash, Targets: []string{"n9"}}); err == nil {
		t.Error("applying a crash of the unknown n9 succeeded")
	}

	// Revert one fault, twice; an unknown name is an error.
	if err := tr.Revert(ctx, "slow"); err != nil {
		t.Fatal(err)
	}
	if err := tr.Revert(ctx, "slow"); err != nil {
		t.Fatalf("second revert: %v", err)
	}
	if err := tr.Revert(ctx, "bad"); err != nil {
		t.Errorf("reverting a fault whose apply failed: %v, want nil (nothing remains)", err)
	}
	if err := tr.Revert(ctx, "never"); err == nil {
		t.Error("reverting a fault never applied succeeded")
	}
	if txs := chaosctlToxics(t, d, link("n1", "n2")); len(txs) > 0 {
		t.Errorf("toxics left after reverting slow: %v", txs)
	}

	// n1 dies while paused: freeze2's revert (resume) must fail, the rest not.
	if err := d.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	err = tr.RevertAll(ctx)
	if err == nil || !strings.Contains(err.Error(), "freeze2") || strings.Contains(err.Error(), "skew") {
		t.Fatalf("RevertAll error = %v, want one naming freeze2 only", err)
	}
	if got := tr.Active(); !slices.Equal(got, []string{"freeze2"}) {
		t.Fatalf("Active() after RevertAll = %v, want [freeze2] (its revert failed)", got)
	}
	if o := probe(member(t, d, "n3").Addr, 5*time.Second); o != outcomeOK {
		t.Errorf("n3 after RevertAll: %s, want ok (thawed)", o)
	}
	if got := processtest.Metric(t, member(t, d, "n2").Addr, "chaosdemo_clock_offset_seconds", nil); got != 0 {
		t.Errorf("n2's clock offset after RevertAll = %g, want 0", got)
	}
	// With n1 running again, the retry succeeds.
	if err := d.Start(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := tr.RevertAll(ctx); err != nil {
		t.Fatalf("RevertAll retry: %v", err)
	}
	if got := tr.Active(); len(got) != 0 {
		t.Fatalf("Active() = %v after the retry, want none", got)
	}
	if err := ledger.End(injectors.OutcomeCompleted); err != nil {
		t.Fatal(err)
	}

	recs, _, err := injectors.ReadLedger(ledger.Path())
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Type != injectors.RecordRunStart || recs[len(recs)-1].Type != injectors.RecordRunEnd {
		t.Fatalf("ledger starts with %s and ends with %s, want run-start … run-end", recs[0].Type, recs[len(recs)-1].Type)
	}
	started := map[string]bool{}
	for _, r := range recs {
		if r.Type == injectors.RecordMember {
			started[r.Member.ID] = r.Member.PID > 0 && r.Member.Start > 0
		}
	}
	for _, id := range []string{"g1", "n1", "n2", "n3"} {
		if !started[id] {
			t.Errorf("no member record with pid and start time for %s", id)
		}
	}
	for _, f := range faults {
		intent := position(recs, injectors.RecordFaultIntent, f.Name)
		applied := position(recs, injectors.RecordFaultApplied, f.Name)
		reverted := position(recs, injectors.RecordFaultReverted, f.Name)
		if intent < 0 || applied <= intent || reverted <= applied {
			t.Errorf("fault %s: intent at %d, applied at %d, reverted at %d; want them in that order", f.Name, intent, applied, reverted)
		}
	}
	if failed := position(recs, injectors.RecordFaultRevertFailed, "freeze2"); failed < 0 || failed > position(recs, injectors.RecordFaultReverted, "freeze2") {
		t.Errorf("freeze2: revert-failed record at %d, want one before its reverted record", failed)
	}
	if intent, failed := position(recs, injectors.RecordFaultIntent, "bad"), position(recs, injectors.RecordFaultFailed, "bad"); intent < 0 || failed <= intent {
		t.Errorf("fault bad: intent at %d, failed at %d; want intent then failed", intent, failed)
	}
	if position(recs, injectors.RecordFaultIntent, "odd") >= 0 {
		t.Error("an intent record for the unknown kind: nothing should be journalled for it")
	}
	if in := recs[position(recs, injectors.RecordFaultIntent, "freeze")]; len(in.Processes) != 1 || in.Processes[0].ID != "n3" || in.Processes[0].PID == 0 {
		t.Errorf("freeze's intent records processes %+v, want n3's", in.Processes)
	}
}

func TestTrackerConcurrentApplyAndRevertAll(t *testing.T) {
	ledger, err := injectors.CreateLedger(t.TempDir(), injectors.RunInfo{Run: "concurrent", Runtime: "process"})
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.End(injectors.OutcomeCompleted)
	d := processtest.StartDemo(t, demo.ClusterSpec{Nodes: 3, Gateways: 0}, processdemo.Options{Run: "concurrent"})
	tr := injectors.NewTracker(injectors.DefaultRegistry(), d, ledger, processtest.Log(t))
	ctx := context.Background()
	links := d.Plane().Links()
	errs := make(chan error, len(links))
	for i, l := range links {
		go func() {
			errs <- tr.Apply(ctx, injectors.Fault{Name: "slow" + strconv.Itoa(i), Kind: injectors.KindLatency, Links: []faultplane.Link{l}, Delay: time.Duration(i+1) * time.Millisecond})
		}()
	}
	for range links {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := tr.Active(); len(got) != len(links) {
		t.Fatalf("Active() = %v, want %d faults", got, len(links))
	}
	// Two RevertAll at once (say a signal during the normal end) revert each
	// fault once.
	done := make(chan error, 2)
	for range 2 {
		go func() { done <- tr.RevertAll(ctx) }()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if got := tr.Active(); len(got) != 0 {
		t.Fatalf("Active() = %v after RevertAll, want none", got)
	}
	for _, l := range links {
		if txs := chaosctlToxics(t, d, l); len(txs) > 0 {
			t.Errorf("toxics left on %s: %v", l, txs)
		}
	}
	recs, _, err := injectors.ReadLedger(ledger.Path())
	if err != nil {
		t.Fatal(err)
	}
	reverted := 0
	for _, r := range recs {
		if r.Type == injectors.RecordFaultReverted {
			reverted++
		}
	}
	if reverted != len(links) {
		t.Errorf("%d reverted records, want %d (one per fault)", reverted, len(links))
	}
}
