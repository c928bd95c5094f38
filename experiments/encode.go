package experiments

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// FormatSchedule writes a schedule as the YAML a file would hold: its seed
// and its faults, one flow mapping per fault. The same schedule always
// gives the same bytes.
func FormatSchedule(w io.Writer, s Schedule) error {
	root := mapping(nil)
	addPair(root, "seed", intNode(s.Seed))
	addPair(root, "faults", faultsNode(s.Faults))
	return encodeYAML(w, root)
}

// ScheduleSource turns an experiment file into a plain v1 experiment that
// runs schedule s: the nemesis section is removed, seed is s.Seed, faults
// are s.Faults and workload.duration is s.Duration. Comments stay where
// they were, except that header, when not "", replaces the file's head
// comment. The result is decoded (as file) before it is returned, so it
// is what `chaosctl validate` accepts and `chaosctl run` runs.
func ScheduleSource(file string, src []byte, s Schedule, header string) ([]byte, *Experiment, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, nil, fmt.Errorf("schedule source %s: %w", file, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("schedule source %s: not a mapping", file)
	}
	root := doc.Content[0]
	removeKey(root, "nemesis")
	setKey(root, "seed", intNode(s.Seed), "metadata")
	setKey(root, "faults", faultsNode(s.Faults), "steadyState", "workload")
	if w := lookupKey(root, "workload"); w != nil && w.Kind == yaml.MappingNode {
		setKey(w, "duration", durationNode(s.Duration))
	} else {
		return nil, nil, fmt.Errorf("schedule source %s: workload is not a mapping written in the file", file)
	}
	if header != "" {
		doc.HeadComment = header
		root.HeadComment = ""
		if len(root.Content) > 0 {
			root.Content[0].HeadComment = ""
		}
	}
	var b bytes.Buffer
	if err := encodeYAML(&b, &doc); err != nil {
		return nil, nil, fmt.Errorf("schedule source %s: %w", file, err)
	}
	e, err := Decode(file, b.Bytes())
	if err != nil {
		return nil, nil, fmt.Errorf("schedule source %s: the written experiment is invalid: %w", file, err)
	}
	if e.Nemesis != nil {
		return nil, nil, fmt.Errorf("schedule source %s: the nemesis comes from a merge key; write the section out", file)
	}
	return b.Bytes(), e, nil
}

// ControlSource turns an experiment file into its control run: the same
// file with seed, no faults, every SLO judged on the whole run (judge:
// faults has no faults to judge), and no control, degradation, repeat or
// nemesis. header replaces the file's head comment. The result is decoded
// (as file) before it is returned, so the control run is a plain
// experiment that `chaosctl run` runs the same way.
func ControlSource(file string, src []byte, seed int64, header string) ([]byte, *Experiment, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, nil, fmt.Errorf("control source %s: %w", file, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("control source %s: not a mapping", file)
	}
	root := doc.Content[0]
	for _, k := range []string{"nemesis", "control", "degradation", "repeat"} {
		removeKey(root, k)
	}
	setKey(root, "seed", intNode(seed), "metadata")
	setKey(root, "faults", faultsNode(nil), "steadyState", "workload")
	if slos := lookupKey(root, "slos"); slos != nil && slos.Kind == yaml.SequenceNode {
		for _, s := range slos.Content {
			if s.Kind == yaml.MappingNode && lookupKey(s, "judge") != nil {
				setKey(s, "judge", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: string(JudgeRun)})
			}
		}
	}
	doc.HeadComment = header
	root.HeadComment = ""
	if len(root.Content) > 0 {
		root.Content[0].HeadComment = ""
	}
	var b bytes.Buffer
	if err := encodeYAML(&b, &doc); err != nil {
		return nil, nil, fmt.Errorf("control source %s: %w", file, err)
	}
	e, err := Decode(file, b.Bytes())
	if err != nil {
		return nil, nil, fmt.Errorf("control source %s: the written experiment is invalid: %w", file, err)
	}
	if len(e.Faults) > 0 || e.Control || e.Nemesis != nil {
		return nil, nil, fmt.Errorf("control source %s: faults, control or nemesis come from a merge key; write the sections out", file)
	}
	return b.Bytes(), e, nil
}

func encodeYAML(w io.Writer, n *yaml.Node) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return err
	}
	return enc.Close()
}

// lookupKey returns the value of key in mapping m, nil when absent.
func lookupKey(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func removeKey(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

// setKey replaces key's value in m, or adds the pair after the first of
// after that m holds (at the end without one).
func setKey(m *yaml.Node, key string, value *yaml.Node, after ...string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			value.LineComment = m.Content[i+1].LineComment
			m.Content[i+1] = value
			return
		}
	}
	at := len(m.Content)
	for _, a := range after {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == a {
				at = min(at, i+2)
			}
		}
		if at < len(m.Content) {
			break
		}
	}
	pair := []*yaml.Node{strNode(key), value}
	m.Content = append(m.Content[:at], append(pair, m.Content[at:]...)...)
}

// faultsNode is a block list of faults, each a flow mapping.
func faultsNode(faults []Fault) *yaml.Node {
	seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for i := range faults {
		seq.Content = append(seq.Content, FaultNode(&faults[i]))
	}
	return seq
}

// FaultNode is a fault as a file writes it, in flow style: name, at, the
// duration when the kind takes one, and the kind's fields that are set.
func FaultNode(f *Fault) *yaml.Node {
	m := mapping(nil)
	m.Style = yaml.FlowStyle
	addPair(m, "name", strNode(f.Name))
	addPair(m, "at", durationNode(f.At))
	if k := f.Kind(); k != FaultCrash && !faultCaps(k).Instant {
		addPair(m, "duration", durationNode(f.Duration))
	}
	if k := f.Kind(); k != "" {
		field, _ := findField(structFields(reflect.TypeFor[Fault]()), string(k))
		if n, set := valueNode(reflect.ValueOf(*f).FieldByIndex(field.index)); set {
			addPair(m, string(k), n)
		} else {
			addPair(m, string(k), mapping(nil))
		}
	}
	return m
}

func intNode(i int64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(i, 10)}
}

func durationNode(d time.Duration) *yaml.Node { return strNode(d.String()) }

// valueNode writes a model value in flow style, and reports whether it is
// set (not the zero value): fields that are not set are left out.
func valueNode(v reflect.Value) (*yaml.Node, bool) {
	switch v.Interface().(type) {
	case time.Duration:
		d := time.Duration(v.Int())
		return durationNode(d), d != 0
	case Percent:
		p := Percent(v.Float())
		return strNode(p.String()), p != 0
	case ByteRate:
		r := ByteRate(v.Float())
		return strNode(r.String()), r != 0
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil, false
		}
		n, _ := valueNode(v.Elem())
		return n, true
	case reflect.Struct:
		m := mapping(nil)
		m.Style = yaml.FlowStyle
		for _, f := range structFields(v.Type()) {
			if n, set := valueNode(v.FieldByIndex(f.index)); set {
				addPair(m, f.name, n)
			}
		}
		return m, len(m.Content) > 0
	case reflect.Slice:
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
		for i := range v.Len() {
			n, _ := valueNode(v.Index(i))
			seq.Content = append(seq.Content, n)
		}
		return seq, v.Len() > 0
	case reflect.Map:
		// Names to strings (an http fault's match.headers), in name order.
		m := mapping(nil)
		m.Style = yaml.FlowStyle
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			n, _ := valueNode(v.MapIndex(k))
			addPair(m, k.String(), n)
		}
		return m, v.Len() > 0
	case reflect.String:
		return strNode(v.String()), v.String() != ""
	case reflect.Int, reflect.Int64:
		return intNode(v.Int()), v.Int() != 0
	case reflect.Float64:
		return floatNode(v.Float()), v.Float() != 0
	case reflect.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v.Bool())}, v.Bool()
	}
	// Only reachable if a fault gains a field of a new kind; the decode
	// that ScheduleSource ends with reports it.
	return strNode(fmt.Sprint(v.Interface())), !v.IsZero()
}
