package experiments

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/chaosctl/chaosctl/injectors"
)

// Ramp defaults and bounds.
const (
	// DefaultRampSteps is how many bisection runs follow the runs at a
	// ramp's two ends when the file gives no steps.
	DefaultRampSteps = 6
	// MaxRampSteps bounds ramp.steps: 20 halvings resolve any range the
	// format allows finer than its grid.
	MaxRampSteps = 20
)

// Ramp is a breaking-point search: `chaosctl run` of a file with a ramp
// section bisects one parameter between From (the mild end) and To (the
// harsh end), a real run per step, for the harshest value at which every
// SLO, probe and check holds. Decode fills Steps and Repeat in.
type Ramp struct {
	// Fault names the fault whose parameter is ramped. For workload.rate
	// it may be left out, or name a fault that stays as written: the
	// condition the capacity is measured under.
	Fault string `yaml:"fault"`
	// Param is the ramped parameter (RampParams lists them):
	// latency.delay, latency.jitter, bandwidth.rate, reset.timeout,
	// partition.size (how many store nodes mode isolate cuts off),
	// KIND.pick.count (how many members the fault picks) or workload.rate.
	Param string    `yaml:"param"`
	From  RampValue `yaml:"from"`
	To    RampValue `yaml:"to"`
	// Steps is how many bisection runs follow the runs at From and To
	// (default DefaultRampSteps, 1 to MaxRampSteps).
	Steps int `yaml:"steps"`
	// Repeat is how many runs judge each step, by the repeat's pass-rate
	// rule (default: the file's repeat:, else 1).
	Repeat int `yaml:"repeat"`
	// Require, when set, is the margin the run requires: it passes when
	// the harshest value that held is at least as harsh as Require.
	Require *RampValue `yaml:"require"`
}

// RampUnit is what a ramp value measures.
type RampUnit int

// Ramp units.
const (
	RampNumber   RampUnit = iota // a count or requests per second
	RampDuration                 // Value in nanoseconds
	RampByteRate                 // Value in bytes per second
)

// RampValue is a ramp bound as written: a duration (20ms), a bandwidth
// (64KiB/s) or a plain number (3, 250).
type RampValue struct {
	Unit  RampUnit
	Value float64
}

func (v *RampValue) parseScalar(n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!int", "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("expected a finite number, got %s", n.Value)
		}
		*v = RampValue{Unit: RampNumber, Value: f}
		return nil
	case "!!str":
	default:
		return fmt.Errorf("expected %s, got %s", describeRampValue, describeNode(n))
	}
	text := strings.TrimSpace(n.Value)
	if _, err := strconv.ParseFloat(text, 64); err == nil {
		return fmt.Errorf("%q is quoted: write a number unquoted, or give it a unit (%sms, %sKiB/s)", n.Value, text, text)
	}
	if strings.HasSuffix(text, "/s") {
		r, err := ParseByteRate(text)
		if err != nil {
			return err
		}
		*v = RampValue{Unit: RampByteRate, Value: float64(r)}
		return nil
	}
	d, err := ParseDuration(text)
	if err != nil {
		return fmt.Errorf("bad value %q: want %s", n.Value, describeRampValue)
	}
	*v = RampValue{Unit: RampDuration, Value: float64(d)}
	return nil
}

const describeRampValue = "a duration (20ms), a bandwidth (64KiB/s) or a number (250)"

// String formats the value the way the file writes it.
func (v RampValue) String() string {
	switch v.Unit {
	case RampDuration:
		return time.Duration(v.Value).String()
	case RampByteRate:
		return ByteRate(v.Value).String()
	}
	return strconv.FormatFloat(v.Value, 'f', -1, 64)
}

// unitWord says what the value is, for "is a number; ... takes a duration".
func (u RampUnit) word() string {
	switch u {
	case RampDuration:
		return "a duration"
	case RampByteRate:
		return "a bandwidth"
	}
	return "a number"
}

// rampParam is one parameter a ramp can search: where it is in the file,
// its unit and grid, which way is harsher, and the values it may take.
type rampParam struct {
	name string
	kind FaultKind // "" for workload.rate
	// field is the key path under the fault's kind mapping (or under
	// workload): "delay", "pick.count".
	field string
	unit  RampUnit
	// grid is one step of the search in Value's units (1 ms, 1 kB/s, 1):
	// what the fault plane or the workload can set.
	grid float64
	// harsher is +1 when a larger value is harsher, -1 when a smaller is.
	harsher int
	// gridUnit names the grid's unit ("ms") for charts and tables.
	gridUnit string
	// bounds are the values the parameter may take in e (f is the ramped
	// fault, nil for workload.rate), in Value's units.
	bounds func(e *Experiment, f *Fault) (lo, hi float64)
}

func fixedBounds(lo, hi float64) func(*Experiment, *Fault) (float64, float64) {
	return func(*Experiment, *Fault) (float64, float64) { return lo, hi }
}

// rampParams is the one registry of rampable parameters.
var rampParams = func() []rampParam {
	ps := []rampParam{
		{name: "latency.delay", kind: FaultLatency, field: "delay", unit: RampDuration, grid: float64(time.Millisecond), harsher: 1,
			gridUnit: "ms", bounds: fixedBounds(float64(injectors.MinDelay), float64(time.Minute))},
		{name: "latency.jitter", kind: FaultLatency, field: "jitter", unit: RampDuration, grid: float64(time.Millisecond), harsher: 1,
			gridUnit: "ms", bounds: func(_ *Experiment, f *Fault) (float64, float64) { return 0, float64(f.Latency.Delay) }},
		// The fault plane limits in whole kB/s; less bandwidth is harsher.
		{name: "bandwidth.rate", kind: FaultBandwidth, field: "rate", unit: RampByteRate, grid: 1000, harsher: -1,
			gridUnit: "kB/s", bounds: fixedBounds(injectors.MinBytesPerSecond, 1<<40)},
		// A reset drops a connection's first data and resets it after the
		// timeout, so no data passes at any timeout: a longer one only
		// holds the caller longer before it learns, which is harsher.
		{name: "reset.timeout", kind: FaultReset, field: "timeout", unit: RampDuration, grid: float64(time.Millisecond), harsher: 1,
			gridUnit: "ms", bounds: fixedBounds(0, float64(injectors.MaxResetTimeout))},
		// How many store nodes mode isolate cuts off together: 1 to all
		// but one of the demo cluster's.
		{name: "partition.size", kind: FaultPartition, field: "size", unit: RampNumber, grid: 1, harsher: 1,
			gridUnit: "nodes", bounds: func(e *Experiment, _ *Fault) (float64, float64) {
				if c := e.Target.Demo; c != nil && len(c.NodeNames()) > 1 {
					return 1, float64(len(c.NodeNames()) - 1)
				}
				return 1, 1
			}},
		{name: "workload.rate", field: "rate", unit: RampNumber, grid: 1, harsher: 1,
			gridUnit: "requests/s", bounds: fixedBounds(1, MaxRate)},
	}
	for _, k := range faultKinds.KindsInOrder() {
		if FaultKind(k) == FaultPartition {
			continue // a partition has groups or a mode, no pick: see partition.size
		}
		ps = append(ps, rampParam{name: k + ".pick.count", kind: FaultKind(k), field: "pick.count", unit: RampNumber, grid: 1, harsher: 1,
			gridUnit: "members", bounds: func(_ *Experiment, f *Fault) (float64, float64) {
				if s := f.Selector(); s != nil && s.Pick != nil {
					return 1, float64(len(s.Pick.From))
				}
				return 1, 1
			}})
	}
	return ps
}()

// RampParams lists the parameter names a ramp takes.
func RampParams() []string {
	names := make([]string, len(rampParams))
	for i, p := range rampParams {
		names[i] = p.name
	}
	return names
}

func lookupRampParam(name string) *rampParam {
	for i := range rampParams {
		if rampParams[i].name == name {
			return &rampParams[i]
		}
	}
	return nil
}

// param is the ramp's parameter; nil when the file names none that exists
// (validation reports it, so a decoded experiment always has one).
func (r *Ramp) param() *rampParam { return lookupRampParam(r.Param) }

// toGrid is v in grid steps, rounded to the nearest.
func (p *rampParam) toGrid(v RampValue) int64 { return int64(math.Round(v.Value / p.grid)) }

// onGrid reports whether v is a whole number of grid steps (whole
// milliseconds, whole numbers). A bandwidth is rounded to whole kB/s, as the
// fault plane rounds it, so any is on the grid.
func (p *rampParam) onGrid(v RampValue) bool {
	if p.unit == RampByteRate {
		return true
	}
	q := v.Value / p.grid
	return math.Abs(q-math.Round(q)) < 1e-9
}

// Bounds are the ramp's ends in grid steps: from, the mild end, and to, the
// harsh one (to < from when a smaller value is harsher).
func (r *Ramp) Bounds() (from, to int64) {
	p := r.param()
	return p.toGrid(r.From), p.toGrid(r.To)
}

// Required is Require in grid steps, and whether the file gives one.
func (r *Ramp) Required() (int64, bool) {
	if r.Require == nil {
		return 0, false
	}
	return r.param().toGrid(*r.Require), true
}

// Harsher reports whether grid value a is harsher than b.
func (r *Ramp) Harsher(a, b int64) bool {
	return (a-b)*int64(r.param().harsher) > 0
}

// Show formats grid value g the way the file would write it: "95ms",
// "66kB/s", "3".
func (r *Ramp) Show(g int64) string {
	p := r.param()
	return RampValue{Unit: p.unit, Value: float64(g) * p.grid}.String()
}

// Number is grid value g in the grid's unit (GridUnit): 95 (ms).
func (r *Ramp) Number(g int64) float64 { return float64(g) }

// GridUnit names the unit of Number: ms, kB/s, requests/s, members or nodes.
func (r *Ramp) GridUnit() string { return r.param().gridUnit }

// rampFault is the ramp's fault, nil without one.
func (e *Experiment) rampFault() *Fault {
	if e.Ramp == nil || e.Ramp.Fault == "" {
		return nil
	}
	for i := range e.Faults {
		if e.Faults[i].Name == e.Ramp.Fault {
			return &e.Faults[i]
		}
	}
	return nil
}

func setRampDefaults(e *Experiment, d *decoder) {
	if r := e.Ramp; r != nil {
		set(d, "ramp.steps", &r.Steps, DefaultRampSteps)
		set(d, "ramp.repeat", &r.Repeat, max(e.Repeat, 1))
	}
}

// ramp validates the ramp section: the fault exists and has the param, the
// values are of the param's unit, on its grid and in its range, to is
// harsher than from, and require lies between them.
func (v *validator) ramp() {
	r := v.e.Ramp
	if r == nil {
		return
	}
	const p = "ramp"
	if v.e.Nemesis != nil {
		v.keyErrorf(p, "a ramp searches one parameter of the file's faults with chaosctl run, and a nemesis draws faults for chaosctl explore; give one of the two")
		return
	}
	v.intRange(p+".steps", r.Steps, 1, MaxRampSteps)
	v.intRange(p+".repeat", r.Repeat, 1, MaxRepeat)
	hasParam, hasFrom, hasTo := v.required(p+".param"), v.required(p+".from"), v.required(p+".to")
	var f *Fault
	fi := -1
	if v.d.has(p + ".fault") {
		names := make([]string, len(v.e.Faults))
		for i := range v.e.Faults {
			names[i] = v.e.Faults[i].Name
			if names[i] == r.Fault {
				f, fi = &v.e.Faults[i], i
			}
		}
		if f == nil {
			if len(names) == 0 {
				v.errorf(p+".fault", "unknown fault %q: the experiment has no faults", r.Fault)
			} else {
				v.errorf(p+".fault", "unknown fault %q; allowed: %s%s", r.Fault, strings.Join(names, ", "), suggest(r.Fault, names))
			}
			return
		}
		if !v.ok(fmt.Sprintf("faults[%d]", fi)) {
			return // the fault's own problems come first
		}
	}
	if !hasParam {
		return
	}
	param := lookupRampParam(r.Param)
	allowed := rampParamsOf(f)
	switch {
	case param == nil:
		v.errorf(p+".param", "unknown param %q; allowed%s: %s%s", r.Param, rampParamsFor(f), strings.Join(allowed, ", "), suggest(r.Param, allowed))
		return
	case param.kind == "":
	case f == nil:
		if v.ok(p + ".fault") {
			v.errorf(p+".param", "%s is a parameter of a %s fault: name the fault in ramp.fault", r.Param, param.kind)
		}
		return
	case param.kind != f.Kind():
		v.errorf(p+".param", "%s is a parameter of a %s fault, and faults[%d] (%s) is a %s fault; allowed for it: %s%s",
			r.Param, param.kind, fi, f.Name, f.Kind(), strings.Join(allowed, ", "), suggest(r.Param, allowed))
		return
	case param.field == "pick.count" && (f.Selector() == nil || f.Selector().Pick == nil):
		v.errorf(p+".param", "%s ramps how many members faults[%d] (%s) picks, and it names its members; select them with pick: {count, from}", r.Param, fi, f.Name)
		return
	case param.kind == FaultPartition && f.Partition.Mode != ModeIsolate:
		has := "names its groups"
		if f.Partition.Mode != "" {
			has = "has mode " + string(f.Partition.Mode)
		}
		v.errorf(p+".param", "%s ramps how many store nodes mode isolate cuts off, and faults[%d] (%s) %s; give it partition: {mode: isolate}", r.Param, fi, f.Name, has)
		return
	}
	if !hasFrom || !hasTo {
		return
	}
	lo, hi := param.bounds(v.e, f)
	good := func(path string, val RampValue) bool {
		if !v.ok(path) {
			return false
		}
		show := func(x float64) string { return RampValue{Unit: param.unit, Value: x}.String() }
		switch {
		case val.Unit != param.unit:
			v.errorf(path, "%s is %s; %s takes %s", val, val.Unit.word(), r.Param, rampExample(param))
		case !param.onGrid(val):
			v.errorf(path, "%s is not a whole number of %s; %s is set in whole %s", val, param.gridUnit, r.Param, param.gridUnit)
		case val.Value < lo || val.Value > hi:
			v.errorf(path, "%s is out of range for %s; allowed: %s to %s", val, r.Param, show(lo), show(hi))
		default:
			return true
		}
		return false
	}
	fromOK, toOK := good(p+".from", r.From), good(p+".to", r.To)
	if fromOK && toOK {
		from, to := param.toGrid(r.From), param.toGrid(r.To)
		switch {
		case from == to:
			v.errorf(p+".to", "%s is the value of from; a ramp needs a range", r.To)
			fromOK = false
		case (to-from)*int64(param.harsher) < 0 && param.harsher > 0:
			v.errorf(p+".to", "%s is below from (%s); %s grows harsher as it rises: from is the mild end, to the harsh one", r.To, r.From, r.Param)
			fromOK = false
		case (to-from)*int64(param.harsher) < 0:
			v.errorf(p+".to", "%s is above from (%s); %s grows harsher as it falls: from is the mild end (more bandwidth), to the harsh one", r.To, r.From, r.Param)
			fromOK = false
		}
	}
	if r.Require != nil && good(p+".require", *r.Require) && fromOK && toOK {
		from, to, req := param.toGrid(r.From), param.toGrid(r.To), param.toGrid(*r.Require)
		if (req-from)*(req-to) > 0 {
			v.errorf(p+".require", "%s lies outside the ramp's range %s to %s; the search can only show a margin within it", *r.Require, r.From, r.To)
		}
	}
}

// rampParamsOf lists the params a ramp of fault f may take (f nil: the
// workload's).
func rampParamsOf(f *Fault) []string {
	var names []string
	for _, p := range rampParams {
		if p.kind == "" || (f != nil && p.kind == f.Kind()) {
			names = append(names, p.name)
		}
	}
	return names
}

func rampParamsFor(f *Fault) string {
	if f == nil {
		return " without ramp.fault"
	}
	return " for " + f.Name
}

func rampExample(p *rampParam) string {
	switch p.unit {
	case RampDuration:
		return "a duration such as 20ms"
	case RampByteRate:
		return "a bandwidth such as 64KiB/s"
	}
	if p.kind == "" {
		return "a number of requests per second such as 200"
	}
	return "a whole number such as 2"
}

// RampSubject names what the ramp acts on, for the margin's sentence:
// "latency.delay of slow-n1 (n1)" (the members the fault acts on, as the
// seed resolves them), "crash.pick.count of kill (from n1, n2, n3)" and
// "partition.size of cut (from n1, n2, n3, n4, n5)" (where a count's
// members come from: which it takes changes with the value), or
// "workload.rate with kill-one".
func (e *Experiment) RampSubject(seed int64) string {
	r := e.Ramp
	f := e.rampFault()
	if f == nil {
		return r.Param
	}
	if r.param().kind == "" {
		return r.Param + " with " + f.Name
	}
	targets := ""
	switch r.param().field {
	case "pick.count", "size":
		// What is cut or picked changes with the value: name where it
		// comes from.
		var from []string
		if s := f.Selector(); s != nil && s.Pick != nil {
			from = s.Pick.From
		} else if c := e.Target.Demo; c != nil && f.Partition != nil {
			from = c.NodeNames()
		}
		if len(from) > 0 {
			targets = " (from " + strings.Join(from, ", ") + ")"
		}
	default:
		if p, err := e.Plan(seed); err == nil {
			for _, pf := range p.Faults {
				if pf.Name == f.Name && len(pf.Targets) > 0 {
					targets = " (" + strings.Join(pf.Targets, ", ") + ")"
				}
			}
		}
	}
	return r.Param + " of " + f.Name + targets
}

// RampStep turns file, an experiment with a ramp, into the plain
// experiment of one step: the ramp section removed, the ramped parameter
// set to grid value g, repeat set to runs (left out at 1), and header, when
// not "", as the file's first comment. Comments stay where they were. The
// result is decoded (as file) before it is returned, so it is what
// `chaosctl run` takes; an error says why the file cannot be ramped so.
func (e *Experiment) RampStep(file string, src []byte, g int64, runs int, header string) ([]byte, *Experiment, error) {
	r := e.Ramp
	if r == nil || r.param() == nil {
		return nil, nil, fmt.Errorf("ramp step of %s: the experiment has no ramp", file)
	}
	param := r.param()
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, nil, fmt.Errorf("ramp step of %s: %w", file, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("ramp step of %s: not a mapping", file)
	}
	root := doc.Content[0]
	removeKey(root, "ramp")
	value := strNode(r.Show(g))
	if param.unit == RampNumber {
		value = intNode(g)
	}
	where := lookupKey(root, "workload")
	if param.kind != "" {
		where = nil
		if faults := lookupKey(root, "faults"); faults != nil && faults.Kind == yaml.SequenceNode {
			for _, item := range faults.Content {
				if item.Kind == yaml.MappingNode {
					if n := lookupKey(item, "name"); n != nil && n.Value == r.Fault {
						where = lookupKey(item, string(param.kind))
					}
				}
			}
		}
	}
	keys := strings.Split(param.field, ".")
	for _, k := range keys[:len(keys)-1] {
		if where == nil || where.Kind != yaml.MappingNode {
			break
		}
		where = lookupKey(where, k)
	}
	if where == nil || where.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("ramp step of %s: %s is not written out where the ramp sets it (an anchor, alias or merge key); write it out to ramp it", file, r.Param)
	}
	setKey(where, keys[len(keys)-1], value)
	if runs > 1 {
		setKey(root, "repeat", intNode(int64(runs)), "seed", "metadata")
	} else {
		removeKey(root, "repeat")
	}
	if header != "" {
		doc.HeadComment = strings.TrimSpace(header + "\n\n" + doc.HeadComment)
	}
	var b bytes.Buffer
	if err := encodeYAML(&b, &doc); err != nil {
		return nil, nil, fmt.Errorf("ramp step of %s: %w", file, err)
	}
	step, err := Decode(file, b.Bytes())
	if err != nil {
		return nil, nil, fmt.Errorf("ramp step of %s at %s: the written experiment is invalid: %w", file, r.Show(g), err)
	}
	if step.Ramp != nil {
		return nil, nil, fmt.Errorf("ramp step of %s: the ramp comes from a merge key; write the section out", file)
	}
	step.Variables = e.Variables
	return b.Bytes(), step, nil
}
