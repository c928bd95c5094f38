package experiments

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// OpenSLO v1 documents, as `slos: [{openslo: FILE}]` imports them and
// `chaosctl slo export` writes them.
const (
	OpenSLOAPIVersion = "openslo/v1"
	// OpenSLOURLAnnotation is the SLO metadata annotation that holds its
	// Prometheus server (a chaosctl SLO's url).
	OpenSLOURLAnnotation = "chaosctl.io/prometheus-url"
	// OpenSLORange stands for the measured period in the queries of ratio
	// and threshold SLOs ("37s" when the run measured 37 seconds); a
	// counter: true ratioMetric is counted with it.
	OpenSLORange = "$__range"
)

// openSLOKinds are the kinds an OpenSLO file may hold beside SLOs; they are
// skipped.
var openSLOKinds = []string{"SLO", "SLI", "Service", "DataSource", "AlertPolicy", "AlertCondition", "AlertNotificationTarget"}

// importOpenSLO replaces each entry {openslo: FILE} of root's slos with the
// SLOs of that OpenSLO file, built as the node of an inline SLO from the
// file's own nodes: the decoder and the validator then read them like any
// other, and their problems name the OpenSLO file, its line and column
// (decoder.foreign). Problems of the OpenSLO shape itself are reported
// here.
func (d *decoder) importOpenSLO(root *yaml.Node) {
	if root == nil || root.Kind != yaml.MappingNode {
		return
	}
	var slos *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "slos" {
			slos = root.Content[i+1]
		}
	}
	if slos == nil || slos.Kind != yaml.SequenceNode || len(slos.Content) > MaxListItems {
		return // the decoder says what is wrong with it
	}
	var items []*yaml.Node
	changed := false
	for i, item := range slos.Content {
		ref := mappingValue(item, "openslo")
		if ref == nil {
			items = append(items, item)
			continue
		}
		changed = true
		path := fmt.Sprintf("slos[%d]", i)
		for j := 0; j+1 < len(item.Content); j += 2 {
			if k := item.Content[j]; k.Value != "openslo" {
				d.problemAtNode(k, path+"."+k.Value, fmt.Sprintf("%s: openslo imports an OpenSLO file's SLOs whole; give no other field beside it (write the SLO inline to change it)", path))
			}
		}
		before := len(d.problems) + d.omitted
		items = append(items, d.readOpenSLO(ref, path+".openslo")...)
		if len(d.problems)+d.omitted > before {
			// The file's SLOs are not all there: nothing more to say about
			// the list as a whole ("nothing to judge").
			d.openSLOFailed = true
		}
	}
	if changed {
		slos.Content = items
	}
}

// mappingValue is the value of key in mapping n; nil when n is not a
// mapping or has no such key.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			v := n.Content[i+1]
			if v.Kind == yaml.AliasNode && v.Alias != nil {
				v = v.Alias
			}
			return v
		}
	}
	return nil
}

// mappingKey is the key node of key in mapping n (nil when absent).
func mappingKey(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return nil
}

// readOpenSLO reads the OpenSLO file ref names and returns its SLOs as
// inline SLO nodes; none (after reporting why) when it cannot.
func (d *decoder) readOpenSLO(ref *yaml.Node, path string) []*yaml.Node {
	if ref.Kind != yaml.ScalarNode || ref.ShortTag() != "!!str" || strings.TrimSpace(ref.Value) == "" {
		d.problem(ref, path, "expected the path of an OpenSLO v1 file (relative to the experiment's folder), got %s", describeNode(ref))
		return nil
	}
	file := ref.Value
	if !filepath.IsAbs(file) {
		file = filepath.Join(filepath.Dir(d.file), file)
	}
	dirs, err := newExperimentDirs(d.file, nil)
	var resolved string
	if err == nil {
		resolved, err = dirs.resolve(file)
	}
	if errors.Is(err, errOutside) {
		d.problem(ref, path, "%s is outside the experiment's folder %s; allowed: a file in that folder or below it, symlinks resolved", ref.Value, dirs.own)
		return nil
	}
	var data []byte
	if err == nil {
		data, err = ReadFile(resolved)
	}
	if err != nil {
		var verr *ValidationError
		if errors.As(err, &verr) {
			err = errors.New(verr.Problems[0].Msg)
		}
		d.problem(ref, path, "cannot read the OpenSLO file %s: %v (paths are relative to the experiment's folder)", file, err)
		return nil
	}
	if len(data) > MaxFileSize {
		d.problem(ref, path, "the OpenSLO file %s is larger than 1 MiB", file)
		return nil
	}
	docs := d.parseOpenSLO(file, data)
	if docs == nil {
		return nil
	}
	var out []*yaml.Node
	objects := 0
	for _, doc := range docs {
		list := []*yaml.Node{doc}
		if doc.Kind == yaml.SequenceNode {
			list = doc.Content
		}
		for _, o := range list {
			objects++
			if objects > MaxListItems {
				d.problemIn(file, o.Line, o.Column, "", fmt.Sprintf("more than %d OpenSLO objects; split the file", MaxListItems))
				return out
			}
			out = append(out, d.openSLOObject(file, o)...)
		}
	}
	if len(out) == 0 && len(d.problems) == 0 {
		d.problem(ref, path, "the OpenSLO file %s holds no SLO (kind: SLO, apiVersion: %s)", file, OpenSLOAPIVersion)
	}
	return out
}

// parseOpenSLO parses every YAML document of an OpenSLO file; nil after
// reporting why it could not.
func (d *decoder) parseOpenSLO(file string, data []byte) (docs []*yaml.Node) {
	sub := newDecoder(file)
	defer func() {
		if r := recover(); r != nil {
			docs = nil
			d.problemIn(file, 1, 1, "", fmt.Sprintf("YAML parser failed: %v", r))
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			sub.parseProblem(data, err)
			d.problems = append(d.problems, sub.problems...)
			return nil
		}
		if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
			docs = append(docs, doc.Content[0])
		}
		if len(docs) > MaxListItems {
			d.problemIn(file, doc.Line, 1, "", fmt.Sprintf("more than %d YAML documents; split the file", MaxListItems))
			return nil
		}
	}
	if len(docs) == 0 {
		d.problemIn(file, 1, 1, "", "empty file: expected OpenSLO "+OpenSLOAPIVersion+" documents (kind: SLO, ...)")
		return nil
	}
	return docs
}

// oslo reads one OpenSLO object of file.
type oslo struct {
	d    *decoder
	file string
	bad  bool
}

// problem reports a problem at n in the OpenSLO file; path is the field's
// path within the object, e.g. spec.indicator.spec.ratioMetric.good.
func (o *oslo) problem(n *yaml.Node, path, format string, args ...any) {
	o.bad = true
	o.d.problemIn(o.file, n.Line, n.Column, "", path+": "+fmt.Sprintf(format, args...))
}

// mapping checks that n is a mapping whose keys are among allowed (with a
// did-you-mean) and not among refused (key → why).
func (o *oslo) mapping(n *yaml.Node, path string, allowed []string, refused map[string]string) bool {
	if n.Kind != yaml.MappingNode {
		o.problem(n, path, "expected a mapping with fields %s, got %s", strings.Join(allowed, ", "), describeNode(n))
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if why, ok := refused[k.Value]; ok {
			o.problem(k, joinPath(path, k.Value), "%s", why)
			continue
		}
		if !contains(allowed, k.Value) {
			o.problem(k, joinPath(path, k.Value), "unknown field %q %s; allowed: %s%s", k.Value, where(path), strings.Join(allowed, ", "), suggest(k.Value, allowed))
		}
	}
	return true
}

// required returns the value of key in n, reporting it when missing.
func (o *oslo) required(n *yaml.Node, path, key string) *yaml.Node {
	v := mappingValue(n, key)
	if v == nil || isNull(v) {
		o.problem(n, displayPath(path), "missing required field %s", key)
		return nil
	}
	return v
}

// scalar returns n's value when it is a scalar, reporting it otherwise.
func (o *oslo) scalar(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		o.problem(n, path, "expected a single value, got %s", describeNode(n))
		return "", false
	}
	return n.Value, true
}

// openSLOObject converts one OpenSLO object: an SLO into inline SLO nodes
// (one per objective), any other kind of the format into none.
func (d *decoder) openSLOObject(file string, n *yaml.Node) []*yaml.Node {
	o := &oslo{d: d, file: file}
	if !o.mapping(n, "", []string{"apiVersion", "kind", "metadata", "spec"}, nil) {
		return nil
	}
	if v := o.required(n, "", "apiVersion"); v != nil {
		if s, ok := o.scalar(v, "apiVersion"); ok && s != OpenSLOAPIVersion {
			o.problem(v, "apiVersion", "%q is not read; allowed: %s (convert v1alpha files with oslo convert)", s, OpenSLOAPIVersion)
		}
	}
	kind := ""
	if v := o.required(n, "", "kind"); v != nil {
		if s, ok := o.scalar(v, "kind"); ok {
			if !contains(openSLOKinds, s) {
				o.problem(v, "kind", "unknown kind %q; allowed: %s (chaosctl imports the SLOs and skips the rest)%s", s, strings.Join(openSLOKinds, ", "), suggest(s, openSLOKinds))
			}
			kind = s
		}
	}
	if kind != "SLO" || o.bad {
		return nil
	}
	meta, spec := o.required(n, "", "metadata"), o.required(n, "", "spec")
	if meta == nil || spec == nil {
		return nil
	}
	var name, url *yaml.Node
	if o.mapping(meta, "metadata", []string{"name", "displayName", "labels", "annotations"}, nil) {
		name = o.required(meta, "metadata", "name")
		if ann := mappingValue(meta, "annotations"); ann != nil && ann.Kind == yaml.MappingNode {
			url = mappingValue(ann, OpenSLOURLAnnotation)
		}
	}
	timeslices := "chaosctl counts the events of one run against the objective; allowed: budgetingMethod: Occurrences (a thresholdMetric's every second is one event)"
	if !o.mapping(spec, "spec", []string{"description", "service", "indicator", "timeWindow", "budgetingMethod", "objectives", "alertPolicies"},
		map[string]string{"indicatorRef": "an SLI by reference is not resolved; write the SLI inline under spec.indicator"}) {
		return nil
	}
	if bm := mappingValue(spec, "budgetingMethod"); bm != nil {
		if s, ok := o.scalar(bm, "spec.budgetingMethod"); ok && s != "Occurrences" {
			o.problem(bm, "spec.budgetingMethod", "%q is not supported: %s", s, timeslices)
		}
	}
	if tw := mappingValue(spec, "timeWindow"); tw != nil && tw.Kind != yaml.SequenceNode {
		o.problem(tw, "spec.timeWindow", "expected a list of one time window, got %s", describeNode(tw))
	}
	var sli string
	var metric *yaml.Node // ratioMetric or thresholdMetric
	if ind := o.required(spec, "spec", "indicator"); ind != nil && o.mapping(ind, "spec.indicator", []string{"metadata", "spec"}, nil) {
		if is := o.required(ind, "spec.indicator", "spec"); is != nil && o.mapping(is, "spec.indicator.spec", []string{"description", "ratioMetric", "thresholdMetric"}, nil) {
			ratio, threshold := mappingValue(is, "ratioMetric"), mappingValue(is, "thresholdMetric")
			switch {
			case ratio != nil && threshold != nil:
				o.problem(mappingKey(is, "thresholdMetric"), "spec.indicator.spec.thresholdMetric", "give one of ratioMetric and thresholdMetric, not both")
			case ratio != nil:
				sli, metric = string(SLIRatio), ratio
			case threshold != nil:
				sli, metric = string(SLIThreshold), threshold
			default:
				o.problem(is, "spec.indicator.spec", "missing ratioMetric or thresholdMetric (chaosctl reads these two)")
			}
		}
	}
	objs := o.required(spec, "spec", "objectives")
	if objs != nil && (objs.Kind != yaml.SequenceNode || len(objs.Content) == 0) {
		o.problem(objs, "spec.objectives", "expected a list of at least one objective, got %s", describeNode(objs))
		objs = nil
	}
	if name == nil || metric == nil || objs == nil || o.bad {
		return nil
	}
	fields := o.metricFields(sli, metric)
	var out []*yaml.Node
	for i, obj := range objs.Content {
		p := fmt.Sprintf("spec.objectives[%d]", i)
		target := o.objective(sli, obj, p, timeslices)
		if o.bad || target == nil {
			continue
		}
		item := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: obj.Line, Column: obj.Column}
		sloName := name
		if len(objs.Content) > 1 {
			sloName = synth(obj, fmt.Sprintf("%s-%d", name.Value, i+1))
		}
		add := func(key string, at, v *yaml.Node) {
			item.Content = append(item.Content, synth(at, key), v)
		}
		add("name", name, sloName)
		add("sli", metric, synth(metric, sli))
		add("objective", target, target)
		for _, f := range fields {
			add(f.key, f.value, f.value)
		}
		if sli == string(SLIThreshold) {
			add("compare", mappingValue(obj, "op"), mappingValue(obj, "op"))
			add("value", mappingValue(obj, "value"), mappingValue(obj, "value"))
		}
		if url != nil {
			add("url", url, url)
		}
		d.markForeign(item, file)
		out = append(out, item)
	}
	return out
}

// openSLOField is one field of an imported SLO and its value node.
type openSLOField struct {
	key   string
	value *yaml.Node
}

// metricFields reads a ratioMetric's good or bad and total queries, or a
// thresholdMetric's query, as the fields of a chaosctl SLO.
func (o *oslo) metricFields(sli string, m *yaml.Node) []openSLOField {
	if sli == string(SLIThreshold) {
		p := "spec.indicator.spec.thresholdMetric"
		if q := o.metricQuery(m, p); q != nil {
			return []openSLOField{{"query", q}}
		}
		return nil
	}
	p := "spec.indicator.spec.ratioMetric"
	raw := "a raw ratio is one query of the ratio itself; chaosctl counts events: give good (or bad) and total"
	if !o.mapping(m, p, []string{"counter", "good", "bad", "total"}, map[string]string{"raw": raw, "rawType": raw}) {
		return nil
	}
	counter := false
	if c := mappingValue(m, "counter"); c != nil {
		switch c.Value {
		case "true":
			counter = true
		case "false":
		default:
			o.problem(c, p+".counter", "expected true or false, got %s", describeNode(c))
		}
	}
	var out []openSLOField
	good, bad := mappingValue(m, "good"), mappingValue(m, "bad")
	switch {
	case good != nil && bad != nil:
		o.problem(mappingKey(m, "bad"), p+".bad", "give one of good and bad, not both")
		return nil
	case good == nil && bad == nil:
		o.problem(m, p, "missing good or bad")
		return nil
	}
	for _, key := range []string{"good", "bad", "total"} {
		v := mappingValue(m, key)
		if v == nil {
			if key == "total" {
				o.required(m, p, "total")
			}
			continue
		}
		q := o.metricQuery(v, p+"."+key)
		if q == nil {
			continue
		}
		if counter {
			// A counter's events of the measured period.
			q = synth(q, fmt.Sprintf("sum(increase((%s)[%s:]))", q.Value, OpenSLORange))
		}
		out = append(out, openSLOField{key, q})
	}
	return out
}

// metricQuery reads {metricSource: {type: Prometheus, spec: {query: Q}}}
// and returns Q's node.
func (o *oslo) metricQuery(n *yaml.Node, path string) *yaml.Node {
	if !o.mapping(n, path, []string{"metricSource"}, nil) {
		return nil
	}
	src := o.required(n, path, "metricSource")
	p := path + ".metricSource"
	if src == nil || !o.mapping(src, p, []string{"type", "spec"}, map[string]string{
		"metricSourceRef": "a data source by reference is not resolved; give type: Prometheus and spec.query (the server is --prometheus-url, or the SLO's " + OpenSLOURLAnnotation + " annotation)"}) {
		return nil
	}
	if t := o.required(src, p, "type"); t != nil {
		if s, ok := o.scalar(t, p+".type"); ok && !strings.EqualFold(s, "Prometheus") {
			o.problem(t, p+".type", "%q is not read; allowed: Prometheus (chaosctl asks a Prometheus server)", s)
			return nil
		}
	}
	spec := o.required(src, p, "spec")
	if spec == nil || !o.mapping(spec, p+".spec", []string{"query"}, nil) {
		return nil
	}
	q := o.required(spec, p+".spec", "query")
	if q == nil {
		return nil
	}
	if _, ok := o.scalar(q, p+".spec.query"); !ok {
		return nil
	}
	return q
}

// objective checks one objective and returns the node of its target (a
// fraction) or targetPercent (turned into a percentage).
func (o *oslo) objective(sli string, n *yaml.Node, path, timeslices string) *yaml.Node {
	composite := "a composite SLO's objectives are not read; import each SLO on its own"
	if !o.mapping(n, path, []string{"displayName", "op", "value", "target", "targetPercent"}, map[string]string{
		"timeSliceTarget": timeslices, "timeSliceWindow": timeslices,
		"indicator": composite, "indicatorRef": composite, "compositeWeight": composite}) {
		return nil
	}
	if sli == string(SLIThreshold) {
		o.required(n, path, "op")
		o.required(n, path, "value")
	} else {
		for _, k := range []string{"op", "value"} {
			if kn := mappingKey(n, k); kn != nil {
				o.problem(kn, path+"."+k, "applies to a thresholdMetric; a ratioMetric's objective has a target only")
			}
		}
	}
	target, percent := mappingValue(n, "target"), mappingValue(n, "targetPercent")
	switch {
	case target != nil && percent != nil:
		o.problem(mappingKey(n, "targetPercent"), path+".targetPercent", "give one of target and targetPercent, not both")
	case target != nil:
		return target
	case percent != nil:
		if _, err := strconv.ParseFloat(percent.Value, 64); err != nil || percent.Kind != yaml.ScalarNode {
			o.problem(percent, path+".targetPercent", "expected a number such as 99.9, got %s", describeNode(percent))
			return nil
		}
		return synth(percent, percent.Value+"%")
	default:
		o.problem(n, path, "missing target (a fraction such as 0.999) or targetPercent (99.9)")
	}
	return nil
}

// synth is a string scalar at at's position.
func synth(at *yaml.Node, value string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
	if at != nil {
		n.Line, n.Column = at.Line, at.Column
	}
	return n
}

// markForeign records every node under n as file's.
func (d *decoder) markForeign(n *yaml.Node, file string) {
	if n == nil || d.foreign[n] != "" {
		return
	}
	d.foreign[n] = file
	for _, c := range n.Content {
		d.markForeign(c, file)
	}
}
