package injectors

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Registry maps fault kinds to injectors. It is built once and not changed
// afterwards, so it is safe for concurrent use.
type Registry struct {
	byKind map[string]Injector
	kinds  []string
}

// NewRegistry returns a registry of injs; two injectors of one kind are an
// error.
func NewRegistry(injs ...Injector) (*Registry, error) {
	r := &Registry{byKind: make(map[string]Injector, len(injs))}
	for i, inj := range injs {
		if inj == nil {
			return nil, fmt.Errorf("injector registry: injector %d is nil", i)
		}
		kind := inj.Kind()
		if kind == "" {
			return nil, fmt.Errorf("injector registry: injector %d (%T) has no kind", i, inj)
		}
		if prev, dup := r.byKind[kind]; dup {
			return nil, fmt.Errorf("injector registry: kind %q registered twice (%T and %T)", kind, prev, inj)
		}
		r.byKind[kind] = inj
		r.kinds = append(r.kinds, kind)
	}
	slices.Sort(r.kinds)
	return r, nil
}

// DefaultRegistry returns a registry of every built-in kind.
func DefaultRegistry() *Registry {
	r, err := NewRegistry(
		&Partition{}, Latency{}, Bandwidth{}, Reset{}, Blackhole{},
		Crash{}, Pause{}, Restart{}, ClockSkew{}, Corrupt{},
	)
	if err != nil {
		// The built-in kinds are distinct constants; TestDefaultRegistry holds it.
		panic(err)
	}
	return r
}

// ErrUnknownKind is wrapped by Lookup's error for a kind with no injector.
var ErrUnknownKind = errors.New("unknown fault kind")

// Lookup returns the injector of kind; for an unknown kind the error lists
// the valid ones.
func (r *Registry) Lookup(kind string) (Injector, error) {
	if inj, ok := r.byKind[kind]; ok {
		return inj, nil
	}
	return nil, fmt.Errorf("%w %q; valid kinds: %s", ErrUnknownKind, kind, strings.Join(r.kinds, ", "))
}

// Kinds returns the registered kinds, sorted.
func (r *Registry) Kinds() []string { return slices.Clone(r.kinds) }
