package experiments

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"go.yaml.in/yaml/v3"
)

// JSONSchemaDraft is the JSON Schema dialect of ExperimentSchema and
// GameDaySchema.
const JSONSchemaDraft = "https://json-schema.org/draft/2020-12/schema"

// ExperimentSchema returns a JSON Schema (draft 2020-12) of the experiment
// format, for editors (yaml-language-server) and linters: every field of
// the decoder's tree (ExperimentFields) with its type, the enums' values,
// the unit syntaxes as patterns, additionalProperties false everywhere, and
// the description, default and required flag of its row in the reference
// (docs/format.md). It checks the file's shape; the decoder still judges
// what a schema cannot say (ranges, names, timing, exclusive fields).
func ExperimentSchema() ([]byte, error) {
	return schemaJSON(ExperimentFields(), ExperimentReference(), KindExperiment, "chaosctl experiment ("+APIVersion+", kind: "+KindExperiment+")",
		"A chaosctl experiment file. Reference: docs/format.md in chaosctl's repository; `chaosctl validate FILE` checks what a schema cannot.")
}

// GameDaySchema returns the JSON Schema of the GameDay playbook format
// (docs/gameday.md; its inline experiments and shared target are the
// experiment format's).
func GameDaySchema() ([]byte, error) {
	return schemaJSON(GameDayFields(), GameDayReference(), KindGameDay, "chaosctl GameDay playbook ("+APIVersion+", kind: "+KindGameDay+")",
		"A chaosctl GameDay playbook. Reference: docs/gameday.md in chaosctl's repository; `chaosctl validate FILE` checks what a schema cannot.")
}

// schema is one JSON Schema object; the fields are written in this order.
type schema struct {
	Schema               string      `json:"$schema,omitempty"`
	Title                string      `json:"title,omitempty"`
	Description          string      `json:"description,omitempty"`
	Type                 any         `json:"type,omitempty"` // a name, or a list of names
	Enum                 []string    `json:"enum,omitempty"`
	Const                any         `json:"const,omitempty"`
	Pattern              string      `json:"pattern,omitempty"`
	Default              any         `json:"default,omitempty"`
	AnyOf                []*schema   `json:"anyOf,omitempty"`
	Properties           *properties `json:"properties,omitempty"`
	Required             []string    `json:"required,omitempty"`
	AdditionalProperties any         `json:"additionalProperties,omitempty"`
	Items                *schema     `json:"items,omitempty"`
}

// properties keeps a mapping's fields in declaration order.
type properties []property

type property struct {
	name   string
	schema *schema
}

func (ps properties) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := marshal(p.name)
		if err != nil {
			return nil, err
		}
		v, err := marshal(p.schema)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// The unit syntaxes (units.go) as patterns, valid in Go's RE2 and in
// ECMA-262, which editors use.
const (
	numberRE   = `([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?`
	durationRE = `[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)`
	bytesRE    = `(KiB|MiB|GiB|kB|KB|MB|GB|B)`
	// durationPattern is a Go duration: 250ms, 2s, 1m30s, -2s, or 0.
	durationPattern = `^\s*` + durationRE + `\s*$`
	// percentPattern is 99.5% or the fraction 0.995 written as a string.
	percentPattern = `^\s*[-+]?` + numberRE + `\s*%?\s*$`
	// sizePattern is a byte size: 32, 512B, 64KiB, 1MB.
	sizePattern = `^\s*` + numberRE + `\s*` + bytesRE + `?\s*$`
	// ratePattern is a byte rate: 512B/s, 64KiB/s, 1MB/s.
	ratePattern = `^\s*` + numberRE + `\s*` + bytesRE + `/s\s*$`
	// boundPattern is a probe bound written as a string: 1%, 0.01 or 150ms.
	boundPattern = `^\s*([-+]?` + numberRE + `\s*%?|` + durationRE + `)\s*$`
)

func schemaJSON(root *Field, ref *Reference, kind, title, description string) ([]byte, error) {
	s, err := fieldSchema(root, ref)
	if err != nil {
		return nil, err
	}
	// The two fields that say which file this is take one value each.
	for _, p := range *s.Properties {
		switch p.name {
		case "apiVersion":
			p.schema.Const = APIVersion
		case "kind":
			p.schema.Const = kind
		}
	}
	s.Schema, s.Title, s.Description = JSONSchemaDraft, title, description
	flat, err := marshal(s)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := json.Indent(&b, flat, "", "  "); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// marshal is json.Marshal without HTML escaping: descriptions say
// <run id>, not \u003crun id\u003e.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// fieldSchema is the schema of f with its reference row's description
// and default (none for a field the reference lacks, which a test keeps
// from happening).
func fieldSchema(f *Field, ref *Reference) (*schema, error) {
	s, err := shapeSchema(f, ref)
	if err != nil {
		return nil, err
	}
	if f.nullable {
		// null is an empty section, which the decoder takes as absent.
		s = nullable(s)
	}
	if !f.Named() {
		return s, nil
	}
	row, ok := ref.Row(f.Path)
	if !ok {
		// The reference test names the missing row; the schema still
		// describes the field's shape.
		return s, nil
	}
	s.Description = plainText(row.Description)
	if lit, ok := row.DefaultLiteral(); ok {
		var v any
		if err := yaml.Unmarshal([]byte(lit), &v); err != nil {
			return nil, fmt.Errorf("schema: %s: default %q: %w", f.Path, lit, err)
		}
		s.Default = v
	}
	return s, nil
}

// shapeSchema is the schema of f's value: its type, enum, pattern and
// fields.
func shapeSchema(f *Field, ref *Reference) (*schema, error) {
	switch f.Kind {
	case FieldObject:
		return objectSchema(f.Fields, ref)
	case FieldList:
		item, err := fieldSchema(f.Elem, ref)
		if err != nil {
			return nil, err
		}
		return &schema{Type: "array", Items: item}, nil
	case FieldMap:
		elem, err := fieldSchema(f.Elem, ref)
		if err != nil {
			return nil, err
		}
		return &schema{Type: "object", AdditionalProperties: elem}, nil
	case FieldRange:
		bounds, err := objectSchema(f.Fields, ref)
		if err != nil {
			return nil, err
		}
		one, err := shapeSchema(f.Fields[0], ref)
		if err != nil {
			return nil, err
		}
		return &schema{AnyOf: []*schema{one, bounds}}, nil
	}
	return scalarSchema(f), nil
}

// nullable returns s allowing null too.
func nullable(s *schema) *schema {
	if t, ok := s.Type.(string); ok && len(s.AnyOf) == 0 {
		s.Type = []string{t, "null"}
		return s
	}
	return &schema{AnyOf: append(s.AnyOf[:len(s.AnyOf):len(s.AnyOf)], &schema{Type: "null"})}
}

func objectSchema(fields []*Field, ref *Reference) (*schema, error) {
	s := &schema{Type: "object", Properties: &properties{}, AdditionalProperties: false}
	for _, c := range fields {
		cs, err := fieldSchema(c, ref)
		if err != nil {
			return nil, err
		}
		*s.Properties = append(*s.Properties, property{c.Name, cs})
		if row, ok := ref.Row(c.Path); ok && row.Required() {
			s.Required = append(s.Required, c.Name)
		}
	}
	return s, nil
}

func scalarSchema(f *Field) *schema {
	s := plainScalarSchema(f)
	if s.Type == "string" && s.Enum == nil {
		return s
	}
	// Any scalar may be given by a variable (${NAME}, ${NAME:-default},
	// ${secret:NAME}), which the decoder resolves before it reads the type.
	ref := &schema{Type: "string", Pattern: `\$\{`}
	if s.AnyOf != nil {
		s.AnyOf = append(s.AnyOf, ref)
		return s
	}
	return &schema{AnyOf: []*schema{s, ref}}
}

// plainScalarSchema is the schema of f's value written out.
func plainScalarSchema(f *Field) *schema {
	if allowed := f.Allowed(); allowed != nil {
		return &schema{Type: "string", Enum: allowed}
	}
	str := func(pattern string) *schema { return &schema{Type: "string", Pattern: pattern} }
	switch f.Type {
	case reflect.TypeFor[time.Duration]():
		return &schema{AnyOf: []*schema{str(durationPattern), {Const: 0}}}
	case reflect.TypeFor[Percent]():
		return &schema{AnyOf: []*schema{{Type: "number"}, str(percentPattern)}}
	case reflect.TypeFor[ByteSize]():
		return &schema{AnyOf: []*schema{{Type: "integer"}, str(sizePattern)}}
	case reflect.TypeFor[ByteRate]():
		return str(ratePattern)
	case reflect.TypeFor[Threshold]():
		return &schema{AnyOf: []*schema{{Type: "number"}, str(boundPattern)}}
	case reflect.TypeFor[RampValue]():
		// A count or a request rate, a duration or a byte rate: which one
		// the ramp's param takes is validate's to judge.
		return &schema{AnyOf: []*schema{{Type: "number"}, str(durationPattern), str(ratePattern)}}
	}
	switch f.Type.Kind() {
	case reflect.String:
		return &schema{Type: "string"}
	case reflect.Int, reflect.Int64:
		return &schema{Type: "integer"}
	case reflect.Float64:
		return &schema{Type: "number"}
	case reflect.Bool:
		return &schema{Type: "boolean"}
	}
	// Only reachable if the model gains a scalar of a new kind; the schema
	// test fails on it.
	return &schema{Description: "unknown type " + f.Type.String()}
}
