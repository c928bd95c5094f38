package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/probes/workload"
	"github.com/chaosctl/chaosctl/slo"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo/api"
)

// crdtPoll is how often the CRDT read-back asks again while the home
// replicas still differ.
const crdtPoll = 250 * time.Millisecond

// readBackCRDT reverts every fault, lets the cluster settle, then reads every
// home replica's own copy of every CRDT value the workload updated, for the
// converges check. Replicas that still differ, or could not be read, are
// read again until they agree or steadyState.recoveryWithin (at least a
// second) has passed since the cluster settled: what is left then is the
// verdict's.
func (r *runState) readBackCRDT(ctx context.Context, target targets.Target, tracker *injectors.Tracker) error {
	if err := r.revertRemaining(ctx, tracker); err != nil {
		return fmt.Errorf("revert before the read-back: %w: %w", ErrEnvironment, err)
	}
	if !r.settle(ctx, target) {
		return nil
	}
	values, err := r.crdtValues()
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	var nodes []string
	for _, m := range target.Members() {
		if m.Role == "node" {
			nodes = append(nodes, m.Addr)
		}
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(max(r.e.SteadyState.RecoveryWithin, time.Second))
	var finals []slo.CRDTFinal
	for {
		finals = make([]slo.CRDTFinal, 0, len(values))
		for _, v := range values {
			finals = append(finals, readCRDTReplicas(ctx, client, nodes, v.Type, v.Key))
		}
		if allAgree(finals) || ctx.Err() != nil || !time.Now().Add(crdtPoll).Before(deadline) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(crdtPoll):
		}
	}
	r.crdtFinals = finals
	if b, err := json.MarshalIndent(finals, "", "  "); err == nil {
		if err := os.WriteFile(filepath.Join(r.dir, slo.CRDTFinalFile), b, 0o644); err != nil {
			r.log.WithError(err).Warn("write the CRDT read-back")
		}
	}
	r.journal.Add("read-back", map[string]any{"crdtValues": len(values), "converged": allAgree(finals)})
	return nil
}

// allAgree reports whether every value was read on every home replica and
// the replicas of each hold the same state.
func allAgree(finals []slo.CRDTFinal) bool {
	for _, f := range finals {
		if len(f.Replicas) == 0 {
			return false
		}
		for _, rep := range f.Replicas {
			if rep.Err != "" || rep.Value != f.Replicas[0].Value || !slices.Equal(rep.Elements, f.Replicas[0].Elements) {
				return false
			}
		}
	}
	return true
}

// readCRDTReplicas asks every store node (at its own address, past the
// fault plane) for its copy of a CRDT value and keeps the home replicas'.
// A node that does not answer is kept with the error: it may be a home
// replica.
func readCRDTReplicas(ctx context.Context, c *http.Client, nodes []string, typ, key string) slo.CRDTFinal {
	f := slo.CRDTFinal{Type: typ, Key: key}
	for _, addr := range nodes {
		var view struct {
			Node     string   `json:"node"`
			Home     bool     `json:"home"`
			Value    *int64   `json:"value"`
			Elements []string `json:"elements"`
		}
		err := getJSON(ctx, c, "http://"+addr+api.CRDTPrefix+typ+"/"+url.PathEscape(key)+"?local=1", &view)
		switch {
		case err != nil:
			f.Replicas = append(f.Replicas, slo.CRDTReplica{Node: addr, Err: err.Error()})
		case view.Home:
			rep := slo.CRDTReplica{Node: view.Node, Elements: view.Elements}
			if view.Value != nil {
				rep.Value = *view.Value
			}
			f.Replicas = append(f.Replicas, rep)
		}
	}
	return f
}

func getJSON(ctx context.Context, c *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d %s", u, resp.StatusCode, resp.Header.Get(api.HeaderError))
	}
	return json.NewDecoder(io.LimitReader(resp.Body, api.MaxValueLen)).Decode(v)
}

// crdtValue names one CRDT value.
type crdtValue struct{ Type, Key string }

// crdtValues lists the CRDT values the history updated, in first-update order.
func (r *runState) crdtValues() ([]crdtValue, error) {
	f, err := os.Open(filepath.Join(r.dir, "history.ndjson"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[crdtValue]bool{}
	var out []crdtValue
	err = workload.ReadHistory(f, func(h workload.HistoryOp) error {
		v := crdtValue{h.CRDT, h.Key}
		if h.CRDT != "" && h.Op.IsWrite() && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
		return nil
	})
	return out, err
}
