package runner

import (
	"testing"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/probes/workload"
)

// TestSLOOpAliases: an SLO's op counts the requests the metrics label the
// same way: read and get count gets, write counts puts and deletes, put
// and delete each their own.
func TestSLOOpAliases(t *testing.T) {
	ops := map[workload.OpKind]*workload.OpStats{
		workload.OpGet:    {Total: 10, OK: 10},
		workload.OpPut:    {Total: 5, OK: 5},
		workload.OpDelete: {Total: 2, OK: 2},
	}
	all := &workload.OpStats{Total: 17, OK: 17}
	for op, want := range map[string]int64{
		"": 17, experiments.OpRead: 10, experiments.OpGet: 10, experiments.OpWrite: 7, experiments.OpPut: 5, experiments.OpDelete: 2,
	} {
		if got := sloTally(all, ops, nil, op).Total; got != want {
			t.Errorf("op %q counts %d requests, want %d", op, got, want)
		}
	}
}
