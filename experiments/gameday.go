package experiments

import (
	"bytes"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// KindGameDay is the kind of a GameDay playbook file.
const KindGameDay = "GameDay"

// Step kinds of a GameDay.
const (
	StepManual     = "manual"
	StepExperiment = "experiment"
	StepWait       = "wait"
	StepCheckpoint = "checkpoint"
)

// Checkpoint defaults and bounds.
const (
	DefaultCheckpointRate   = 50.0
	DefaultCheckpointWarmup = time.Second
	MaxCheckpointDuration   = 10 * time.Minute
	MaxWait                 = time.Hour
	MaxSteps                = 100
)

// GameDay is one decoded and validated GameDay playbook: a shared target,
// started once, and steps run in order against it. Every experiment and
// checkpoint step is resolved into a full *Experiment (Step.Resolved) whose
// target is the shared one.
type GameDay struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   Metadata `yaml:"metadata"`
	// Seed is the playbook's seed, nil when it has none; --seed overrides it.
	Seed *int64 `yaml:"seed"`
	// Target is the shared target: the demo cluster only (process or
	// docker), filled with defaults like an experiment's.
	Target Target `yaml:"target"`
	Steps  []Step `yaml:"steps"`

	// File is the playbook's path as given to Load or Decode.
	File string

	// sensitive are the values no output may show, the playbook's own and
	// its steps' (Redactor). Never serialised.
	sensitive []string
	// Variables are the values the decoder put into the playbook (each
	// step's Resolved has its own): see Experiment.Variables.
	Variables []Variable
}

// Redactor returns the redactor of everything this playbook must not show:
// its own ${secret:NAME} values and every step's (Experiment.Redactor).
func (gd *GameDay) Redactor() *Redactor {
	if gd == nil {
		return nil
	}
	return NewRedactor(gd.sensitive)
}

// Step is one step of a GameDay: exactly one of Manual, Experiment, Wait
// and Checkpoint is set; Kind says which.
type Step struct {
	Name string `yaml:"name"`
	// Expect is what the team should observe during the step, shown to the
	// operator and written in the report.
	Expect     string          `yaml:"expect"`
	Manual     *ManualStep     `yaml:"manual"`
	Experiment *ExperimentStep `yaml:"experiment"`
	Wait       *time.Duration  `yaml:"wait"`
	Checkpoint *Checkpoint     `yaml:"checkpoint"`
	// ContinueOnFail lets the GameDay go on after this experiment or
	// checkpoint step fails; by default a failure stops it.
	ContinueOnFail bool `yaml:"continueOnFail"`

	// Resolved is the experiment an experiment or checkpoint step runs,
	// with the shared target; nil for manual and wait steps.
	Resolved *Experiment
	// Source is Resolved as YAML (the effective experiment, shared target
	// included), copied into the step's output folder.
	Source []byte
	// File is the experiment file of a path step, relative to the working
	// directory ("" for inline experiments and checkpoints).
	File string
	// TargetReplaced says the experiment file had a target section of its
	// own, which the shared target replaced.
	TargetReplaced bool
}

// Kind returns the step's kind: manual, experiment, wait or checkpoint.
func (s *Step) Kind() string {
	switch {
	case s.Manual != nil:
		return StepManual
	case s.Experiment != nil:
		return StepExperiment
	case s.Wait != nil:
		return StepWait
	case s.Checkpoint != nil:
		return StepCheckpoint
	}
	return ""
}

// ManualStep is shown to the operator, who confirms it, adds notes or
// aborts the GameDay.
type ManualStep struct {
	Instructions string `yaml:"instructions"`
	// Expect is the same as the step's expect (give one of them).
	Expect string `yaml:"expect"`
}

// ExperimentStep is an experiment: a file (Path, relative to the playbook)
// or written inline. Exactly one is set.
type ExperimentStep struct {
	Path   string            `yaml:"path"`
	Inline *InlineExperiment `yaml:"inline"`
}

// InlineExperiment is an experiment without apiVersion, kind, metadata and
// target: the step names it and the GameDay gives the target.
type InlineExperiment struct {
	Seed *int64 `yaml:"seed"`
	Body `yaml:",inline"`
}

// Checkpoint is a short fault-free measurement against the shared target:
// a workload of Rate requests per second for Warmup + Duration, the probes
// judged over the whole Duration.
type Checkpoint struct {
	Duration time.Duration `yaml:"duration"`
	Rate     float64       `yaml:"rate"`
	Warmup   time.Duration `yaml:"warmup"`
	Probes   []Probe       `yaml:"probes"`
}

// IsGameDay reports whether data is a YAML mapping whose kind is GameDay,
// so callers can route a file to DecodeGameDay or Decode. It looks at the
// top level only and never fails.
func IsGameDay(data []byte) bool {
	if len(data) > MaxFileSize {
		return false
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return false
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return false
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "kind" {
			return m.Content[i+1].Kind == yaml.ScalarNode && m.Content[i+1].Value == KindGameDay
		}
	}
	return false
}

// LoadGameDay reads a GameDay playbook (ReadFile) and decodes it, with
// every experiment file it names (see DecodeGameDay for allowedDirs). A
// playbook that cannot be read is a wrapped I/O error; one that is invalid
// is a *ValidationError (problems of a referenced experiment file name
// that file).
func LoadGameDay(path string, allowedDirs ...string) (*GameDay, error) {
	return LoadGameDayWith(path, DecodeOptions{}, allowedDirs...)
}

// LoadGameDayWith is LoadGameDay with DecodeGameDayWith's options.
func LoadGameDayWith(path string, o DecodeOptions, allowedDirs ...string) (*GameDay, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, readError("playbook", err)
	}
	return DecodeGameDayWith(path, data, o, allowedDirs...)
}

// DecodeGameDay decodes and validates a GameDay playbook. filename names
// the playbook in problems and anchors experiment paths (relative to its
// folder). A path step may name a file in the playbook's folder or below
// it, or in one of allowedDirs, symlinks resolved; the problems of such a
// file give its positions and field paths but quote none of it. The error
// is a *ValidationError listing every problem found, in the playbook and
// in the experiment files it names, or a wrapped error when an allowed
// folder is not one.
func DecodeGameDay(filename string, data []byte, allowedDirs ...string) (*GameDay, error) {
	return DecodeGameDayWith(filename, data, DecodeOptions{}, allowedDirs...)
}

// DecodeGameDayWith is DecodeGameDay with o's variable lookup and --set
// overrides: the overrides' paths are the playbook's
// (steps[1].checkpoint.rate); variables are resolved in the playbook and
// in the experiment files it names.
func DecodeGameDayWith(filename string, data []byte, o DecodeOptions, allowedDirs ...string) (*GameDay, error) {
	dirs, err := newExperimentDirs(filename, allowedDirs)
	if err != nil {
		return nil, err
	}
	d := newDecoder(filename)
	if o.LookupEnv != nil {
		d.vars.lookup = o.LookupEnv
	}
	root := d.parseLimited(data, "a playbook")
	if root == nil {
		for i, p := range d.problems {
			if strings.HasPrefix(p.Msg, "empty file:") {
				d.problems[i].Msg = "empty file: expected a GameDay playbook (apiVersion: " + APIVersion + ", kind: " + KindGameDay + ", metadata, target, steps)"
			}
		}
		return nil, d.err()
	}
	root = d.resolveVariables(root, data, reflect.TypeFor[GameDay](), o.Set)
	gd := &GameDay{File: filename}
	d.decode(root, "", reflect.ValueOf(gd).Elem())
	if d.aborted {
		return nil, d.err()
	}
	d.collectSensitive(nil, &gd.Target)
	extra := validateGameDay(gd, d, dirs)
	if len(d.problems) > 0 || len(extra) > 0 {
		err := d.err()
		var problems []Problem
		omitted := d.omitted
		if ve, ok := err.(*ValidationError); ok {
			problems = ve.Problems
		}
		problems = append(problems, d.redactProblems(extra)...)
		if len(problems) > maxProblems {
			omitted += len(problems) - maxProblems
			problems = problems[:maxProblems]
		}
		return nil, &ValidationError{Problems: problems, Omitted: omitted}
	}
	gd.sensitive = append([]string(nil), d.sensitive...)
	gd.Variables = append([]Variable(nil), d.variables...)
	return gd, nil
}
