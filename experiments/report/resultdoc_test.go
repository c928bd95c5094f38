package report

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// docs/result-json.md documents every field of result.json (Result) and of
// a repeat's result.json (RepeatResult) and no other: the rows under
// "Header" belong to both, those under "A run's result.json" to Result and
// those under "A repeat's result.json" to RepeatResult.
func TestResultJSONReferenceDocumentsEveryField(t *testing.T) {
	b, err := os.ReadFile("../../docs/result-json.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := documentedJSONPaths(string(b))
	for _, tc := range []struct {
		section string
		typ     reflect.Type
	}{
		{"A run's result.json", reflect.TypeFor[Result]()},
		{"A repeat's result.json", reflect.TypeFor[RepeatResult]()},
	} {
		documented := map[string]bool{}
		for _, p := range append(rows["Header (both files)"], rows[tc.section]...) {
			documented[p] = true
		}
		fields := map[string]bool{}
		jsonPaths("", tc.typ, fields)
		for p := range fields {
			if !documented[p] {
				t.Errorf("docs/result-json.md, %q: field %s of %s is not documented", tc.section, p, tc.typ)
			}
		}
		for p := range documented {
			if !fields[p] {
				t.Errorf("docs/result-json.md, %q: %s is documented, and %s has no such field", tc.section, p, tc.typ)
			}
		}
	}
}

var (
	jsonHeadingRE = regexp.MustCompile(`^## (.+)$`)
	jsonRowRE     = regexp.MustCompile("^\\| `([^`]+)` \\|")
)

// documentedJSONPaths returns the backticked first cells of the table rows
// under each ## heading.
func documentedJSONPaths(md string) map[string][]string {
	out := map[string][]string{}
	section := ""
	for _, line := range strings.Split(md, "\n") {
		if m := jsonHeadingRE.FindStringSubmatch(line); m != nil {
			section = m[1]
			continue
		}
		if m := jsonRowRE.FindStringSubmatch(line); m != nil {
			out[section] = append(out[section], m[1])
		}
	}
	return out
}

// jsonPaths adds the path of every field encoding/json writes for t, lists
// as [] and embedded structs flattened, as the reference names them.
func jsonPaths(prefix string, t reflect.Type, out map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		if t.Kind() == reflect.Slice {
			prefix += "[]"
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[time.Time]() {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if tag == "-" || !f.IsExported() {
			continue
		}
		if f.Anonymous && name == "" {
			jsonPaths(prefix, f.Type, out)
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := name
		if prefix != "" {
			p = prefix + "." + name
		}
		out[p] = true
		jsonPaths(p, f.Type, out)
	}
}
