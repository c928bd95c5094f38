package experiments

import (
	"encoding/json"
	"encoding/xml"
	"html"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"
)

// Redacted replaces every sensitive value in what chaosctl writes.
const Redacted = "[REDACTED]"

// MinRedactLen is the shortest value a Redactor replaces. Shorter values
// ("1", "on", "yes" in a member's env:) are left alone: replacing them in
// free text would mangle every output (and break its JSON), and a secret of
// three bytes is guessed, not leaked.
const MinRedactLen = 4

// secretOpen begins a secret reference, ${secret:NAME}.
const secretOpen = "${secret:"

// secretNameRE is what NAME of ${secret:NAME} may be: an environment
// variable's name. The decoder resolves secrets with the variables
// (variables.go).
var secretNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// clip shortens a quoted piece of the file for a message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// SensitiveHeader reports whether an HTTP header's value is redacted in
// every output: Authorization, Proxy-Authorization, Cookie, Set-Cookie and
// any name ending in -Token or -Key (case-insensitive).
func SensitiveHeader(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	switch n {
	case "authorization", "proxy-authorization", "cookie", "set-cookie":
		return true
	}
	return strings.HasSuffix(n, "-token") || strings.HasSuffix(n, "-key")
}

// collectSensitive adds the values an experiment holds that no output may show:
// its members' env: values and its sensitive HTTP header values (the
// decoder adds the ${secret:...} values as it substitutes them).
func (d *decoder) collectSensitive(b *Body, t *Target) {
	if t != nil && t.External != nil {
		for _, m := range t.External.Members {
			for _, v := range m.Env {
				d.sensitive = append(d.sensitive, v)
			}
		}
	}
	if b != nil {
		for _, a := range b.Actions {
			d.collectStep(&a.ActionStep)
			if a.Rollback != nil {
				d.collectStep(a.Rollback)
			}
		}
		for _, h := range b.Workload.HTTP {
			for k, v := range h.Headers {
				if SensitiveHeader(k) {
					d.sensitive = append(d.sensitive, v)
				}
			}
		}
	}
}

// collectStep adds a step's sensitive header values. Its env: values are
// not (unlike a member's): the ledger keeps a rollback runnable for
// `chaosctl recover`, and a redacted value could not be found again;
// secrets are written ${secret:NAME}, which recover resolves anew.
func (d *decoder) collectStep(s *ActionStep) {
	if s.HTTP != nil {
		for k, v := range s.HTTP.Headers {
			if SensitiveHeader(k) {
				d.sensitive = append(d.sensitive, v)
			}
		}
	}
}

// Redactor returns the redactor of everything this experiment must not
// show: the values of its ${secret:NAME} references, its members' env:
// values and its sensitive HTTP header values (see SensitiveHeader). It
// is empty (and does nothing) for an experiment without them.
func (e *Experiment) Redactor() *Redactor {
	if e == nil {
		return nil
	}
	return NewRedactor(e.sensitive)
}

// SensitiveValues lists the values Redactor replaces (those of at least
// MinRedactLen bytes), for callers that merge several experiments'.
func (e *Experiment) SensitiveValues() []string {
	if e == nil {
		return nil
	}
	return append([]string(nil), e.sensitive...)
}

// Redactor replaces sensitive values by Redacted in text: each value as it
// is, and as JSON, Go (strconv.Quote), HTML, XML and JavaScript escape it,
// so it works on an encoded file's bytes too. Longer values are replaced
// first, so a value that contains another is replaced whole. Values shorter
// than MinRedactLen are left alone. A nil *Redactor does nothing.
type Redactor struct {
	values []string
	r      *strings.Replacer
}

// NewRedactor returns a redactor of values.
func NewRedactor(values []string) *Redactor {
	seen := map[string]bool{}
	var kept []string
	for _, v := range values {
		if len(v) < MinRedactLen || seen[v] {
			continue
		}
		seen[v] = true
		kept = append(kept, v)
		for _, f := range escapedForms(v) {
			if len(f) >= MinRedactLen && !seen[f] {
				seen[f] = true
				kept = append(kept, f)
			}
		}
	}
	if len(kept) == 0 {
		return &Redactor{}
	}
	// strings.Replacer tries its patterns in argument order at each
	// position: longest first.
	sort.Slice(kept, func(i, j int) bool {
		if len(kept[i]) != len(kept[j]) {
			return len(kept[i]) > len(kept[j])
		}
		return kept[i] < kept[j]
	})
	pairs := make([]string, 0, 2*len(kept))
	for _, v := range kept {
		pairs = append(pairs, v, Redacted)
	}
	return &Redactor{values: kept, r: strings.NewReplacer(pairs...)}
}

// escapedForms is v as the encoders of chaosctl's outputs write it inside
// a string.
func escapedForms(v string) []string {
	var forms []string
	for _, escapeHTML := range []bool{true, false} {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(escapeHTML)
		if enc.Encode(v) == nil {
			forms = append(forms, strings.TrimSuffix(strings.TrimSuffix(b.String(), "\n"), `"`)[1:])
		}
	}
	q := strconv.Quote(v)
	forms = append(forms, q[1:len(q)-1], html.EscapeString(v), template.HTMLEscapeString(v), template.JSEscapeString(v))
	var x strings.Builder
	if xml.EscapeText(&x, []byte(v)) == nil {
		forms = append(forms, x.String())
	}
	return forms
}

// Empty reports whether the redactor has nothing to replace.
func (r *Redactor) Empty() bool { return r == nil || r.r == nil }

// String returns s with every sensitive value replaced.
func (r *Redactor) String(s string) string {
	if r.Empty() {
		return s
	}
	return r.r.Replace(s)
}

// Bytes returns b with every sensitive value replaced (b itself when the
// redactor is empty).
func (r *Redactor) Bytes(b []byte) []byte {
	if r.Empty() {
		return b
	}
	return []byte(r.r.Replace(string(b)))
}

// Contains reports whether s holds a sensitive value.
func (r *Redactor) Contains(s string) bool {
	if r.Empty() {
		return false
	}
	for _, v := range r.values {
		if strings.Contains(s, v) {
			return true
		}
	}
	return false
}

// Writer returns a writer that redacts each Write before passing it on to
// w. A value split across two Writes is not seen: give it whole records
// (a log entry, a line), as logrus and the journal do.
func (r *Redactor) Writer(w io.Writer) io.Writer {
	if r.Empty() {
		return w
	}
	return redactWriter{r: r, w: w}
}

type redactWriter struct {
	r *Redactor
	w io.Writer
}

func (rw redactWriter) Write(p []byte) (int, error) {
	if _, err := rw.w.Write(rw.r.Bytes(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// RedactSource returns an experiment file's bytes (or a GameDay step's
// Source) as chaosctl may copy them into an output folder: every sensitive
// value replaced. ${secret:NAME} references stay as written. When a value
// hides in the YAML behind escapes or line folding, so that replacing its
// bytes misses it, the file is written anew from its parsed form with every
// scalar that holds one replaced (comments kept, layout normalised).
func (e *Experiment) RedactSource(src []byte) []byte {
	r := e.Redactor()
	if r.Empty() {
		return src
	}
	out := r.Bytes(src)
	var doc yaml.Node
	if err := yaml.Unmarshal(out, &doc); err != nil {
		// Not YAML any more (or never was): nothing better to do than the
		// replaced bytes.
		return out
	}
	if !redactScalars(&doc, r) {
		return out
	}
	b, err := yaml.Marshal(&doc)
	if err != nil {
		return out
	}
	return r.Bytes(b)
}

// redactScalars replaces the values of the scalars in n's tree that hold a
// sensitive value by Redacted, and reports whether it replaced any.
func redactScalars(n *yaml.Node, r *Redactor) bool {
	changed := false
	seen := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		if n.Kind == yaml.ScalarNode && r.Contains(n.Value) {
			n.Value, n.Style, n.Tag = r.String(n.Value), yaml.DoubleQuotedStyle, "!!str"
			changed = true
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return changed
}

// redactProblems returns problems with the sensitive values the decoder
// has seen replaced in their messages: a message may quote a value.
func (d *decoder) redactProblems(problems []Problem) []Problem {
	out := append([]Problem(nil), problems...)
	r := NewRedactor(d.sensitive)
	if r.Empty() {
		return out
	}
	for i := range out {
		out[i].Msg = r.String(out[i].Msg)
	}
	return out
}
