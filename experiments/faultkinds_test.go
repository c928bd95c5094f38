package experiments

import (
	"reflect"
	"slices"
	"testing"

	"github.com/chaosctl/chaosctl/injectors"
)

// TestFaultFieldPerRegisteredKind holds the file format to the injector
// registry: every registered kind is a field of Fault, named by its yaml tag,
// and Kind reports it; Fault has no kind field the registry lacks.
func TestFaultFieldPerRegisteredKind(t *testing.T) {
	registered := injectors.DefaultRegistry().KindsInOrder()
	ft := reflect.TypeFor[Fault]()
	var fields []string
	for i := range ft.NumField() {
		sf := ft.Field(i)
		if sf.Type.Kind() != reflect.Pointer {
			continue // name, at, duration
		}
		kind := sf.Tag.Get("yaml")
		fields = append(fields, kind)
		var f Fault
		reflect.ValueOf(&f).Elem().Field(i).Set(reflect.New(sf.Type.Elem()))
		if got := f.Kind(); string(got) != kind {
			t.Errorf("Fault with %s set: Kind() = %q, want %q", sf.Name, got, kind)
		}
	}
	if !slices.Equal(fields, registered) {
		t.Fatalf("Fault's kind fields %v, the registry's kinds %v: they must be the same, in the same order", fields, registered)
	}
}
