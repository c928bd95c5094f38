package experiments

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// setUsage says how a --set is written.
const setUsage = "write --set PATH=VALUE with PATH a field path as problems name it (workload.rate, faults[0].duration, target.demo.nodes)"

// setSegmentRE is one dot-separated part of a --set path: a name with
// optional [i] indices, or indices alone after a list.
var setSegmentRE = regexp.MustCompile(`^([^\[\]]*)((?:\[\d+\])*)$`)

// pathStep is one step of a --set path: a field or key name, or a list
// index.
type pathStep struct {
	name  string
	index int // -1 for a name
}

// parseSetPath splits workload.http[0].headers.X-Key into its steps.
func parseSetPath(path string) ([]pathStep, error) {
	if path == "" {
		return nil, fmt.Errorf("the path is empty; %s", setUsage)
	}
	var steps []pathStep
	for _, part := range strings.Split(path, ".") {
		m := setSegmentRE.FindStringSubmatch(part)
		if m == nil || (m[1] == "" && (m[2] == "" || len(steps) == 0)) {
			return nil, fmt.Errorf("bad path %q; %s", path, setUsage)
		}
		if m[1] != "" {
			steps = append(steps, pathStep{name: m[1], index: -1})
		}
		for _, ix := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(m[2], "["), "]"), "][") {
			if ix == "" {
				continue
			}
			i, err := strconv.Atoi(ix)
			if err != nil {
				return nil, fmt.Errorf("bad index [%s] in %q; %s", ix, path, setUsage)
			}
			steps = append(steps, pathStep{index: i})
		}
	}
	return steps, nil
}

// applySets applies each --set to the tree under root, a file of type t,
// and returns the root to decode. What a --set changes is copied first,
// so an anchored value that other places alias keeps its value there.
// Every node a --set makes has the line -(k+1), k its index in sets, so
// its problems name the --set (problemAt).
func (d *decoder) applySets(root *yaml.Node, t reflect.Type, sets []string) *yaml.Node {
	for _, arg := range sets {
		k := len(d.vars.sets)
		d.vars.sets = append(d.vars.sets, arg)
		s := setter{d: d, line: -(k + 1)}
		path, value, ok := strings.Cut(arg, "=")
		if !ok {
			d.problemAt(s.line, 0, "", fmt.Sprintf("no = in it; %s", setUsage))
			continue
		}
		steps, err := parseSetPath(path)
		if err != nil {
			d.problemAt(s.line, 0, "", err.Error())
			continue
		}
		s.path, s.value = path, value
		n, err := s.put(root, t, steps, "")
		if err != nil {
			d.problemAt(s.line, 0, "", err.Error())
			continue
		}
		root = n
	}
	return root
}

// setter applies one --set.
type setter struct {
	d           *decoder
	line        int
	path, value string
}

// put returns a copy of n (nil: absent) with the value at steps set; t is
// n's type and at its path.
func (s *setter) put(n *yaml.Node, t reflect.Type, steps []pathStep, at string) (*yaml.Node, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if len(steps) == 0 {
		if !scalarType(t) {
			return nil, fmt.Errorf("%s is %s; --set sets one value: name a field inside it", displayPath(at), describeType(t))
		}
		return s.scalar(at), nil
	}
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	var c *yaml.Node
	if n != nil && !isNull(n) {
		cp := *n
		cp.Content = append([]*yaml.Node(nil), n.Content...)
		c = &cp
	}
	step := steps[0]
	if step.index >= 0 {
		item := fmt.Sprintf("%s[%d]", at, step.index)
		switch {
		case t.Kind() != reflect.Slice:
			return nil, fmt.Errorf("%s is %s, not a list; it has no %s", displayPath(at), describeType(t), item)
		case c == nil || c.Kind != yaml.SequenceNode:
			return nil, fmt.Errorf("the file has no list at %s; --set changes an item the file has, and adds none", displayPath(at))
		case step.index >= len(c.Content):
			return nil, fmt.Errorf("%s has %d items in the file; --set changes an item the file has (%s[0] to %s[%d]), and adds none", displayPath(at), len(c.Content), at, at, len(c.Content)-1)
		}
		v, err := s.put(c.Content[step.index], t.Elem(), steps[1:], item)
		if err != nil {
			return nil, err
		}
		c.Content[step.index] = v
		return c, nil
	}
	var elem reflect.Type
	switch {
	case t.Kind() == reflect.Map:
		elem = t.Elem()
	case t.Kind() == reflect.Struct:
		fields := structFields(t)
		f, ok := findField(fields, step.name)
		if !ok {
			return nil, fmt.Errorf("unknown field %q %s; allowed: %s%s", step.name, where(at), fieldNames(fields), suggest(step.name, names(fields)))
		}
		elem = t.FieldByIndex(f.index).Type
	default:
		return nil, fmt.Errorf("%s is %s; it has no field %s", displayPath(at), describeType(t), step.name)
	}
	if c == nil {
		c = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: s.line}
	}
	if c.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s is %s in the file; --set can set a field of a mapping only", displayPath(at), describeNode(c))
	}
	p := joinPath(at, step.name)
	for i := 0; i+1 < len(c.Content); i += 2 {
		if k := c.Content[i]; k.Kind == yaml.ScalarNode && k.Value == step.name {
			v, err := s.put(c.Content[i+1], elem, steps[1:], p)
			if err != nil {
				return nil, err
			}
			c.Content[i+1] = v
			return c, nil
		}
	}
	v, err := s.put(nil, elem, steps[1:], p)
	if err != nil {
		return nil, err
	}
	key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: step.name, Line: s.line}
	c.Content = append(c.Content, key, v)
	return c, nil
}

// scalar is the value node of the --set, read like a substituted value.
func (s *setter) scalar(at string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: scalarTag(s.value), Value: s.value, Line: s.line}
	s.d.vars.nodes[n] = &varNode{
		written: strings.ReplaceAll(s.value, "$", "$$"),
		uses:    []Variable{{Name: at, Value: s.value, From: FromSet}},
		set:     true,
	}
	return n
}

// scalarType reports whether a value of type t is written as one scalar.
func scalarType(t reflect.Type) bool {
	if t == durationType {
		return true
	}
	p := reflect.New(t).Interface()
	if _, ok := p.(scalarParser); ok {
		return true
	}
	if _, ok := p.(plainRange); ok {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Int, reflect.Int64, reflect.Float64, reflect.Bool:
		return true
	}
	return false
}
