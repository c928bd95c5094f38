package experiments

import (
	"slices"
	"testing"
)

// Range sharding with no split points divides the workload's own key names
// evenly: the random pattern's k0..k{keys-1} in byte order, or the
// sequential pattern's zero-padded names.
func TestDefaultSplitsFollowTheWorkload(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"random keys", "target: {demo: {nodes: 3, sharding: range}}\nworkload: {rate: 10, duration: 10s, keys: 1000}\n", []string{"k4", "k7"}},
		{"sequential keys", "target: {demo: {nodes: 4, sharding: range}}\nworkload: {rate: 10, duration: 10s, keys: 2000, keyPattern: sequential}\n", []string{"k0500", "k1000", "k1500"}},
		{"given splits kept", "target: {demo: {nodes: 3, sharding: range, splits: [b, c]}}\nworkload: {rate: 10, duration: 10s}\n", []string{"b", "c"}},
		{"hash has none", "target: {demo: {nodes: 3}}\nworkload: {rate: 10, duration: 10s}\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "apiVersion: chaosctl/v1\nkind: Experiment\nmetadata: {name: t}\nchecks: [linearizable]\n" + tt.src
			e, err := Decode("t.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Target.Demo.Splits; !slices.Equal(got, tt.want) {
				t.Fatalf("splits %q, want %q", got, tt.want)
			}
			spec, err := e.DemoSpec()
			if err != nil {
				t.Fatalf("DemoSpec: %v", err)
			}
			if !slices.Equal(spec.Splits, tt.want) || spec.Sharding != string(e.Target.Demo.Sharding) {
				t.Fatalf("spec sharding %s %q, want %s %q", spec.Sharding, spec.Splits, e.Target.Demo.Sharding, tt.want)
			}
		})
	}
}
