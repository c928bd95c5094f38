package experiments

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/chaosctl/chaosctl/internal/regularfile"
)

// MaxFileSize is the largest experiment file Load and Decode accept.
const MaxFileSize = 1 << 20

// maxAliasVisits bounds the nodes the decoder visits through YAML aliases,
// so an alias bomb ("billion laughs") is rejected after a few thousand steps
// instead of expanding. Real files reuse a handful of anchors.
const maxAliasVisits = 20000

// maxProblems bounds how many problems one file reports.
const maxProblems = 100

// MaxListItems bounds every list and mapping in a file, so a 1 MiB list
// of names cannot make validation slow.
const MaxListItems = 10000

// Problem is one thing wrong with an experiment file.
type Problem struct {
	File      string
	Line, Col int    // 1-based; the position of the offending key or value
	Path      string // the field path, e.g. faults[2].partition.groups[0][1]; "" for the whole file
	Msg       string // names the path and what is allowed
}

// String formats the problem as FILE:LINE:COL: message.
func (p Problem) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg)
}

// ValidationError lists every problem found in one file, sorted by
// position.
type ValidationError struct {
	Problems []Problem
	// Omitted counts problems left out after the first maxProblems.
	Omitted int
}

// Error joins the problems, one "FILE:LINE:COL: message" per line.
func (e *ValidationError) Error() string {
	lines := make([]string, 0, len(e.Problems)+1)
	for _, p := range e.Problems {
		lines = append(lines, p.String())
	}
	if e.Omitted > 0 && len(e.Problems) > 0 {
		lines = append(lines, fmt.Sprintf("%s: %d more problems not shown", e.Problems[0].File, e.Omitted))
	}
	return strings.Join(lines, "\n")
}

// Load reads an experiment file (ReadFile) and decodes it. A file that
// cannot be read is a wrapped I/O error; a file that is invalid, or is not
// a regular file, is a *ValidationError.
func Load(path string) (*Experiment, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, readError("experiment", err)
	}
	return Decode(path, data)
}

// readError wraps an error of ReadFile, saying what was read; a
// *ValidationError is returned as it is, so it prints as FILE:LINE:COL.
func readError(what string, err error) error {
	var verr *ValidationError
	if errors.As(err, &verr) {
		return err
	}
	return fmt.Errorf("open %s: %w", what, err)
}

// ReadFile reads an experiment or playbook file for Decode or
// DecodeGameDay: at most MaxFileSize+1 bytes, so Decode rejects a larger
// file without it being read whole. Only a regular file is read: a FIFO, a
// device, a socket or a folder is refused, before it is opened where a
// look at it tells, as a *ValidationError (FILE:1:1: what it is), since
// reading one could block or never end. It is opened non-blocking, so one
// swapped in after that look is refused too instead of blocking the open.
// A file that cannot be read is the *fs.PathError of the attempt.
func ReadFile(path string) ([]byte, error) {
	f, err := regularfile.Open(path, MaxFileSize)
	var refused *regularfile.Error
	if errors.As(err, &refused) {
		return nil, notRegular(path, refused.Mode)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// One byte past the limit tells an oversized file from a full one.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	return data, nil
}

// notRegular is the problem of a file that is not a regular file.
func notRegular(path string, mode fs.FileMode) error {
	return &ValidationError{Problems: []Problem{{File: path, Line: 1, Col: 1,
		Msg: "the file is " + regularfile.Kind(mode) + "; allowed: a regular file of at most 1 MiB (reading a FIFO, a device or a socket could block or never end)"}}}
}

// Decode decodes and validates one experiment. filename is used in the
// problems only. The error, when not nil, is a *ValidationError listing
// every problem found.
func Decode(filename string, data []byte) (*Experiment, error) {
	d := newDecoder(filename)
	root := d.parseLimited(data, "an experiment")
	if root == nil {
		return nil, d.err()
	}
	exp := d.experiment(root)
	if len(d.problems) > 0 {
		return nil, d.err()
	}
	return exp, nil
}

// parseLimited parses data into a node tree unless it is larger than
// MaxFileSize (what says what the file should be, in that problem); nil
// when it could not, the problems saying why.
func (d *decoder) parseLimited(data []byte, what string) *yaml.Node {
	if len(data) > MaxFileSize {
		d.problemAt(1, 1, "", fmt.Sprintf("file is larger than %d bytes (1 MiB); %s is far smaller", MaxFileSize, what))
		return nil
	}
	return d.parse(data)
}

// experiment decodes an experiment from a node tree, fills in its defaults
// and validates it; nil when the decode was aborted (the problems say why).
func (d *decoder) experiment(root *yaml.Node) *Experiment {
	exp := &Experiment{}
	d.decode(root, "", reflect.ValueOf(exp).Elem())
	if d.aborted {
		return nil
	}
	if k, ok := d.keys["nemesis"]; ok && exp.Nemesis != nil {
		exp.Nemesis.pos = Problem{File: d.file, Line: k.Line, Col: k.Column, Path: "nemesis"}
	}
	d.collectSensitive(&exp.Body, &exp.Target)
	exp.sensitive = append([]string(nil), d.sensitive...)
	setDefaults(exp, d)
	validate(exp, d)
	return exp
}

// decoder walks a yaml.Node tree into the model, guided by the model's
// types, recording where every value came from for later problems.
type decoder struct {
	file     string
	problems []Problem
	omitted  int
	// values and keys map a field path to its value node (non-null only)
	// and to its key node.
	values map[string]*yaml.Node
	keys   map[string]*yaml.Node
	// bad holds paths already complained about, so validation does not
	// pile a second complaint onto them; broken holds values that could not
	// be decoded at all, whose whole subtree validation skips; misspelt
	// holds mappings with an unknown key, where a "missing field" is
	// probably that key.
	bad         map[string]bool
	broken      map[string]bool
	misspelt    map[string]bool
	aliasDepth  int
	aliasVisits int
	aborted     bool
	merging     map[*yaml.Node]bool
	// sensitive holds the values no output may show (secrets.go); problem
	// messages are redacted with them.
	sensitive []string
}

func newDecoder(file string) *decoder {
	return &decoder{
		file:     file,
		values:   map[string]*yaml.Node{},
		keys:     map[string]*yaml.Node{},
		bad:      map[string]bool{},
		broken:   map[string]bool{},
		misspelt: map[string]bool{},
		merging:  map[*yaml.Node]bool{},
	}
}

// err returns the problems as a *ValidationError, sorted by position.
func (d *decoder) err() error {
	if len(d.problems) == 0 {
		return nil
	}
	problems := d.redactProblems(d.problems)
	sort.SliceStable(problems, func(i, j int) bool {
		if problems[i].Line != problems[j].Line {
			return problems[i].Line < problems[j].Line
		}
		return problems[i].Col < problems[j].Col
	})
	return &ValidationError{Problems: problems, Omitted: d.omitted}
}

// full reports whether no more problems are kept; callers skip the cost of
// formatting a message nobody will see.
func (d *decoder) full() bool {
	if len(d.problems) >= maxProblems {
		d.omitted++
		return true
	}
	return false
}

func (d *decoder) problemAt(line, col int, path, msg string) {
	if d.full() {
		return
	}
	if line < 1 {
		line, col = 1, 1
	}
	if col < 1 {
		col = 1
	}
	d.problems = append(d.problems, Problem{File: d.file, Line: line, Col: col, Path: path, Msg: msg})
}

// problem reports msg at node n; the message is prefixed with the path.
func (d *decoder) problem(n *yaml.Node, path, format string, args ...any) {
	d.bad[path] = true
	d.broken[path] = true
	if d.full() {
		return
	}
	d.problemAt(n.Line, n.Column, path, displayPath(path)+": "+fmt.Sprintf(format, args...))
}

// displayPath names the root "top level" in messages.
func displayPath(path string) string {
	if path == "" {
		return "top level"
	}
	return path
}

// where says where a key is, for messages: "in faults[0]" or "at top level".
func where(path string) string {
	if path == "" {
		return "at top level"
	}
	return "in " + path
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var (
	parseLineRE     = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	unknownAnchorRE = regexp.MustCompile(`unknown anchor '(.*)' referenced`)
	zeroBasedLineRE = regexp.MustCompile(`^did not find expected (key|',' or|'-' indicator)`)
)

// parse parses the single YAML document in data and returns its root
// node, or nil after reporting why there is none.
func (d *decoder) parse(data []byte) (root *yaml.Node) {
	// The parser reports malformed input as errors; this guards against a
	// parser bug turning hostile input into a crash of the caller.
	defer func() {
		if r := recover(); r != nil {
			root = nil
			d.problemAt(1, 1, "", fmt.Sprintf("YAML parser failed: %v", r))
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.problemAt(1, 1, "", "empty file: expected an experiment (apiVersion: "+APIVersion+", kind: "+KindExperiment+", ...)")
			return nil
		}
		d.parseProblem(data, err)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := 1
		if err == nil {
			line = extra.Line
		}
		d.problemAt(line, 1, "", "the file holds more than one YAML document; an experiment file holds exactly one")
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		d.problemAt(1, 1, "", "expected one YAML document")
		return nil
	}
	return doc.Content[0]
}

// parseProblem turns a parser error into a problem at the best position
// the error allows.
func (d *decoder) parseProblem(data []byte, err error) {
	msg := err.Error()
	if m := parseLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		// The parser (unlike the scanner) reports these with 0-based lines.
		if zeroBasedLineRE.MatchString(m[2]) {
			line = min(line+1, 1+bytes.Count(data, []byte("\n")))
		}
		// A tab in the indentation of the line, or of a neighbour (the
		// scanner counts some lines from 0, and the parser notices some
		// only on the next token), is the cause more often than what the
		// parser says.
		for _, l := range []int{line, line + 1, line - 1} {
			if col := indentTab(data, l); col > 0 {
				d.problemAt(l, col, "", "invalid YAML: tab character; YAML indents with spaces")
				return
			}
		}
		// The parser knows the line only: point at its first character,
		// which is where a wrong indentation shows.
		d.problemAt(line, firstColumn(data, line), "", "invalid YAML: "+m[2])
		return
	}
	if m := unknownAnchorRE.FindStringSubmatch(msg); m != nil {
		line, col := 1, 1
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			line = 1 + bytes.Count(data[:i], []byte("\n"))
			col = i - bytes.LastIndexByte(data[:i], '\n')
		}
		d.problemAt(line, col, "", fmt.Sprintf("invalid YAML: alias *%s refers to no anchor", m[1]))
		return
	}
	d.problemAt(1, 1, "", "invalid YAML: "+strings.TrimPrefix(msg, "yaml: "))
}

// lineOf is line n (1-based) of data, without its newline; "" past the end.
func lineOf(data []byte, n int) []byte {
	if n < 1 {
		return nil
	}
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			return nil
		}
		data = data[j+1:]
	}
	if j := bytes.IndexByte(data, '\n'); j >= 0 {
		data = data[:j]
	}
	return data
}

// indentTab is the 1-based column of the first tab in the indentation of
// line n of data, or 0 when its indentation holds none.
func indentTab(data []byte, n int) int {
	for i, c := range lineOf(data, n) {
		switch c {
		case '\t':
			return i + 1
		case ' ':
			continue
		}
		break
	}
	return 0
}

// firstColumn is the 1-based column of the first character of line n of
// data that is not a space (1 for a blank line).
func firstColumn(data []byte, n int) int {
	l := lineOf(data, n)
	i := len(l) - len(bytes.TrimLeft(l, " "))
	if i == len(l) {
		return 1
	}
	return i + 1
}

// has reports whether the file gave a (non-null) value at path.
func (d *decoder) has(path string) bool {
	_, ok := d.values[path]
	return ok
}

// scalarParser is implemented by the unit types that parse themselves
// from a scalar node.
type scalarParser interface {
	parseScalar(n *yaml.Node) error
}

// enum is implemented by string types with a fixed set of values.
type enum interface {
	allowed() []string
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	int64Type    = reflect.TypeFor[int64]()
)

// decode decodes n into v, following aliases within the alias budget.
func (d *decoder) decode(n *yaml.Node, path string, v reflect.Value) {
	if d.aborted {
		return
	}
	if n.Kind == yaml.AliasNode {
		n = d.resolveAlias(n, path)
		if n == nil {
			return
		}
		d.aliasDepth++
		defer func() { d.aliasDepth-- }()
	}
	if !d.charge(n) {
		return
	}
	if isNull(n) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Struct:
			return // an empty section is the same as a missing one
		}
		d.problem(n, path, "expected %s, got nothing (null)", describeType(v.Type()))
		return
	}
	d.values[path] = n
	d.decodeResolved(n, path, v)
}

// resolveAlias returns the node an alias stands for.
func (d *decoder) resolveAlias(n *yaml.Node, path string) *yaml.Node {
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.problem(n, path, "alias *%s refers to no anchor", n.Value)
			return nil
		}
		n = n.Alias
	}
	return n
}

// charge counts a node visited inside an alias expansion and stops the
// whole decode once the alias budget is spent.
func (d *decoder) charge(n *yaml.Node) bool {
	if d.aliasDepth == 0 {
		return true
	}
	d.aliasVisits++
	if d.aliasVisits <= maxAliasVisits {
		return true
	}
	if !d.aborted {
		d.aborted = true
		d.problemAt(n.Line, n.Column, "", fmt.Sprintf("aliases expand to more than %d values (an alias bomb?); write the values out", maxAliasVisits))
	}
	return false
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func (d *decoder) decodeResolved(n *yaml.Node, path string, v reflect.Value) {
	t := v.Type()
	if t == durationType {
		d.decodeDuration(n, path, v)
		return
	}
	if v.CanAddr() {
		if _, ok := v.Addr().Interface().(plainRange); ok && n.Kind != yaml.MappingNode {
			d.decodePlainRange(n, path, v)
			return
		}
		if p, ok := v.Addr().Interface().(scalarParser); ok {
			if n.Kind != yaml.ScalarNode {
				d.problem(n, path, "expected %s, got %s", describeType(t), describeNode(n))
				return
			}
			if err := p.parseScalar(n); err != nil {
				d.problem(n, path, "%v", err)
			}
			return
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decodeResolved(n, path, v.Elem())
	case reflect.Struct:
		d.decodeStruct(n, path, v)
	case reflect.Slice:
		d.decodeSlice(n, path, v)
	case reflect.Map:
		d.decodeMap(n, path, v)
	case reflect.String:
		d.decodeString(n, path, v)
	case reflect.Int, reflect.Int64:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			d.problem(n, path, "expected %s, got %s", describeType(t), describeNode(n))
			return
		}
		var i int64
		if err := n.Decode(&i); err != nil {
			d.problem(n, path, "integer %s does not fit in 64 bits", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		tag := n.ShortTag()
		if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") {
			d.problem(n, path, "expected %s, got %s", describeType(t), describeNode(n))
			return
		}
		var f float64
		if err := n.Decode(&f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.problem(n, path, "expected a finite number, got %s", n.Value)
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			d.problem(n, path, "expected true or false, got %s", describeNode(n))
			return
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			d.problem(n, path, "expected true or false, got %s", describeNode(n))
			return
		}
		v.SetBool(b)
	default:
		// Only reachable if the model gains a field of a new kind.
		d.problem(n, path, "internal error: cannot decode into %s", t)
	}
}

// plainRange is implemented by the range types (Range), which the file
// writes as {min: a, max: b} or as one plain value.
type plainRange interface {
	plainRange()
}

// decodePlainRange decodes one scalar into both bounds of a range.
func (d *decoder) decodePlainRange(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.ScalarNode {
		d.problem(n, path, "expected %s, got %s", describeType(v.Type()), describeNode(n))
		return
	}
	d.decodeResolved(n, path, v.Field(0))
	v.Field(1).Set(v.Field(0))
}

func (d *decoder) decodeDuration(n *yaml.Node, path string, v reflect.Value) {
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || (tag != "!!str" && tag != "!!int" && tag != "!!float") {
		d.problem(n, path, "expected a duration such as 250ms or 2s, got %s", describeNode(n))
		return
	}
	dur, err := ParseDuration(n.Value)
	if err != nil {
		d.problem(n, path, "%v", err)
		return
	}
	v.SetInt(int64(dur))
}

func (d *decoder) decodeString(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		hint := ""
		if n.Kind == yaml.ScalarNode {
			hint = " (quote it to make it a string)"
		}
		d.problem(n, path, "expected %s, got %s%s", describeType(v.Type()), describeNode(n), hint)
		return
	}
	value, secrets, problems := expandSecrets(n.Value, os.LookupEnv)
	d.sensitive = append(d.sensitive, secrets...)
	if len(problems) > 0 {
		for _, p := range problems {
			d.problem(n, path, "%s", p)
		}
		return
	}
	if e, ok := v.Interface().(enum); ok {
		allowed := e.allowed()
		if !contains(allowed, value) {
			d.problem(n, path, "bad value %q; allowed: %s%s", value, strings.Join(allowed, ", "), suggest(value, allowed))
			return
		}
	}
	v.SetString(value)
}

func (d *decoder) decodeSlice(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.SequenceNode {
		d.problem(n, path, "expected %s, got %s", describeType(v.Type()), describeNode(n))
		return
	}
	if len(n.Content) > MaxListItems {
		d.problem(n, path, "has %d items; at most %d are allowed", len(n.Content), MaxListItems)
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decode(item, fmt.Sprintf("%s[%d]", path, i), s.Index(i))
	}
	v.Set(s)
}

func (d *decoder) decodeMap(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.problem(n, path, "expected %s, got %s", describeType(v.Type()), describeNode(n))
		return
	}
	m := reflect.MakeMap(v.Type())
	for _, e := range d.entries(n, path) {
		p := joinPath(path, e.key)
		d.keys[p] = e.keyNode
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(e.value, p, elem)
		m.SetMapIndex(reflect.ValueOf(e.key).Convert(v.Type().Key()), elem)
	}
	v.Set(m)
}

func (d *decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value) {
	fields := structFields(v.Type())
	if n.Kind != yaml.MappingNode {
		d.problem(n, path, "expected a mapping with fields %s, got %s", fieldNames(fields), describeNode(n))
		return
	}
	for _, e := range d.entries(n, path) {
		f, ok := findField(fields, e.key)
		if !ok {
			d.bad[joinPath(path, e.key)] = true
			d.misspelt[path] = true
			if d.full() {
				continue
			}
			d.problemAt(e.keyNode.Line, e.keyNode.Column, joinPath(path, e.key),
				fmt.Sprintf("unknown field %q %s; allowed: %s%s", e.key, where(path), fieldNames(fields), suggest(e.key, names(fields))))
			continue
		}
		p := joinPath(path, e.key)
		d.keys[p] = e.keyNode
		d.decode(e.value, p, v.FieldByIndex(f.index))
	}
}

// entry is one key and value of a mapping, merge keys already applied.
type entry struct {
	key     string
	keyNode *yaml.Node
	value   *yaml.Node
}

// entries returns a mapping's entries in file order, reporting duplicate
// keys and applying YAML merge keys ("<<: *defaults"): explicit keys win
// over merged ones, and earlier merged mappings over later ones.
func (d *decoder) entries(n *yaml.Node, path string) []entry {
	if len(n.Content)/2 > MaxListItems {
		d.problem(n, path, "has %d keys; at most %d are allowed", len(n.Content)/2, MaxListItems)
		return nil
	}
	var out []entry
	seen := map[string]*yaml.Node{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			d.problem(k, path, "mapping keys must be plain names, got %s", describeNode(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, val)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			if d.full() {
				continue
			}
			d.problemAt(k.Line, k.Column, joinPath(path, k.Value),
				fmt.Sprintf("duplicate key %q %s (first on line %d)", k.Value, where(path), first.Line))
			continue
		}
		seen[k.Value] = k
		out = append(out, entry{key: k.Value, keyNode: k, value: val})
	}
	for _, m := range merges {
		out = d.merge(out, seen, m, path)
	}
	return out
}

// merge appends the entries of a merged mapping (or list of mappings) whose
// keys are not set yet.
func (d *decoder) merge(out []entry, seen map[string]*yaml.Node, m *yaml.Node, path string) []entry {
	if d.aborted {
		return out
	}
	if m.Kind == yaml.AliasNode {
		if m = d.resolveAlias(m, path); m == nil {
			return out
		}
		d.aliasDepth++
		defer func() { d.aliasDepth-- }()
	}
	if !d.charge(m) {
		return out
	}
	switch {
	case m.Kind == yaml.SequenceNode:
		for _, src := range m.Content {
			if src.Kind == yaml.SequenceNode {
				d.problem(src, path, "a merge key (<<) takes a mapping or a list of mappings, got a list of lists")
				continue
			}
			out = d.merge(out, seen, src, path)
		}
	case m.Kind != yaml.MappingNode:
		d.problem(m, path, "a merge key (<<) takes a mapping or a list of mappings, got %s", describeNode(m))
	case d.merging[m]:
		d.problem(m, path, "a mapping merges itself (<< refers to its own anchor)")
	default:
		d.merging[m] = true
		for _, e := range d.entries(m, path) {
			if _, ok := seen[e.key]; !ok {
				seen[e.key] = e.keyNode
				out = append(out, e)
			}
		}
		delete(d.merging, m)
	}
	return out
}

// structField is one field of a model struct as the file names it.
type structField struct {
	name  string
	index []int
}

var structFieldCache sync.Map // reflect.Type -> []structField

// structFields lists the file fields of a model struct in declaration
// order, flattening ",inline" embedded structs.
func structFields(t reflect.Type) []structField {
	if cached, ok := structFieldCache.Load(t); ok {
		return cached.([]structField)
	}
	var fields []structField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if opts == "inline" {
			for _, inner := range structFields(f.Type) {
				fields = append(fields, structField{name: inner.name, index: append([]int{i}, inner.index...)})
			}
			continue
		}
		fields = append(fields, structField{name: name, index: []int{i}})
	}
	structFieldCache.Store(t, fields)
	return fields
}

func findField(fields []structField, name string) (structField, bool) {
	for _, f := range fields {
		if f.name == name {
			return f, true
		}
	}
	return structField{}, false
}

func names(fields []structField) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.name
	}
	return out
}

func fieldNames(fields []structField) string { return strings.Join(names(fields), ", ") }

// describeType says what a value of type t is written as.
func describeType(t reflect.Type) string {
	switch t {
	case durationType:
		return "a duration such as 250ms or 2s"
	case reflect.TypeFor[Percent]():
		return "a percentage such as 99.5% or 0.995"
	case reflect.TypeFor[ByteRate]():
		return "a rate such as 64KiB/s"
	case reflect.TypeFor[ByteSize]():
		return "a size such as 32 or 64KiB"
	case reflect.TypeFor[Threshold]():
		return "a number, a percentage or a duration"
	case reflect.TypeFor[RampValue]():
		return describeRampValue
	case int64Type:
		return "an integer"
	}
	if _, ok := reflect.New(t).Interface().(plainRange); ok && t.Kind() == reflect.Struct {
		bound := describeType(t.Field(0).Type)
		return bound + ", or a range {min: ..., max: ...} of them"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return describeType(t.Elem())
	case reflect.Struct:
		return "a mapping"
	case reflect.Map:
		return "a mapping of names to strings"
	case reflect.Slice:
		return "a list"
	case reflect.String:
		if e, ok := reflect.Zero(t).Interface().(enum); ok {
			return "one of " + strings.Join(e.allowed(), ", ")
		}
		return "a string"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	}
	return t.String()
}

// describeNode says what the file wrote, for "expected X, got Y".
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		value := n.Value
		if len(value) > 40 {
			value = value[:40] + "..."
		}
		switch n.ShortTag() {
		case "!!str":
			return fmt.Sprintf("the string %q", value)
		case "!!int":
			return "the integer " + value
		case "!!float":
			return "the number " + value
		case "!!bool":
			return value
		case "!!null":
			return "nothing (null)"
		default:
			return fmt.Sprintf("a value tagged %s", n.ShortTag())
		}
	}
	return "an alias"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Suggest returns `; did you mean "x"?` when one of candidates is close
// to s (a misspelled command, flag or field), else "".
func Suggest(s string, candidates []string) string { return suggest(s, candidates) }

// suggest returns `; did you mean "x"?` when one candidate is close to s.
func suggest(s string, candidates []string) string {
	best, bestDist := "", math.MaxInt
	for _, c := range candidates {
		dist := editDistance(strings.ToLower(s), strings.ToLower(c))
		if dist < bestDist {
			best, bestDist = c, dist
		}
	}
	limit := 2
	if len(s) <= 4 {
		limit = 1
	}
	if best == "" || bestDist > limit || best == s {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of neighbours
// ("form" is one step from "from").
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	dist := make([][]int, len(ra)+1)
	for i := range dist {
		dist[i] = make([]int, len(rb)+1)
		dist[i][0] = i
	}
	for j := range dist[0] {
		dist[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			dist[i][j] = min(dist[i-1][j]+1, dist[i][j-1]+1, dist[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				dist[i][j] = min(dist[i][j], dist[i-2][j-2]+1)
			}
		}
	}
	return dist[len(ra)][len(rb)]
}

// parseScalar implementations of the unit types.

func (p *Percent) parseScalar(n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float":
	default:
		return fmt.Errorf("expected a percentage such as 99.5%% or 0.995, got %s", describeNode(n))
	}
	v, err := ParsePercent(n.Value)
	if err != nil {
		return err
	}
	*p = v
	return nil
}

func (b *ByteSize) parseScalar(n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!str", "!!int":
	default:
		return fmt.Errorf("expected a size such as 32 or 64KiB, got %s", describeNode(n))
	}
	if n.ShortTag() == "!!int" {
		var i int64
		if err := n.Decode(&i); err != nil {
			return fmt.Errorf("size %s does not fit in 64 bits", n.Value)
		}
		*b = ByteSize(i)
		return nil
	}
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

func (r *ByteRate) parseScalar(n *yaml.Node) error {
	if n.ShortTag() != "!!str" {
		return fmt.Errorf("expected a rate with a unit such as 64KiB/s, got %s", describeNode(n))
	}
	v, err := ParseByteRate(n.Value)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

func (t *Threshold) parseScalar(n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float":
	default:
		return fmt.Errorf("expected a number, a percentage (1%%) or a duration (150ms), got %s", describeNode(n))
	}
	v, err := ParseThreshold(n.Value)
	if err != nil {
		return err
	}
	*t = v
	return nil
}
