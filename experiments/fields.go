package experiments

import (
	"reflect"
	"strings"
	"time"
)

// FieldKind is what a field of the file format holds.
type FieldKind int

// Field kinds.
const (
	// FieldObject is a mapping of named fields (Field.Fields).
	FieldObject FieldKind = iota
	// FieldList is a list of Field.Elem.
	FieldList
	// FieldMap is a mapping of free names to Field.Elem.
	FieldMap
	// FieldScalar is one value of Field.Type.
	FieldScalar
	// FieldRange is one value or {min, max} of them (Field.Fields).
	FieldRange
)

// Field is one node of a file format's tree of fields, read from the model's
// types the way the decoder reads a file: the same yaml tags (structFields,
// ",inline" flattened), the same unit types and enums. The reference test
// and `chaosctl schema` both walk this tree, so neither can know a field the
// decoder does not.
type Field struct {
	// Path is the field's dotted path with [] for list items, as the
	// reference names it: faults[].partition.groups. "" is the root.
	Path string
	// Name is the field's key in its mapping ("" for the root, a list item
	// and a map value).
	Name   string
	Kind   FieldKind
	Type   reflect.Type // pointers removed
	Fields []*Field     // FieldObject and FieldRange, in declaration order
	Elem   *Field       // FieldList and FieldMap

	// nullable: the file may write null (or nothing) for the field, which
	// the decoder takes as absent: pointers, mappings and lists.
	nullable bool
	// index is the field's index in its parent struct (reflect's
	// FieldByIndex), inline embeddings included.
	index []int
}

// ExperimentFields returns the tree of the experiment format.
func ExperimentFields() *Field { return fieldTree(reflect.TypeFor[Experiment]()) }

// GameDayFields returns the tree of the GameDay playbook format.
func GameDayFields() *Field { return fieldTree(reflect.TypeFor[GameDay]()) }

func fieldTree(t reflect.Type) *Field {
	root := newField("", "", t, map[reflect.Type]bool{})
	root.nullable = false // a file is a mapping
	return root
}

// newField builds the node of type t at path; onPath guards against a
// recursive model type (which the format has none of).
func newField(path, name string, t reflect.Type, onPath map[reflect.Type]bool) *Field {
	nullable := false
	switch t.Kind() {
	case reflect.Pointer, reflect.Struct, reflect.Slice, reflect.Map:
		nullable = true
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	f := &Field{Path: path, Name: name, Type: t, nullable: nullable}
	if onPath[t] {
		panic("experiments: the format's type " + t.String() + " contains itself")
	}
	onPath[t] = true
	defer delete(onPath, t)
	switch {
	case isScalarType(t):
		f.Kind = FieldScalar
	case isRangeType(t):
		f.Kind = FieldRange
		f.Fields = structChildren(path, t, onPath)
	case t.Kind() == reflect.Struct:
		f.Kind = FieldObject
		f.Fields = structChildren(path, t, onPath)
	case t.Kind() == reflect.Slice:
		f.Kind = FieldList
		f.Elem = newField(path+"[]", "", t.Elem(), onPath)
	case t.Kind() == reflect.Map:
		f.Kind = FieldMap
		f.Elem = newField(joinPath(path, "<name>"), "", t.Elem(), onPath)
	default:
		f.Kind = FieldScalar
	}
	return f
}

func structChildren(path string, t reflect.Type, onPath map[reflect.Type]bool) []*Field {
	var out []*Field
	for _, sf := range structFields(t) {
		c := newField(joinPath(path, sf.name), sf.name, t.FieldByIndex(sf.index).Type, onPath)
		c.index = sf.index
		out = append(out, c)
	}
	return out
}

// isScalarType reports whether the decoder reads t from one scalar: a
// duration, a unit type that parses itself, or a plain value.
func isScalarType(t reflect.Type) bool {
	if t == durationType {
		return true
	}
	if _, ok := reflect.New(t).Interface().(scalarParser); ok {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Int, reflect.Int64, reflect.Float64, reflect.Bool:
		return true
	}
	return false
}

func isRangeType(t reflect.Type) bool {
	_, ok := reflect.New(t).Interface().(plainRange)
	return ok && t.Kind() == reflect.Struct
}

// Walk calls fn for f and every field below it, parents first.
func (f *Field) Walk(fn func(*Field)) {
	fn(f)
	for _, c := range f.Fields {
		c.Walk(fn)
	}
	if f.Elem != nil {
		f.Elem.Walk(fn)
	}
}

// Named reports whether f is a field a file names (not the root, a list
// item or a map value): the fields a reference documents.
func (f *Field) Named() bool { return f.Name != "" }

// Paths lists the paths of every named field below f, in declaration order.
func (f *Field) Paths() []string {
	var out []string
	f.Walk(func(c *Field) {
		if c.Named() {
			out = append(out, c.Path)
		}
	})
	return out
}

// Lookup returns the field at path, nil when the format has none.
func (f *Field) Lookup(path string) *Field {
	var found *Field
	f.Walk(func(c *Field) {
		if found == nil && c.Path == path && (c.Named() || path == "") {
			found = c
		}
	})
	return found
}

// Allowed lists the values of an enum field, nil for any other.
func (f *Field) Allowed() []string {
	if f.Kind != FieldScalar || f.Type.Kind() != reflect.String {
		return nil
	}
	if e, ok := reflect.Zero(f.Type).Interface().(enum); ok {
		return e.allowed()
	}
	return nil
}

// TypeName is the field's type as the reference writes it: "duration",
// "list of strings", "range of durations", ...
func (f *Field) TypeName() string {
	switch f.Kind {
	case FieldObject:
		return "mapping"
	case FieldList:
		return "list of " + typePlural(f.Elem.TypeName())
	case FieldMap:
		return "mapping of names to " + typePlural(f.Elem.TypeName())
	case FieldRange:
		return "range of " + typePlural(f.Fields[0].TypeName())
	}
	if f.Allowed() != nil {
		return "enum"
	}
	return scalarTypeName(f.Type)
}

// scalarTypeNames names the unit types; see units.go for their syntax.
var scalarTypeNames = map[reflect.Type]string{
	reflect.TypeFor[time.Duration](): "duration",
	reflect.TypeFor[Percent]():       "percentage",
	reflect.TypeFor[ByteSize]():      "byte size",
	reflect.TypeFor[ByteRate]():      "byte rate",
	reflect.TypeFor[Threshold]():     "bound",
	reflect.TypeFor[RampValue]():     "ramp value",
}

func scalarTypeName(t reflect.Type) string {
	if n, ok := scalarTypeNames[t]; ok {
		return n
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int64:
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.Bool:
		return "boolean"
	}
	return t.String()
}

func typePlural(name string) string {
	if first, rest, ok := strings.Cut(name, " of "); ok {
		return typePlural(first) + " of " + rest
	}
	return name + "s"
}
