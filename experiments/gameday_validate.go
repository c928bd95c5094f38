package experiments

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// validateGameDay fills the playbook's defaults, validates it and resolves
// its experiment and checkpoint steps into experiments with the shared
// target. Problems in the playbook go to d; problems in experiment files
// it names are returned (they carry those files' names).
func validateGameDay(gd *GameDay, d *decoder, dirs experimentDirs) (extra []Problem) {
	t := &gd.Target
	if t.Demo == nil && t.External == nil {
		c := DefaultDemoCluster()
		t.Demo = &c
	} else if t.Demo != nil {
		setDemoDefaults(t.Demo, d)
	}
	if !d.has("target.runtime") {
		t.Runtime = DefaultRuntime
		switch {
		case t.External != nil && t.Demo == nil:
			t.Runtime = RuntimeExternal
		case t.Kubernetes != nil:
			t.Runtime = RuntimeKubernetes
		}
	}
	v := &validator{d: d, e: &Experiment{Target: *t}}
	if v.required("apiVersion") && gd.APIVersion != APIVersion {
		v.errorf("apiVersion", "unsupported version %q; allowed: %s", gd.APIVersion, APIVersion)
	}
	if v.required("kind") && gd.Kind != KindGameDay {
		v.errorf("kind", "bad kind %q; allowed: %s (an experiment is run with chaosctl run)", gd.Kind, KindGameDay)
	}
	v.name("metadata.name", gd.Metadata.Name)
	if d.has("target.external") {
		v.keyErrorf("target.external", "a GameDay's shared target is the demo cluster (runtime process, docker or kubernetes); external targets are not supported by gameday")
	} else {
		v.target()
	}
	targetOK := v.clean("target")

	if !v.required("steps") {
		return nil
	}
	switch {
	case len(gd.Steps) == 0:
		v.errorf("steps", "is empty; give at least one step")
		return nil
	case len(gd.Steps) > MaxSteps:
		v.errorf("steps", "has %d steps; at most %d are allowed", len(gd.Steps), MaxSteps)
		return nil
	}
	names := make([]string, len(gd.Steps))
	for i := range gd.Steps {
		names[i] = gd.Steps[i].Name
		extra = append(extra, v.step(gd, i, targetOK, dirs)...)
	}
	v.unique("step name", names, func(i int) string { return fmt.Sprintf("steps[%d].name", i) })
	return extra
}

// clean reports whether no problem so far concerns path or anything under
// it.
func (v *validator) clean(path string) bool {
	for _, p := range v.d.problems {
		if under(p.Path, path) {
			return false
		}
	}
	return v.ok(path)
}

// under reports whether path is prefix or lies below it.
func under(path, prefix string) bool {
	if prefix == "" || path == prefix {
		return true
	}
	return strings.HasPrefix(path, prefix) && (path[len(prefix)] == '.' || path[len(prefix)] == '[')
}

var stepKindFields = []string{StepManual, StepExperiment, StepWait, StepCheckpoint}

func (v *validator) step(gd *GameDay, i int, targetOK bool, dirs experimentDirs) []Problem {
	s := &gd.Steps[i]
	p := fmt.Sprintf("steps[%d]", i)
	v.name(p+".name", s.Name)
	kind := v.exactlyOne(p, stepKindFields...)
	if (kind == StepManual || kind == StepWait) && v.d.has(p+".continueOnFail") {
		v.keyErrorf(p+".continueOnFail", "applies to experiment and checkpoint steps, whose verdict may stop the GameDay")
	}
	switch kind {
	case StepManual:
		m := s.Manual
		if v.required(p+".manual.instructions") && strings.TrimSpace(m.Instructions) == "" {
			v.errorf(p+".manual.instructions", "is empty; tell the operator what to do")
		}
		if v.d.has(p+".expect") && v.d.has(p+".manual.expect") {
			v.keyErrorf(p+".manual.expect", "expect is given twice (also at %s.expect); give it once", p)
		}
		if s.Expect == "" {
			s.Expect = m.Expect
		}
		m.Expect = s.Expect
	case StepWait:
		if *s.Wait <= 0 || *s.Wait > MaxWait {
			v.errorf(p+".wait", "%s is out of range; allowed: above 0 up to %s", *s.Wait, MaxWait)
		}
	case StepCheckpoint:
		v.checkpoint(s, p, targetOK)
	case StepExperiment:
		switch v.exactlyOne(p+".experiment", "path", "inline") {
		case "path":
			return v.experimentFile(gd, s, p, targetOK, dirs)
		case "inline":
			v.inlineExperiment(s, p, targetOK)
		}
	}
	return nil
}

func (v *validator) checkpoint(s *Step, p string, targetOK bool) {
	c := s.Checkpoint
	cp := p + ".checkpoint"
	if v.required(cp+".duration") && (c.Duration < time.Second || c.Duration > MaxCheckpointDuration) {
		v.errorf(cp+".duration", "%s is out of range; allowed: 1s to %s", c.Duration, MaxCheckpointDuration)
	}
	set(v.d, cp+".rate", &c.Rate, DefaultCheckpointRate)
	if v.d.has(cp+".rate") && (c.Rate <= 0 || c.Rate > MaxRate) {
		v.errorf(cp+".rate", "%g requests/s is out of range; allowed: above 0 up to %g", c.Rate, MaxRate)
	}
	set(v.d, cp+".warmup", &c.Warmup, DefaultCheckpointWarmup)
	v.durationRange(cp+".warmup", c.Warmup, 0, time.Minute)
	if v.required(cp+".probes") && len(c.Probes) == 0 {
		v.errorf(cp+".probes", "is empty; give at least one probe to judge the checkpoint")
	}
	if !targetOK || !v.clean(cp) {
		return
	}
	// The checkpoint is an experiment without faults whose steady-state
	// window is its whole measured duration: built from the file's own
	// nodes, so its probes are validated (at their positions) like any.
	root := v.experimentRoot(v.d.values[cp], stepMetaName(s.Name))
	workload := mapping(v.d.values[cp])
	addPair(workload, "rate", v.valueOr(cp+".rate", floatNode(c.Rate)))
	addPair(workload, "duration", v.d.values[cp+".duration"])
	addPair(workload, "warmup", v.valueOr(cp+".warmup", strNode(c.Warmup.String())))
	addPair(root, "workload", workload)
	ss := mapping(v.d.values[cp])
	addPair(ss, "window", v.d.values[cp+".duration"])
	addPair(ss, "probes", v.d.values[cp+".probes"])
	addPair(root, "steadyState", ss)
	rewrite := func(path string) string {
		switch {
		case strings.HasPrefix(path, "steadyState.probes"):
			return cp + strings.TrimPrefix(path, "steadyState")
		case path == "steadyState.window":
			return cp + ".duration"
		case strings.HasPrefix(path, "workload."):
			return cp + strings.TrimPrefix(path, "workload")
		}
		return cp
	}
	v.embed(s, root, rewrite)
}

func (v *validator) inlineExperiment(s *Step, p string, targetOK bool) {
	ip := p + ".experiment.inline"
	if !targetOK || !v.clean(p+".experiment") {
		return
	}
	in := v.d.values[ip]
	root := v.experimentRoot(in, stepMetaName(s.Name))
	root.Content = append(root.Content, in.Content...)
	v.embed(s, root, func(path string) string {
		if path == "" {
			return ip
		}
		return ip + "." + path
	})
}

// embed decodes a synthesized experiment and reports its problems in the
// playbook, their paths rewritten to the playbook's.
func (v *validator) embed(s *Step, root *yaml.Node, rewrite func(string) string) {
	ed := newDecoder(v.d.file)
	ed.vars = v.d.vars
	exp := ed.experiment(root)
	v.d.sensitive = append(v.d.sensitive, ed.sensitive...)
	for _, pr := range ed.problems {
		if under(pr.Path, "apiVersion") || under(pr.Path, "kind") || under(pr.Path, "metadata") || under(pr.Path, "target") {
			continue // synthesized from the step, or the shared target (checked once)
		}
		path := rewrite(pr.Path)
		v.d.bad[path] = true
		if pr.Origin != "" {
			if !v.d.full() {
				pr.Path, pr.Msg = path, rewriteMsg(pr.Msg, rewrite)
				v.d.problems = append(v.d.problems, pr)
			}
			continue
		}
		v.d.problemAt(pr.Line, pr.Col, path, rewriteMsg(pr.Msg, rewrite))
	}
	if len(ed.problems) == 0 {
		s.Resolved = exp
		s.Source = marshalNode(v.d.vars.written(root))
	}
}

// experimentFile reads the experiment file of a path step and decodes it
// with the shared target in place of its own. The file must lie in one of
// dirs (the playbook's folder, or one the user allowed), so that a playbook
// cannot make chaosctl read, and quote in its errors, any file the user can
// read. Its problems name that file.
func (v *validator) experimentFile(gd *GameDay, s *Step, p string, targetOK bool, dirs experimentDirs) []Problem {
	pp := p + ".experiment.path"
	if strings.TrimSpace(s.Experiment.Path) == "" {
		v.errorf(pp, "is empty; give the experiment file's path, relative to the playbook")
		return nil
	}
	file := s.Experiment.Path
	if !filepath.IsAbs(file) {
		file = filepath.Join(filepath.Dir(gd.File), file)
	}
	resolved, err := dirs.resolve(file)
	if errors.Is(err, errOutside) {
		v.errorf(pp, "%s is outside the playbook's folder %s; allowed: a file in that folder or below it, symlinks resolved (chaosctl gameday --allow-path DIR allows the files in DIR too)", s.Experiment.Path, dirs.own)
		return nil
	}
	var data []byte
	if err == nil {
		data, err = ReadFile(resolved)
	}
	if err != nil {
		var pe *fs.PathError
		var verr *ValidationError
		switch {
		case errors.As(err, &verr):
			err = errors.New(verr.Problems[0].Msg)
		case errors.As(err, &pe):
			err = pe.Err
		}
		v.errorf(pp, "cannot read the experiment %s: %v (paths are relative to the playbook's folder)", file, err)
		return nil
	}
	if IsGameDay(data) {
		v.errorf(pp, "%s is a GameDay playbook; a step runs an experiment (kind: %s)", file, KindExperiment)
		return nil
	}
	if !targetOK {
		return nil // judged against the shared target once it is valid
	}
	s.File = file
	ed := newDecoder(file)
	ed.vars = &varState{lookup: v.d.vars.lookup, nodes: v.d.vars.nodes}
	root := ed.parseLimited(data, "an experiment")
	if root == nil {
		return ed.problems
	}
	ed.substitute(root, data)
	if root.Kind == yaml.MappingNode {
		// The shared target replaces the file's own.
		spliced := *root
		spliced.Content = nil
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == "target" {
				s.TargetReplaced = true
				continue
			}
			spliced.Content = append(spliced.Content, root.Content[i], root.Content[i+1])
		}
		if tn, ok := v.d.values["target"]; ok {
			addPair(&spliced, "target", tn)
		}
		root = &spliced
	}
	exp := ed.experiment(root)
	if n, ok := ed.values["repeat"]; ok && exp != nil && exp.Repeat > 1 && !ed.bad["repeat"] {
		ed.problem(n, "repeat", "a GameDay step runs its experiment once; repeat is for chaosctl run (leave it out, or run the file with chaosctl run)")
	}
	if n, ok := ed.keys["ramp"]; ok && exp != nil && exp.Ramp != nil {
		ed.problem(n, "ramp", "a GameDay step runs its experiment once; a ramp is for chaosctl run (leave it out, or run the file with chaosctl run)")
	}
	if n, ok := ed.values["control"]; ok && exp != nil && exp.Control && !ed.bad["control"] {
		ed.problem(n, "control", "a GameDay step runs its experiment once on the shared target; control is for chaosctl run (leave it out, or run the file with chaosctl run)")
	}
	v.d.sensitive = append(v.d.sensitive, ed.sensitive...)
	var out []Problem
	for _, pr := range ed.problems {
		if !under(pr.Path, "target") {
			out = append(out, pr)
		}
	}
	if len(ed.problems) == 0 {
		if err := exp.CheckRunnable(); err != nil {
			// A nemesis and no faults: the file is for chaosctl explore.
			return append(out, err.(*ValidationError).Problems...)
		}
		s.Resolved = exp
		s.Source = marshalNode(ed.vars.written(root))
	}
	return out
}

// errOutside says a path step names a file outside the folders it may.
var errOutside = errors.New("outside the folders a playbook may name files in")

// experimentDirs are the folders whose files a playbook's path steps may
// name: the playbook's own folder, and the folders the caller allows
// (chaosctl gameday --allow-path). Each is held absolute, as given and
// with its symlinks resolved.
type experimentDirs struct {
	own      string // the playbook's folder, for messages
	given    []string
	resolved []string
}

// newExperimentDirs returns the playbook's folder and the allowed ones;
// an allowed folder that does not exist, or is not a folder, is an error.
func newExperimentDirs(playbook string, allowed []string) (experimentDirs, error) {
	dirs := experimentDirs{own: filepath.Dir(playbook)}
	// The playbook's folder may not exist when bytes are decoded under a
	// made-up name; nothing can be read from it then, which resolve says.
	if err := dirs.add(dirs.own); err != nil {
		abs, _ := filepath.Abs(dirs.own)
		dirs.given = append(dirs.given, abs)
		dirs.resolved = append(dirs.resolved, abs)
	}
	for _, dir := range allowed {
		if err := dirs.add(dir); err != nil {
			return experimentDirs{}, fmt.Errorf("allowed experiment folder %s: %w", dir, err)
		}
	}
	return dirs, nil
}

// add adds an existing folder.
func (dirs *experimentDirs) add(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return err
	}
	if info, err := os.Stat(resolved); err != nil {
		return err
	} else if !info.IsDir() {
		return errors.New("not a folder")
	}
	dirs.given = append(dirs.given, abs)
	dirs.resolved = append(dirs.resolved, resolved)
	return nil
}

// resolve returns file with its symlinks resolved when it lies in one of
// the folders, errOutside when it does not. A file that cannot be
// resolved is its error when its path lies in one of the folders, and
// errOutside otherwise: a path outside tells nothing about what is there.
func (dirs experimentDirs) resolve(file string) (string, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	resolved, err := filepath.EvalSymlinks(abs)
	switch {
	case err != nil && (within(dirs.given, abs) || within(dirs.resolved, abs)):
		return "", err
	case err != nil || !within(dirs.resolved, resolved):
		return "", errOutside
	}
	return resolved, nil
}

// within reports whether path is one of dirs or lies below one.
func within(dirs []string, path string) bool {
	for _, dir := range dirs {
		rel, err := filepath.Rel(dir, path)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return true
		}
	}
	return false
}

// experimentRoot starts a synthesized experiment at the position of at:
// apiVersion, kind, metadata.name and the playbook's target.
func (v *validator) experimentRoot(at *yaml.Node, name string) *yaml.Node {
	root := mapping(at)
	addPair(root, "apiVersion", strNode(APIVersion))
	addPair(root, "kind", strNode(KindExperiment))
	meta := mapping(at)
	addPair(meta, "name", strNode(name))
	addPair(root, "metadata", meta)
	if tn, ok := v.d.values["target"]; ok {
		addPair(root, "target", tn)
	}
	return root
}

// valueOr returns the file's node at path, or def.
func (v *validator) valueOr(path string, def *yaml.Node) *yaml.Node {
	if n, ok := v.d.values[path]; ok {
		return n
	}
	return def
}

// stepMetaName is the experiment name of an inline or checkpoint step.
func stepMetaName(name string) string {
	if len(name) <= 63 && nameRE.MatchString(name) {
		return name
	}
	return "step"
}

func mapping(at *yaml.Node) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if at != nil {
		n.Line, n.Column = at.Line, at.Column
	}
	return n
}

func strNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func floatNode(f float64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: fmt.Sprint(f)}
}

func addPair(m *yaml.Node, key string, value *yaml.Node) {
	if value == nil {
		return
	}
	k := strNode(key)
	k.Line, k.Column = value.Line, value.Column
	m.Content = append(m.Content, k, value)
}

// rewriteMsg rewrites the path a problem's message starts with.
func rewriteMsg(msg string, rewrite func(string) string) string {
	head, rest, ok := strings.Cut(msg, ": ")
	switch {
	case !ok:
		return msg
	case head == "top level":
		return rewrite("") + ": " + rest
	case strings.ContainsAny(head, " \"'"):
		return msg
	}
	return rewrite(head) + ": " + rest
}

func marshalNode(n *yaml.Node) []byte {
	b, err := yaml.Marshal(n)
	if err != nil {
		return nil
	}
	return b
}
