package explore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/chaosctl/chaosctl/experiments"
)

// narrowing is one partition made less severe: the fault with its new
// shape and the change as a shrink step names it.
type narrowing struct {
	fault  experiments.Fault
	change string
}

// narrower lists the partitions one step less severe than f, whose plan
// (its mode resolved with the run's seed) is pf, most promising first;
// each cuts a strict subset of f's links. A shape over every node becomes
// the groups it resolved to, narrowed: a ring cuts one of its pairs of
// non-neighbours only; a bridge, halves or a majority-minority split lose
// a member from a group (a minority of two isolates one, a member in no
// group keeps every link); with behavior isolate, the isolated group loses
// a member to the rest (so mode isolate with a size shrinks toward one
// node). Groups of one member each are as narrow as a partition gets.
func narrower(f experiments.Fault, pf experiments.PlannedFault) []narrowing {
	p := f.Partition
	if p == nil {
		return nil
	}
	with := func(groups [][]string, change string) narrowing {
		np := *p
		// Groups name the members: a mode's size goes with the mode.
		np.Mode, np.Groups, np.Size = "", groups, 0
		nf := f
		nf.Partition = &np
		return narrowing{fault: nf, change: fmt.Sprintf("narrow %s to %s", f.Name, change)}
	}
	if len(pf.Ring) > 0 {
		var out []narrowing
		n := len(pf.Ring)
		for i := range n {
			for j := i + 2; j < n; j++ {
				if i == 0 && j == n-1 {
					continue // neighbours on the ring
				}
				a, b := pf.Ring[i], pf.Ring[j]
				out = append(out, with([][]string{{a}, {b}}, fmt.Sprintf("a cut of %s from %s", a, b)))
			}
		}
		if len(out) < 2 {
			return nil // the ring cuts one pair: already that cut
		}
		return out
	}
	groups := pf.Groups
	if len(groups) < 2 {
		return nil
	}
	var out []narrowing
	if p.Behavior == experiments.BehaviorIsolate {
		// The first group leaves the network; the others only document
		// the rest.
		if len(groups[0]) < 2 {
			return nil
		}
		for _, m := range groups[0] {
			off := without(groups[0], m)
			rest := sortedNames(append(slices.Concat(groups[1:]...), m))
			out = append(out, with([][]string{off, rest}, "isolate "+strings.Join(off, " ")))
		}
		return out
	}
	// Members of the largest group go first: a minority is what a failure
	// usually needs.
	order := make([]int, len(groups))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(groups[b]) - len(groups[a]) })
	for _, gi := range order {
		if len(groups[gi]) < 2 {
			continue
		}
		for _, m := range groups[gi] {
			g := slices.Clone(groups)
			g[gi] = without(groups[gi], m)
			out = append(out, with(g, groupsText(g)))
		}
	}
	if len(groups) > 2 {
		for gi := range groups {
			if gi == 0 && p.OneWay {
				continue // the group whose links out are cut
			}
			g := slices.Delete(slices.Clone(groups), gi, gi+1)
			out = append(out, with(g, groupsText(g)))
		}
	}
	return out
}

func without(names []string, name string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == name })
}

func sortedNames(names []string) []string {
	out := slices.Clone(names)
	slices.SortFunc(out, func(a, b string) int {
		// n2 before n10, as the format writes them.
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return strings.Compare(a, b)
	})
	return out
}

func groupsText(groups [][]string) string {
	var parts []string
	for _, g := range groups {
		parts = append(parts, strings.Join(g, " "))
	}
	return strings.Join(parts, " | ")
}

// narrowPartitions narrows each partition one step at a time (narrower)
// while the failure holds, keeping the first narrower shape that fails for
// the same reason.
func (k *shrinker) narrowPartitions(ctx context.Context, s experiments.Schedule) (experiments.Schedule, error) {
	for i := 0; i < len(s.Faults) && !k.stop; i++ {
		for !k.stop && s.Faults[i].Partition != nil {
			pf, ok := k.planned(s, i)
			if !ok {
				break
			}
			narrowed := false
			for _, c := range narrower(s.Faults[i], pf) {
				cand := s
				cand.Faults = cloneFaults(s.Faults)
				cand.Faults[i] = c.fault
				failed, err := k.fails(ctx, cand, c.change)
				if err != nil {
					return s, err
				}
				if failed {
					s, narrowed = cand, true
					break
				}
				if k.stop {
					break
				}
			}
			if !narrowed {
				break
			}
		}
	}
	return s, nil
}

// planned is fault i of s as the run of s plans it (its mode resolved).
func (k *shrinker) planned(s experiments.Schedule, i int) (experiments.PlannedFault, bool) {
	_, exp, err := k.x.source(s, "")
	if err != nil {
		return experiments.PlannedFault{}, false
	}
	plan, err := exp.Plan(s.Seed)
	if err != nil {
		return experiments.PlannedFault{}, false
	}
	for _, pf := range plan.Faults {
		if pf.Name == s.Faults[i].Name {
			return pf, true
		}
	}
	return experiments.PlannedFault{}, false
}
