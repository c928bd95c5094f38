package clusterctl

import (
	"fmt"
	"strings"

	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// ParseLinks parses the --links flag: "n1>n2,g1>n1" (also "->" or "→").
func ParseLinks(s string) ([]faultplane.Link, error) {
	var out []faultplane.Link
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		norm := strings.NewReplacer("->", ">", "→", ">").Replace(part)
		from, to, ok := strings.Cut(norm, ">")
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		if !ok || from == "" || to == "" || strings.Contains(to, ">") {
			return nil, fmt.Errorf("--links %q: write FROM>TO pairs separated by commas, e.g. n1>n2,g1>n1", part)
		}
		out = append(out, faultplane.Link{From: from, To: to})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--links %q: no link given", s)
	}
	return out, nil
}

// ParseGroups parses the --groups flag: "n1|n2,n3" into [[n1] [n2 n3]].
func ParseGroups(s string) ([][]string, error) {
	var out [][]string
	for i, g := range strings.Split(s, "|") {
		ids := SplitList(g)
		if len(ids) == 0 {
			return nil, fmt.Errorf("--groups %q: group %d is empty; write groups separated by '|', members by ',', e.g. \"n1|n2,n3\"", s, i+1)
		}
		out = append(out, ids)
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("--groups %q: give at least two groups separated by '|', e.g. \"n1|n2,n3\"", s)
	}
	return out, nil
}

// SplitList splits "a, b,c" into [a b c], dropping empty items.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
