package experiments

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Where a variable's value came from (Variable.From).
const (
	FromEnv     = "env"     // the environment (a ${NAME} or a ${secret:NAME})
	FromDefault = "default" // the default of ${NAME:-default}
	FromSet     = "--set"   // a --set PATH=VALUE override
)

// Variable is one value the decoder put into a file: a ${NAME} reference's,
// a ${secret:NAME} reference's (Name "secret:NAME", Value Redacted) or a
// --set override's (Name the field path).
type Variable struct {
	Name  string
	Value string
	From  string // FromEnv, FromDefault or FromSet
}

// DecodeOptions are what DecodeWith and DecodeGameDayWith take besides
// the file.
type DecodeOptions struct {
	// Set holds --set PATH=VALUE overrides (workload.rate=200,
	// faults[0].duration=5s), applied in order: each replaces (or adds)
	// one scalar value of the file, which the decoder then reads as the
	// field's type.
	Set []string
	// LookupEnv resolves ${NAME} and ${secret:NAME}; nil is os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// DecodeWith is Decode with variables resolved by o's LookupEnv and o's
// --set overrides applied. A bad override is a problem of the file
// (Problem.Origin names it).
func DecodeWith(filename string, data []byte, o DecodeOptions) (*Experiment, error) {
	d := newDecoder(filename)
	if o.LookupEnv != nil {
		d.vars.lookup = o.LookupEnv
	}
	root := d.parseLimited(data, "an experiment")
	if root == nil {
		return nil, d.err()
	}
	root = d.resolveVariables(root, data, reflect.TypeFor[Experiment](), o.Set)
	exp := d.experiment(root)
	if len(d.problems) > 0 {
		return nil, d.err()
	}
	doc := *d.doc
	doc.Content = []*yaml.Node{root}
	exp.resolved = d.vars.resolvedSource(&doc, filename)
	return exp, nil
}

// ResolvedSource is the file (src, its bytes) as chaosctl runs it and
// copies it into the output folder: src itself when it uses no ${NAME}
// and no --set, else the file written anew with every ${NAME} replaced by
// its value and every --set applied, so it decodes to the same experiment
// without them. ${secret:NAME} references stay as written.
func (e *Experiment) ResolvedSource(src []byte) []byte {
	if e == nil || e.resolved == nil {
		return src
	}
	return e.resolved
}

// varState is what the substitution of one decode (a file, or a playbook
// and the experiment files it names) knows of the scalars it changed.
type varState struct {
	lookup func(string) (string, bool)
	// nodes are the scalars that held a reference or a $$, or that a
	// --set gave; the decoder reads them as untyped text.
	nodes map[*yaml.Node]*varNode
	// sets are the --set arguments; the nodes a --set made have the line
	// -(index+1), which problemAt turns into Problem.Origin.
	sets []string
}

// varNode is one scalar the substitution changed.
type varNode struct {
	// written is the value as the resolved source writes it: ${NAME}
	// replaced by its value ($ doubled), the rest as the file wrote it.
	written string
	uses    []Variable
	secrets []string
	// failed: a reference could not be resolved (a problem says why);
	// the decoder skips the value.
	failed bool
	// set: a --set gave the value.
	set bool
	// asString: the decoder read the value into a string field, so the
	// resolved source must write it as a string.
	asString bool
}

func newVarState() *varState {
	return &varState{lookup: os.LookupEnv, nodes: map[*yaml.Node]*varNode{}}
}

// varNameRE is what NAME of ${NAME}, ${NAME:-default} and ${secret:NAME}
// may be: an environment variable's name.
var varNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// allowedRefs says what a file may write with a $.
const allowedRefs = "allowed: ${NAME} and ${NAME:-default} (NAME matches [A-Za-z_][A-Za-z0-9_]*; the default is used when NAME is unset or empty), ${secret:NAME}, and $$ for a literal $"

// scanned is one scalar value after substitution.
type scanned struct {
	decoded, written string
	uses             []varUse
	problems         []varProblem
}

// varUse is one ${...} reference of a scalar; at is the byte offset of its
// $ in the value.
type varUse struct {
	Variable
	at     int
	secret string // the value, for a ${secret:NAME}
}

type varProblem struct {
	at  int
	msg string
}

// expandVariables replaces, in s, every ${NAME} and ${NAME:-default} by
// the variable's value, every ${secret:NAME} by the secret's, and every $$
// by $. A $ followed by anything else is a $.
func expandVariables(s string, lookup func(string) (string, bool)) scanned {
	var out scanned
	var dec, wr strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 == len(s) || (s[i+1] != '$' && s[i+1] != '{') {
			dec.WriteByte(c)
			wr.WriteByte(c)
			i++
			continue
		}
		if s[i+1] == '$' {
			dec.WriteByte('$')
			wr.WriteString("$$")
			i += 2
			continue
		}
		j := strings.IndexByte(s[i+2:], '}')
		if j < 0 {
			msg := "unclosed variable reference " + strconv.Quote(clip(s[i:])) + "; " + allowedRefs
			if strings.HasPrefix(s[i:], secretOpen) {
				msg = "unclosed secret reference " + strconv.Quote(clip(s[i:])) + "; write ${secret:NAME} (NAME an environment variable)"
			}
			out.problems = append(out.problems, varProblem{i, msg})
			dec.WriteString(s[i:])
			wr.WriteString(s[i:])
			break
		}
		ref := s[i : i+j+3]
		body := ref[2 : len(ref)-1]
		u, msg := resolveRef(ref, body, lookup)
		if msg != "" {
			out.problems = append(out.problems, varProblem{i, msg})
		}
		u.at = i
		out.uses = append(out.uses, u)
		if strings.HasPrefix(u.Name, "secret:") {
			dec.WriteString(u.secret)
			wr.WriteString(ref)
		} else {
			dec.WriteString(u.Value)
			wr.WriteString(strings.ReplaceAll(u.Value, "$", "$$"))
		}
		i += len(ref)
	}
	out.decoded, out.written = dec.String(), wr.String()
	return out
}

// resolveRef resolves one reference ref ("${...}", body its inside); msg
// says why it cannot be.
func resolveRef(ref, body string, lookup func(string) (string, bool)) (u varUse, msg string) {
	if name, ok := strings.CutPrefix(body, "secret:"); ok {
		u.Name, u.From, u.Value = "secret:"+name, FromEnv, Redacted
		if !secretNameRE.MatchString(name) {
			return u, "bad secret reference " + strconv.Quote(clip(ref)) + "; NAME of ${secret:NAME} must match [A-Za-z_][A-Za-z0-9_]*"
		}
		v, ok := lookup(name)
		if !ok {
			return u, "secret " + name + ": environment variable " + name + " is not set"
		}
		u.secret = v
		return u, ""
	}
	name, def, hasDefault := strings.Cut(body, ":-")
	u.Name = name
	if !varNameRE.MatchString(name) {
		return u, "bad variable reference " + strconv.Quote(clip(ref)) + "; " + allowedRefs
	}
	v, ok := lookup(name)
	switch {
	case ok && (v != "" || !hasDefault):
		u.Value, u.From = v, FromEnv
	case hasDefault:
		u.Value, u.From = def, FromDefault
	default:
		return u, "variable " + name + " is not set; set it in the environment, give a default (${" + name + ":-VALUE}) or override the value with --set"
	}
	return u, ""
}

// resolveVariables applies the --set overrides to the tree under root (a
// file of type t) and then substitutes the variables of every scalar
// value in it, reporting what cannot be resolved. It returns the root to
// decode (a copy where a --set changed it).
func (d *decoder) resolveVariables(root *yaml.Node, data []byte, t reflect.Type, sets []string) *yaml.Node {
	root = d.applySets(root, t, sets)
	d.substitute(root, data)
	return root
}

// substitute replaces the variables of every scalar value under root
// (mapping keys stay as written; each anchored value once), recording the
// scalars it changed in d.vars. A problem points at the reference's $ in
// data.
func (d *decoder) substitute(root *yaml.Node, data []byte) {
	src := newLineIndex(data)
	seen := map[*yaml.Node]bool{}
	first := map[string]firstUse{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for i, c := range n.Content {
				p := path
				if n.Kind == yaml.SequenceNode {
					p = fmt.Sprintf("%s[%d]", path, i)
				}
				walk(c, p)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := path
				if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.ShortTag() != "!!merge" {
					p = joinPath(path, k.Value)
				}
				walk(n.Content[i+1], p)
			}
		case yaml.ScalarNode:
			d.substituteScalar(n, path, src, first)
		}
	}
	walk(root, "")
}

// firstUse is where a variable was first used, so a second default that
// differs is caught.
type firstUse struct {
	Variable
	line int
}

func (d *decoder) substituteScalar(n *yaml.Node, path string, src lineIndex, first map[string]firstUse) {
	if d.vars.nodes[n] != nil || (!strings.Contains(n.Value, "${") && !strings.Contains(n.Value, "$$")) {
		return
	}
	s := expandVariables(n.Value, d.vars.lookup)
	vn := &varNode{written: s.written}
	for _, u := range s.uses {
		if u.secret != "" {
			vn.secrets = append(vn.secrets, u.secret)
			d.sensitive = append(d.sensitive, u.secret)
		}
	}
	fail := func(at int, msg string) {
		vn.failed = true
		line, col := src.dollar(n, strings.Count(n.Value[:at], "$"))
		d.bad[path], d.broken[path] = true, true
		if !d.full() {
			d.problemAt(line, col, path, displayPath(path)+": "+msg)
		}
	}
	for _, p := range s.problems {
		fail(p.at, p.msg)
	}
	for _, u := range s.uses {
		if vn.failed {
			break
		}
		vn.uses = append(vn.uses, u.Variable)
		if strings.HasPrefix(u.Name, "secret:") {
			continue
		}
		line, _ := src.dollar(n, strings.Count(n.Value[:u.at], "$"))
		f, seenBefore := first[u.Name]
		if !seenBefore {
			first[u.Name] = firstUse{u.Variable, line}
			continue
		}
		if f.Value != u.Value {
			fail(u.at, fmt.Sprintf("variable %s is unset and has the default %q here and %q on line %d; give it one default (a YAML anchor can share the value) or set %s", u.Name, u.Value, f.Value, f.line, u.Name))
		}
	}
	if !vn.failed {
		n.Value, n.Tag = s.decoded, scalarTag(s.decoded)
	}
	d.vars.nodes[n] = vn
}

// scalarTag is the tag of a substituted value: what a plain scalar of
// that text would be (an integer, a number, true or false), else a string;
// never null, so an empty value is the empty string.
func scalarTag(v string) string {
	if v == "" {
		return "!!str"
	}
	tag := (&yaml.Node{Kind: yaml.ScalarNode, Value: v}).ShortTag()
	switch tag {
	case "!!int", "!!float", "!!bool":
		return tag
	}
	return "!!str"
}

// lineIndex finds positions in a file's bytes.
type lineIndex struct {
	data   []byte
	starts []int // byte offset of each line's start
}

func newLineIndex(data []byte) lineIndex {
	starts := []int{0}
	for i, c := range data {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return lineIndex{data: data, starts: starts}
}

// dollar returns the line and column of the ordinal-th $ (from 0) of
// scalar n's text in the file, or n's own position when it cannot tell
// (a $ written as an escape of a double-quoted string, a node not from
// the file). Columns count characters, as the YAML parser's do.
func (x lineIndex) dollar(n *yaml.Node, ordinal int) (line, col int) {
	if n.Line < 1 || n.Line > len(x.starts) {
		return n.Line, n.Column
	}
	off := x.starts[n.Line-1]
	for c := 1; c < n.Column && off < len(x.data) && x.data[off] != '\n'; c++ {
		_, size := utf8.DecodeRune(x.data[off:])
		off += size
	}
	k := 0
	for i := off; i < len(x.data); i++ {
		if x.data[i] != '$' {
			continue
		}
		if k < ordinal {
			k++
			continue
		}
		if i+1 < len(x.data) && (x.data[i+1] == '{' || x.data[i+1] == '$') {
			line = len(x.starts)
			for line > 1 && x.starts[line-1] > i {
				line--
			}
			return line, 1 + utf8.RuneCount(x.data[x.starts[line-1]:i])
		}
		break
	}
	return n.Line, n.Column
}

// use records, as the decoder reads a changed scalar, its secrets as
// sensitive and its variables as the experiment's.
func (d *decoder) use(vn *varNode) {
	d.sensitive = append(d.sensitive, vn.secrets...)
	for _, u := range vn.uses {
		d.addVariable(u)
	}
}

func (d *decoder) addVariable(u Variable) {
	for _, v := range d.variables {
		if v.Name == u.Name && v.From == u.From {
			return
		}
	}
	d.variables = append(d.variables, u)
}

// note says, for a problem at a changed scalar, where its value came
// from: "" for scalars the file wrote as they are.
func (d *decoder) note(n *yaml.Node) string {
	vn := d.vars.nodes[n]
	if vn == nil || vn.set || len(vn.uses) == 0 {
		return ""
	}
	refs := make([]string, len(vn.uses))
	for i, u := range vn.uses {
		switch u.From {
		case FromDefault:
			refs[i] = "${" + u.Name + "} (its default)"
		default:
			refs[i] = "${" + u.Name + "} (the environment)"
		}
	}
	return " (the value came from " + strings.Join(refs, ", ") + ")"
}

// written returns a copy of the tree under n in which every changed scalar
// holds its written form (resolved source), aliases kept; n itself when
// nothing changed.
func (s *varState) written(n *yaml.Node) *yaml.Node {
	if len(s.nodes) == 0 {
		return n
	}
	memo := map[*yaml.Node]*yaml.Node{}
	var cp func(n *yaml.Node) *yaml.Node
	cp = func(n *yaml.Node) *yaml.Node {
		if n == nil {
			return nil
		}
		if c, ok := memo[n]; ok {
			return c
		}
		c := *n
		memo[n] = &c
		if vn := s.nodes[n]; vn != nil && !vn.failed {
			c.Value = vn.written
			switch {
			case strings.Contains(vn.written, "$"), vn.asString:
				// Decoded again, a $ reference is substituted again, and
				// read as untyped text.
				c.Tag = "!!str"
			default:
				c.Tag = scalarTag(vn.written)
			}
			if c.Tag != "!!str" || c.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
				c.Style = 0
			}
		}
		if n.Content != nil {
			c.Content = make([]*yaml.Node, len(n.Content))
			for i, x := range n.Content {
				c.Content[i] = cp(x)
			}
		}
		c.Alias = cp(n.Alias)
		return &c
	}
	return cp(n)
}

// resolvedSource is the file of document doc written anew with its variables
// and --set overrides resolved (ResolvedSource); nil when it has none.
func (s *varState) resolvedSource(doc *yaml.Node, file string) []byte {
	changed := false
	for _, vn := range s.nodes {
		for _, u := range vn.uses {
			changed = changed || !strings.HasPrefix(u.Name, "secret:")
		}
	}
	if !changed {
		return nil
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s as chaosctl ran it: each ${NAME} replaced by its value and each --set\n# applied (result.json lists them under variables); ${secret:NAME} kept.\n", strings.ReplaceAll(file, "\n", " "))
	if err := encodeYAML(&b, s.written(doc)); err != nil {
		return nil
	}
	return b.Bytes()
}
