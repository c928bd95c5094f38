package injectors

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Capabilities say what faults of a kind act on. Callers that check, plan or
// resolve faults (the experiment file's validation, the cluster's control
// API) ask the registry for them instead of listing kinds.
type Capabilities struct {
	// Links: the kind acts on links of the fault plane (toxiproxy), so it
	// needs a target with a plane and may name the client side.
	Links bool
	// Groups: the kind cuts the links between groups of members (a
	// partition) rather than the links from or to selected members.
	Groups bool
	// MemberState: the kind changes members' process state through the
	// target's runtime (kill, stop, pause), so it works on any member,
	// external ones included.
	MemberState bool
	// StoreNodes: the kind acts through the control endpoint of the demo
	// cluster's store nodes, and only on them.
	StoreNodes bool
	// Instant: the kind takes effect at once and leaves nothing to revert,
	// so it has no duration.
	Instant bool
}

// CapableInjector is an Injector that says what its kind acts on. The
// registry gives an injector that is not one the zero Capabilities.
type CapableInjector interface {
	Injector
	Capabilities() Capabilities
}

// Registry maps fault kinds to injectors. It is built once and not changed
// afterwards, so it is safe for concurrent use.
type Registry struct {
	byKind map[string]Injector
	listed []string // in registration order
	kinds  []string // sorted
}

// NewRegistry returns a registry of injs; two injectors of one kind are an
// error. The order of injs is the order KindsInOrder lists.
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
		r.listed = append(r.listed, kind)
	}
	r.kinds = slices.Sorted(slices.Values(r.listed))
	return r, nil
}

// DefaultRegistry returns a registry of every built-in kind: the link faults
// first, then the membership faults (the order of KindsInOrder, which help
// texts and validation messages show).
func DefaultRegistry() *Registry {
	r, err := NewRegistry(
		&Partition{}, Latency{}, Bandwidth{}, Reset{}, Blackhole{}, &HTTP{},
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

// KindsInOrder returns the registered kinds in the order they were
// registered.
func (r *Registry) KindsInOrder() []string { return slices.Clone(r.listed) }

// Capabilities returns what faults of kind act on, and false for a kind
// with no injector.
func (r *Registry) Capabilities(kind string) (Capabilities, bool) {
	inj, ok := r.byKind[kind]
	if !ok {
		return Capabilities{}, false
	}
	if c, ok := inj.(CapableInjector); ok {
		return c.Capabilities(), true
	}
	return Capabilities{}, true
}

// ParseKind maps what people type to a registered kind: case does not
// matter and dashes are ignored ("Clock-Skew" is clockSkew).
func (r *Registry) ParseKind(s string) (string, bool) {
	k := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "-", "")
	for _, kind := range r.listed {
		if strings.ToLower(kind) == k {
			return kind, true
		}
	}
	return "", false
}
