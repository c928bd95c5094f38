package clusterctl

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/democluster"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process"
)

// planeDemo is a Demo of fake members behind a real embedded toxiproxy with
// a proxy for every link of the demo cluster.
type planeDemo struct{ *fakeTarget }

func (d planeDemo) MemberStatuses() []MemberStatus {
	var out []MemberStatus
	for _, m := range d.members {
		addr := d.plane.Addr(faultplane.Link{From: faultplane.ClientSide, To: m.ID})
		out = append(out, MemberStatus{MemberInfo: process.MemberInfo{ID: m.ID, Role: m.Role, Addr: addr, PID: m.PID, Running: true}, Listen: m.Addr})
	}
	return out
}

func startPlaneDemo(t *testing.T) startDemo {
	return func(ctx context.Context, spec demo.ClusterSpec, opts demoOptions) (Demo, error) {
		plane, err := faultplane.StartEmbedded(ctx, opts.Run, opts.Log)
		if err != nil {
			return nil, err
		}
		d := planeDemo{&fakeTarget{plane: plane}}
		for i, id := range spec.MemberIDs() {
			d.members = append(d.members, targets.Member{ID: id, Role: demo.RoleOf(id), Addr: "127.0.0.1:1", PID: 1000 + i})
		}
		for _, l := range democluster.Links(spec) {
			if _, err := plane.AddProxy(l, "127.0.0.1:0", "127.0.0.1:1"); err != nil {
				_ = plane.Close()
				return nil, err
			}
		}
		opts.OnStarted(d.members)
		return d, nil
	}
}

func TestUpServesTheControlAPIAndCloseUndoesEverything(t *testing.T) {
	stateDir, dataDir := t.TempDir(), t.TempDir()
	stateFile := filepath.Join(t.TempDir(), "cluster.json")
	ctx := context.Background()
	c, err := Up(ctx, UpOptions{Spec: testSpec, StateDir: stateDir, DataDir: dataDir, StateFile: stateFile, Log: quietLog(), start: startPlaneDemo(t)})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			_ = c.Close()
		}
	}()
	st := c.State()
	if st.Name != DefaultName || len(st.Gateways) != 1 || len(st.Nodes) != 3 || st.Dir != dataDir || st.PID != os.Getpid() || len(st.Links) != len(democluster.Links(testSpec)) {
		t.Fatalf("state %+v", st)
	}
	if g1 := st.Gateways[0]; g1.ID != "g1" || g1.Addr == "" || g1.Addr == g1.Listen {
		t.Fatalf("g1 in the state file: %+v; want its address through the fault plane", g1)
	}
	found, err := Find(FindOptions{StateDir: stateDir})
	if err != nil || found.Token != st.Token || found.Control != st.Control {
		t.Fatalf("Find after Up: %+v, %v", found, err)
	}
	if fromFile, err := ReadState(stateFile); err != nil || fromFile.Token != st.Token {
		t.Fatalf("the --state file: %+v, %v", fromFile, err)
	}
	if _, err := Up(ctx, UpOptions{Spec: testSpec, Name: DefaultName, NameExplicit: true, StateDir: stateDir, Log: quietLog(), start: startPlaneDemo(t)}); !IsInputError(err) {
		t.Fatalf("a second Up under the same explicit name: %v, want an input error", err)
	}

	// A latency fault on client>g1 becomes a toxic on that proxy of the
	// real toxiproxy, and Close takes it away.
	client := NewClient(found)
	v, err := client.Apply(ctx, Request{Fault: injectors.Fault{Kind: "latency", Links: []faultplane.Link{{From: "client", To: "g1"}}, Delay: 50 * time.Millisecond}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "latency-1" {
		t.Fatalf("applied %+v", v)
	}
	proxy := c.demo.Plane().Proxy(faultplane.Link{From: "client", To: "g1"})
	toxics, err := proxy.Toxics()
	if err != nil || len(toxics) != 1 || toxics[0].Type != "latency" {
		t.Fatalf("toxics on client>g1: %+v, %v", toxics, err)
	}
	if _, err := client.Apply(ctx, pauseReq("nap", "1h", "n2")); err != nil {
		t.Fatal(err)
	}

	closed = true
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := c.demo.(planeDemo).Calls(); !slices.Equal(got, []string{"pause n2", "resume n2", "close "}) {
		t.Fatalf("target calls %v: want the pause reverted before the members stop", got)
	}
	if _, err := proxy.Toxics(); err == nil {
		t.Fatal("the fault plane still answers after Close")
	}
	for _, p := range []string{stateFile, StatePath(stateDir, DefaultName)} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("state file %s outlived Close: %v", p, err)
		}
	}
	if Live(stateDir, DefaultName) {
		t.Error("the name is still claimed after Close")
	}
	recs, _, err := injectors.ReadLedger(st.Ledger)
	if err != nil {
		t.Fatal(err)
	}
	var reverted []string
	for _, r := range recs {
		if r.Type == injectors.RecordFaultReverted {
			reverted = append(reverted, r.FaultName)
		}
	}
	if !slices.Equal(reverted, []string{"nap", "latency-1"}) || recs[len(recs)-1].Type != injectors.RecordRunEnd {
		t.Fatalf("ledger: reverted %v, last record %s; want both reverted, newest first, then the run's end", reverted, recs[len(recs)-1].Type)
	}
	if _, err := os.Stat(dataDir); err != nil {
		t.Errorf("a data directory given by the caller was removed: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestUpWithAFailedRevertLeavesTheLedgerOpen(t *testing.T) {
	stateDir := t.TempDir()
	c, err := Up(context.Background(), UpOptions{Spec: testSpec, StateDir: stateDir, Log: quietLog(), start: startPlaneDemo(t)})
	if err != nil {
		t.Fatal(err)
	}
	dataDir := c.State().Dir
	if _, err := NewClient(c.State()).Apply(context.Background(), pauseReq("stuck", "1h", "n1")); err != nil {
		t.Fatal(err)
	}
	c.demo.(planeDemo).failResumes(1_000_000)
	err = c.Close()
	if err == nil || !strings.Contains(err.Error(), "some faults could not be reverted and may remain (run `chaosctl recover`)") || !strings.Contains(err.Error(), "stuck") {
		t.Fatalf("Close with a failing revert: %v", err)
	}
	recs, _, err := injectors.ReadLedger(c.State().Ledger)
	if err != nil {
		t.Fatal(err)
	}
	if last := recs[len(recs)-1]; last.Type == injectors.RecordRunEnd {
		t.Fatal("the ledger was ended although a fault may remain: recover would skip it")
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("the temporary data directory outlived Close: %v", err)
	}
}
